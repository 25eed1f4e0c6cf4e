"""Counting what each company's Pipedrive usage costs: requests and daily-budget tokens.

Token costs come from ``token_costs.json``, generated from the ``x-token-cost`` of every operation in
Pipedrive's OpenAPI files by ``scripts/gen_token_costs.py`` (the files are not read at runtime).
Which responses Pipedrive charges is not documented; we charge every answered request except 429s.
Every attempt is handed to the meter as one ``Metered``, answered or not; the in-memory meter counts the
answered ones, the process's metrics every one (``server.jobs.pipedrive_counts``).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Protocol

COSTS_FILE = Path(__file__).with_name("token_costs.json")
_API_PREFIX = re.compile(r"^/(?:api/)?(v[12])/")


@dataclass(frozen=True, slots=True)
class Metered:
    """One attempt of a request: whose, which operation, how Pipedrive answered and what it cost."""

    company_key: str
    operation: str
    status: int | None  # the answer's HTTP status; ``None`` when none came (the connection failed)
    tokens: int  # the operation's cost, charged unless refused with 429 or not answered
    budget_left: int | None = None  # ``x-daily-ratelimit-token-remaining``, when the answer said
    budget_spent: bool = False  # the answer said the company's daily budget is spent


@dataclass(frozen=True)
class Usage:
    requests: int = 0
    tokens: int = 0
    by_operation: dict[str, int] = field(default_factory=dict)


class UsageMeter(Protocol):
    """Where request and token counts go; a Redis or database meter can replace the in-memory one."""

    def record(self, request: Metered) -> None: ...


class TokenCostTable:
    """Look up an operation's token cost from a concrete request path."""

    def __init__(self, costs: dict[str, int]) -> None:
        self._costs = dict(costs)
        self._exact: dict[str, int] = {}
        self._templates: list[tuple[str, re.Pattern[str], str, int]] = []
        for key, cost in costs.items():
            method, _, template = key.partition(" ")
            if "{" not in template:
                self._exact[key] = cost
                continue
            pattern = re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$")
            self._templates.append((method, pattern, key, cost))
        # Most literal segments first, so /persons/search wins over /persons/{id} if both were templated.
        self._templates.sort(key=lambda item: -item[2].count("/") + item[2].count("{"))

    @classmethod
    def load(cls, path: Path = COSTS_FILE) -> TokenCostTable:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def operation(self, method: str, path: str) -> str:
        """``"GET /api/v2/persons/{id}"`` for ``("GET", "/api/v2/persons/42")``; the path if unknown."""
        path = _API_PREFIX.sub(r"/api/\1/", path.split("?", 1)[0].rstrip("/") or "/")
        key = f"{method.upper()} {path}"
        if key in self._exact:
            return key
        for template_method, pattern, template_key, _ in self._templates:
            if template_method == method.upper() and pattern.match(path):
                return template_key
        return key

    def cost(self, operation: str) -> int:
        """Tokens charged for an operation key; unknown operations count as 0."""
        return self._costs.get(operation, 0)


@cache
def default_costs() -> TokenCostTable:
    return TokenCostTable.load()


class MemoryUsageMeter:
    """Counts per company in this process; benchmarks read :meth:`usage` to report cost per message."""

    def __init__(self) -> None:
        self._requests: Counter[str] = Counter()
        self._tokens: Counter[str] = Counter()
        self._operations: dict[str, Counter[str]] = {}

    def record(self, request: Metered) -> None:
        if request.status is None:
            return  # never reached Pipedrive: no request to count
        company_key = request.company_key
        self._requests[company_key] += 1
        self._tokens[company_key] += request.tokens
        self._operations.setdefault(company_key, Counter())[request.operation] += 1

    def usage(self, company_key: str) -> Usage:
        return Usage(
            requests=self._requests[company_key],
            tokens=self._tokens[company_key],
            by_operation=dict(self._operations.get(company_key, Counter())),
        )

    def reset(self) -> None:
        self._requests.clear()
        self._tokens.clear()
        self._operations.clear()
