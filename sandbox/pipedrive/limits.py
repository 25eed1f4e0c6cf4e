"""Rate limits, the daily token budget and fault switches of the Pipedrive sandbox.

Burst windows are rolling 2-second windows per access token, measured on the sandbox clock, so a frozen
clock keeps every request in one window and `clock.advance(2)` empties it. A search answers with the search
window's `x-ratelimit-*` (10 per 2 s), every other call with the general window's. The daily budget is per
company, charged with each operation's `x-token-cost`, and resets at the start of the company's server day:
00:00 UTC unless `set_reset_hour` moved it (Pipedrive documents only "the start of the next day", in its
server's time). A spent budget answers 429 with the same `Request over limit` body as a spent burst window
(the only 429 body Pipedrive documents), its burst headers showing room left; the `omit_daily_headers`
fault leaves out its `x-daily-ratelimit-token-*` headers, as Pipedrive does after a long idle.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.pipedrive.state import Clock

WINDOW = timedelta(seconds=2)
OAUTH_BURST = {"lite": 80, "growth": 160, "premium": 400, "ultimate": 480}
SEARCH_BURST = 10
PLAN_MULTIPLIER = {"lite": 1, "growth": 2, "premium": 5, "ultimate": 7}
BASE_DAILY_TOKENS = 30_000

CLOUDFLARE_403_HTML = """<!DOCTYPE html>
<html lang="en-US"><head><title>Attention Required! | Cloudflare</title>
<meta charset="UTF-8" /></head>
<body><div id="cf-wrapper"><div id="cf-error-details">
<h1><span>Sorry, you have been blocked</span></h1>
<h2>You are unable to access pipedrive.com</h2>
<p>This website is using a security service to protect itself from online attacks.</p>
<p>Cloudflare Ray ID: <strong>sandbox</strong></p>
</div></div></body></html>
"""


@dataclass
class Faults:
    """Switches that make the next requests fail or slow down. Counts are decremented per API request."""

    force_429: int = 0
    force_5xx: int = 0
    status_5xx: int = 500
    cloudflare_403: int = 0
    latency_ms: int = 0
    omit_daily_headers: int = 0


@dataclass
class CompanyUsage:
    day: date
    tokens_used: int = 0
    requests: int = 0
    tokens_total: int = 0
    requests_total: int = 0
    rejected: int = 0
    per_operation: dict[str, int] = field(default_factory=dict)


@dataclass
class Admission:
    allowed: bool
    headers: dict[str, str]


class Limiter:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.faults = Faults()
        self.daily_budget_override: dict[int, int] = {}
        self.reset_hours: dict[int, int] = {}
        self.usage: dict[int, CompanyUsage] = {}
        self._windows: dict[tuple[str, str], deque[datetime]] = {}

    # daily budget ----------------------------------------------------------------------------------
    def daily_budget(self, company_id: int, plan: str, seats: int) -> int:
        if company_id in self.daily_budget_override:
            return self.daily_budget_override[company_id]
        return BASE_DAILY_TOKENS * PLAN_MULTIPLIER[plan] * max(1, seats)

    def set_daily_budget(self, company_id: int, tokens: int) -> None:
        self.daily_budget_override[company_id] = tokens

    def set_reset_hour(self, company_id: int, hour: int) -> None:
        """Make the company's budget day start at `hour`:00 UTC (0-23) instead of midnight."""
        if not 0 <= hour <= 23:
            raise ValueError(f"reset hour {hour} is not an hour of the day (0-23)")
        self.reset_hours[company_id] = hour

    def budget_day(self, company_id: int) -> date:
        """The company's current budget day: the UTC date at the last reset."""
        return (self.clock.now() - timedelta(hours=self.reset_hours.get(company_id, 0))).date()

    def usage_for(self, company_id: int) -> CompanyUsage:
        today = self.budget_day(company_id)
        usage = self.usage.get(company_id)
        if usage is None:
            usage = self.usage[company_id] = CompanyUsage(day=today)
        elif usage.day != today:
            usage.day, usage.tokens_used, usage.requests = today, 0, 0
        return usage

    def exhaust_budget(self, company_id: int, budget: int) -> None:
        self.usage_for(company_id).tokens_used = budget

    def remaining_tokens(self, company_id: int, budget: int) -> int:
        return max(0, budget - self.usage_for(company_id).tokens_used)

    # burst windows ---------------------------------------------------------------------------------
    def _window(self, token: str, bucket: str) -> deque[datetime]:
        window = self._windows.setdefault((token, bucket), deque())
        horizon = self.clock.now() - WINDOW
        while window and window[0] <= horizon:
            window.popleft()
        return window

    def _reset_seconds(self, window: deque[datetime]) -> int:
        if not window:
            return 0
        left = (window[0] + WINDOW - self.clock.now()).total_seconds()
        return max(1, math.ceil(left))

    def reset_windows(self) -> None:
        self._windows.clear()

    # admission -------------------------------------------------------------------------------------
    def admit(
        self,
        *,
        token: str,
        company_id: int,
        plan: str,
        seats: int,
        cost: int,
        operation: str,
        is_search: bool,
    ) -> Admission:
        """Decide whether a request passes the burst and daily limits; charge it when it does."""
        usage = self.usage_for(company_id)
        budget = self.daily_budget(company_id, plan, seats)
        general = self._window(token, "general")
        search = self._window(token, "search") if is_search else None
        limit = SEARCH_BURST if search is not None else OAUTH_BURST[plan]
        active = search if search is not None else general
        over_burst = len(general) >= OAUTH_BURST[plan] or (search is not None and len(search) >= SEARCH_BURST)
        over_daily = usage.tokens_used + cost > budget
        forced = self.faults.force_429 > 0
        if forced:
            self.faults.force_429 -= 1
        allowed = not (over_burst or over_daily or forced)
        if allowed:
            now = self.clock.now()
            general.append(now)
            if search is not None:
                search.append(now)
            usage.tokens_used += cost
            usage.tokens_total += cost
            usage.requests += 1
            usage.requests_total += 1
            usage.per_operation[operation] = usage.per_operation.get(operation, 0) + 1
        else:
            usage.rejected += 1
        headers = {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(max(0, limit - len(active))),
            "x-ratelimit-reset": str(self._reset_seconds(active) if active else 2),
        }
        if self.faults.omit_daily_headers > 0:
            self.faults.omit_daily_headers -= 1
        else:
            headers["x-daily-ratelimit-token-limit"] = str(budget)
            headers["x-daily-ratelimit-token-remaining"] = str(max(0, budget - usage.tokens_used))
        return Admission(allowed, headers)

    def take_forced_5xx(self) -> int | None:
        if self.faults.force_5xx > 0:
            self.faults.force_5xx -= 1
            return self.faults.status_5xx
        return None

    def take_cloudflare_403(self) -> bool:
        if self.faults.cloudflare_403 > 0:
            self.faults.cloudflare_403 -= 1
            return True
        return False

    def reset(self) -> None:
        self.faults = Faults()
        self.daily_budget_override.clear()
        self.reset_hours.clear()
        self.usage.clear()
        self._windows.clear()
