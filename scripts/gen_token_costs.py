"""Write server/pipedrive/token_costs.json: each operation's `x-token-cost` from Pipedrive's OpenAPI files.

Usage: python scripts/gen_token_costs.py [OPENAPI_DIR] [OUTPUT]
(defaults, relative to the repository root: ../shared/pipedrive-openapi, server/pipedrive/token_costs.json).
Keys are "METHOD /api/vN/path/{param}" as the client sends them; OAuth server paths keep their own prefix.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPECS = ROOT.parent / "shared" / "pipedrive-openapi"
DEFAULT_OUTPUT = ROOT / "server" / "pipedrive" / "token_costs.json"
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


def main(argv: list[str]) -> int:
    spec_dir = Path(argv[1]) if len(argv) > 1 else DEFAULT_SPECS
    output = Path(argv[2]) if len(argv) > 2 else DEFAULT_OUTPUT
    costs = token_costs(spec_dir)
    output.write_text(render(costs), encoding="utf-8")
    print(f"wrote {len(costs)} operation costs to {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
