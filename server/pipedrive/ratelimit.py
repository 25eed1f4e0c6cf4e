"""Staying inside Pipedrive's limits instead of discovering them by 429s.

Three limits matter (reference §4): a per-token burst window of 2 s announced in ``x-ratelimit-*`` headers,
at most 10 search calls per 2 s per token, and a per-company daily token budget (``x-daily-ratelimit-token-
remaining``) that resets at midnight. The limiter sits behind a Protocol so a Redis-backed one can share the
state between workers; :class:`MemoryRateLimiter` keeps it in this process.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from server.domain.errors import BudgetExhausted
from server.pipedrive.errors import header_float, header_int, seconds_until_midnight_utc

Sleep = Callable[[float], Awaitable[None]]
Monotonic = Callable[[], float]
WallClock = Callable[[], datetime]

SEARCH_CALLS = 10
SEARCH_WINDOW = 2.0
BURST_WINDOW = 2.1  # Pipedrive's rolling 2 s, and a margin for requests that arrive closer than they left
OAUTH_BURST = 80  # the lowest burst limit an OAuth app has (Lite), until ``x-ratelimit-limit`` says more


@dataclass(frozen=True)
class RateScope:
    """Whose limits a request counts against: the token's (burst, search) and the company's (budget)."""

    token_key: str
    company_key: str


class RateLimiter(Protocol):
    """Decides when a request may go out and learns from every response's headers."""

    async def before_request(self, scope: RateScope, *, search: bool = False) -> None:
        """Wait until the request may be sent; raise ``BudgetExhausted`` when the daily budget is spent."""
        ...

    async def after_response(self, scope: RateScope, headers: Mapping[str, str], status: int) -> None:
        """Record the rate-limit headers of a response (any status)."""
        ...


class NoRateLimit:
    """A limiter that never waits (for tools and tests that exercise other behaviour)."""

    async def before_request(self, scope: RateScope, *, search: bool = False) -> None:
        return None

    async def after_response(self, scope: RateScope, headers: Mapping[str, str], status: int) -> None:
        return None


@dataclass
class _TokenWindow:
    remaining: int | None = None
    resets_at: float = 0.0
    limit: int = OAUTH_BURST
    sent: deque[float] | None = None  # when our requests left, over the last burst window
    searches: deque[float] | None = None
    search_lock: asyncio.Lock | None = None


class MemoryRateLimiter:
    """In-process limiter; clocks and sleep are injectable so tests never really wait."""

    def __init__(
        self,
        *,
        sleep: Sleep = asyncio.sleep,
        monotonic: Monotonic = time.monotonic,
        wall_clock: WallClock | None = None,
        search_calls: int = SEARCH_CALLS,
        search_window: float = SEARCH_WINDOW,
    ) -> None:
        self._sleep = sleep
        self._monotonic = monotonic
        self._wall_clock = wall_clock or (lambda: datetime.now(UTC))
        self._search_calls = search_calls
        self._search_window = search_window
        self._tokens: dict[str, _TokenWindow] = {}
        self._budget_spent_until: dict[str, float] = {}

    def _window(self, token_key: str) -> _TokenWindow:
        window = self._tokens.get(token_key)
        if window is None:
            window = self._tokens[token_key] = _TokenWindow(
                sent=deque(), searches=deque(), search_lock=asyncio.Lock()
            )
        return window

    async def before_request(self, scope: RateScope, *, search: bool = False) -> None:
        self._check_budget(scope.company_key)
        window = self._window(scope.token_key)
        if search:
            assert window.search_lock is not None and window.searches is not None
            async with window.search_lock:
                await self._wait_for_search_slot(window.searches)
                await self._wait_for_burst_window(window)
                window.searches.append(self._monotonic())
        else:
            await self._wait_for_burst_window(window)

    async def after_response(self, scope: RateScope, headers: Mapping[str, str], status: int) -> None:
        window = self._window(scope.token_key)
        limit = header_int(headers, "x-ratelimit-limit")
        if limit is not None and limit > 0:
            window.limit = limit
        remaining = header_int(headers, "x-ratelimit-remaining")
        reset = header_float(headers, "x-ratelimit-reset")
        if remaining is not None:
            window.remaining = remaining
            window.resets_at = self._monotonic() + (reset if reset is not None else SEARCH_WINDOW)
        if status == 429 and remaining is None:
            window.remaining = 0
            window.resets_at = self._monotonic() + (reset if reset is not None else SEARCH_WINDOW)
        if header_int(headers, "x-daily-ratelimit-token-remaining") == 0:
            until = self._monotonic() + seconds_until_midnight_utc(self._wall_clock())
            self._budget_spent_until[scope.company_key] = until

    def _check_budget(self, company_key: str) -> None:
        until = self._budget_spent_until.get(company_key)
        if until is None:
            return
        left = until - self._monotonic()
        if left <= 0:
            del self._budget_spent_until[company_key]
            return
        raise BudgetExhausted(
            "The company's daily Pipedrive API budget is spent; work resumes after it resets",
            retry_after=left,
        )

    async def _wait_for_burst_window(self, window: _TokenWindow) -> None:
        """Wait while the server said the window is spent, and while this process already sent the
        plan's limit in the last window: requests still in flight have not told us ``remaining`` yet, so
        counting our own sends is what keeps a burst of concurrent jobs from meeting 429s."""
        assert window.sent is not None
        while True:
            now = self._monotonic()
            if window.remaining is not None and window.remaining <= 0:
                wait = window.resets_at - now
                if wait > 0:
                    await self._sleep(wait)
                    continue
                window.remaining = None
            while window.sent and now - window.sent[0] >= BURST_WINDOW:
                window.sent.popleft()
            if len(window.sent) < window.limit:
                window.sent.append(now)
                if window.remaining is not None:
                    window.remaining -= 1
                return
            await self._sleep(window.sent[0] + BURST_WINDOW - now)

    async def _wait_for_search_slot(self, searches: deque[float]) -> None:
        while True:
            now = self._monotonic()
            while searches and now - searches[0] >= self._search_window:
                searches.popleft()
            if len(searches) < self._search_calls:
                return
            await self._sleep(searches[0] + self._search_window - now)


def backoff_delay(
    attempt: int,
    hint: float | None,
    *,
    base: float = 1.0,
    cap: float = 30.0,
    jitter: Callable[[], float] = random.random,
) -> float:
    """Delay before retry number ``attempt`` (1-based): exponential, at least the server's ``hint``,
    plus up to 25 % jitter so many workers do not retry in lockstep."""
    delay = min(cap, base * 2.0 ** max(0, attempt - 1))
    if hint is not None:
        delay = max(delay, hint)
    return delay * (1 + 0.25 * jitter())
