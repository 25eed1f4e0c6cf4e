"""Token costs and OAuth scopes per operation, as Pipedrive's own OpenAPI documents declare them.

``operations.json`` beside this module is a compact index of (version, method, path template) →
(operation id, ``x-token-cost``, scopes) generated from the official documents by
``scripts/gen_token_costs.py``; a test regenerates it and compares, so it cannot drift from them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

INDEX_FILE = Path(__file__).with_name("operations.json")


@dataclass(frozen=True)
class Operation:
    version: str
    method: str
    path: str
    operation_id: str
    cost: int
    scopes: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.method.upper()} /{self.version}{self.path}"


@lru_cache(maxsize=1)
def operations() -> dict[tuple[str, str, str], Operation]:
    entries = json.loads(INDEX_FILE.read_text(encoding="utf-8"))
    return {
        (e["version"], e["method"], e["path"]): Operation(
            version=e["version"],
            method=e["method"],
            path=e["path"],
            operation_id=e["operation_id"],
            cost=int(e["cost"]),
            scopes=tuple(e["scopes"]),
        )
        for e in entries
    }


def operation(version: str, method: str, path: str) -> Operation:
    """The spec's operation for a path template such as `/persons/{id}`; KeyError if the spec lacks it."""
    return operations()[(version, method.lower(), path)]
