"""Write the operation tables generated from Pipedrive's OpenAPI files.

- ``server/pipedrive/token_costs.json``: each operation's ``x-token-cost``, keyed
  "METHOD /api/vN/path/{param}" as the client sends them (OAuth server paths keep their own prefix);
  the client meters with it.
- ``sandbox/pipedrive/operations.json``: version, method, path template, operation id, cost and OAuth scopes
  of every operation; the sandbox charges budgets and checks scopes with it.

Usage: python scripts/gen_token_costs.py [OPENAPI_DIR]   (default: vendor/openapi/pipedrive)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPECS = ROOT / "vendor" / "openapi" / "pipedrive"
DEFAULT_OUTPUT = ROOT / "server" / "pipedrive" / "token_costs.json"
SANDBOX_OUTPUT = ROOT / "sandbox" / "pipedrive" / "operations.json"
METHODS = ("get", "post", "put", "patch", "delete")
PREFIXES = {"v1.yaml": "/api/v1", "v2.yaml": "/api/v2"}


def load_spec(path: Path) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open("rb") as handle:
        spec: dict[str, Any] = yaml.load(handle, Loader=loader)  # noqa: S506  (a safe loader)
    return spec


def token_costs(spec_dir: Path) -> dict[str, int]:
    """``{"GET /api/v2/persons/{id}": 1, ...}`` for every operation that declares a cost."""
    costs: dict[str, int] = {}
    for filename, prefix in PREFIXES.items():
        spec = load_spec(spec_dir / filename)
        for path, operations in spec["paths"].items():
            for method, operation in operations.items():
                if method not in METHODS or "x-token-cost" not in operation:
                    continue
                servers = operation.get("servers") or operations.get("servers")
                template = path.rstrip("/") if servers else prefix + path
                costs.setdefault(f"{method.upper()} {template}", int(operation["x-token-cost"]))
    return dict(sorted(costs.items()))


def render(costs: dict[str, int]) -> str:
    return json.dumps(costs, indent=1, sort_keys=True) + "\n"


def sandbox_operations(spec_dir: Path) -> list[dict[str, Any]]:
    """Every operation of both documents with its cost and the OAuth scopes that admit it."""
    entries: list[dict[str, Any]] = []
    for version in ("v1", "v2"):
        spec = load_spec(spec_dir / f"{version}.yaml")
        for path, item in spec["paths"].items():
            for method in METHODS:
                operation = item.get(method)
                if not isinstance(operation, dict):
                    continue
                scopes = [s for req in operation.get("security") or [] for s in req.get("oauth2", [])]
                entries.append(
                    {
                        "version": version,
                        "method": method,
                        "path": path,
                        "operation_id": str(operation.get("operationId", "")),
                        "cost": int(operation.get("x-token-cost", 0)),
                        "scopes": scopes,
                    }
                )
    return sorted(entries, key=lambda e: (e["version"], e["path"], e["method"]))


def render_operations(entries: list[dict[str, Any]]) -> str:
    lines = ",\n".join(json.dumps(entry, sort_keys=True) for entry in entries)
    return "[\n" + lines + "\n]\n"


def main(argv: list[str]) -> int:
    spec_dir = Path(argv[1]) if len(argv) > 1 else DEFAULT_SPECS
    costs = token_costs(spec_dir)
    DEFAULT_OUTPUT.write_text(render(costs), encoding="utf-8")
    entries = sandbox_operations(spec_dir)
    SANDBOX_OUTPUT.write_text(render_operations(entries), encoding="utf-8")
    print(f"wrote {len(costs)} operation costs to {DEFAULT_OUTPUT} and {len(entries)} to {SANDBOX_OUTPUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
