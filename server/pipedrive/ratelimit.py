"""Staying inside Pipedrive's limits instead of discovering them by 429s.

Three limits matter (reference §4): a per-token burst window of 2 s announced in ``x-ratelimit-*`` headers,
at most 10 search calls per 2 s per token, and a per-company daily token budget (``x-daily-ratelimit-token-
remaining``). A search answer's ``x-ratelimit-*`` headers describe the search window, so they are kept
apart from the general window: one search must not throttle every other call to 10 per 2 s.

The budget resets at "the start of the next day" in Pipedrive's server time, which WaPipe cannot know, so
a spent budget is not waited out until a guessed midnight: the company's requests stop until the next
probe (at most an hour, see :func:`~server.pipedrive.errors.seconds_until_budget_probe`), then one request
goes out as the probe while the others keep waiting; refused, it costs no tokens and the company waits
again, answered, the budget is back. The limiter sits behind a Protocol: :class:`MemoryRateLimiter` keeps
the state in this process, ``RedisRateLimiter`` (``server/jobs/rate_limit_redis.py``) shares it between
every process of a deployment on Redis; both read a response's headers with :func:`learned_from`.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from server.domain.errors import BudgetExhausted
from server.pipedrive.errors import BUDGET_SPENT_MESSAGE, header_float, header_int, seconds_until_budget_probe

Sleep = Callable[[float], Awaitable[None]]
Monotonic = Callable[[], float]
WallClock = Callable[[], datetime]

SEARCH_CALLS = 10
SEARCH_WINDOW = 2.0
BURST_WINDOW = 2.1  # Pipedrive's rolling 2 s, and a margin for requests that arrive closer than they left
OAUTH_BURST = 80  # the lowest burst limit an OAuth app has (Lite), until ``x-ratelimit-limit`` says more
PROBE_ANSWER_WAIT = 60.0  # how long the other requests wait for a budget probe's answer before another goes


@dataclass(frozen=True)
class RateScope:
    """Whose limits a request counts against: the token's (burst, search) and the company's (budget)."""

    token_key: str
    company_key: str


class RateLimiter(Protocol):
    """Decides when a request may go out and learns from every response's headers."""

    async def before_request(self, scope: RateScope, *, search: bool = False) -> None:
        """Wait until the request may be sent; raise ``BudgetExhausted`` while the daily budget is spent
        (until the probe that asks whether it is back)."""
        ...

    async def after_response(
        self,
        scope: RateScope,
        headers: Mapping[str, str],
        status: int,
        *,
        search: bool = False,
        budget_spent: bool = False,
    ) -> None:
        """Record the rate-limit headers of a response (any status); ``search`` when it answered a search
        (its ``x-ratelimit-*`` describe the search window), ``budget_spent`` when it said the daily budget
        is spent (see :func:`~server.pipedrive.errors.budget_spent`)."""
        ...


class NoRateLimit:
    """A limiter that never waits (for tools and tests that exercise other behaviour)."""

    async def before_request(self, scope: RateScope, *, search: bool = False) -> None:
        return None

    async def after_response(
        self,
        scope: RateScope,
        headers: Mapping[str, str],
        status: int,
        *,
        search: bool = False,
        budget_spent: bool = False,
    ) -> None:
        return None


@dataclass(frozen=True, slots=True)
class Learned:
    """What one response says of the limits."""

    limit: int | None  # the window's limit when announced (a search's, at most the search limit)
    remaining: int | None  # what the window has left, when known (a burst 429 without the header: none)
    resets_in: float  # seconds until the window resets, when ``remaining`` is known
    budget_spent: bool  # the company's daily budget is spent
    answered: bool  # Pipedrive answered (no 429, no 5xx): a probe answered so says the budget is back


def learned_from(
    headers: Mapping[str, str], status: int, *, search: bool, budget_spent: bool, search_calls: int
) -> Learned:
    """Read a response's ``x-ratelimit-*`` and daily headers (see :meth:`RateLimiter.after_response`)."""
    limit = header_int(headers, "x-ratelimit-limit")
    if limit is not None and limit <= 0:
        limit = None
    if limit is not None and search:
        limit = min(limit, search_calls)
    remaining = header_int(headers, "x-ratelimit-remaining")
    reset = header_float(headers, "x-ratelimit-reset")
    if remaining is None and status == 429 and not budget_spent:
        remaining = 0
    return Learned(
        limit=limit,
        remaining=remaining,
        resets_in=reset if reset is not None else SEARCH_WINDOW,
        budget_spent=budget_spent or header_int(headers, "x-daily-ratelimit-token-remaining") == 0,
        answered=status != 429 and status < 500,
    )


@dataclass
class _Window:
    """One rolling window: what the server last said of it, and when our own requests left."""

    limit: int
    remaining: int | None = None
    resets_at: float = 0.0
    sent: deque[float] = field(default_factory=deque)


@dataclass
class _TokenWindows:
    general: _Window
    search: _Window
    search_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass
class _SpentBudget:
    probe_at: float  # monotonic time the next request may go out to ask whether the budget is back
    probe_sent: bool = False


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
        self._tokens: dict[str, _TokenWindows] = {}
        self._spent: dict[str, _SpentBudget] = {}

    def _windows(self, token_key: str) -> _TokenWindows:
        windows = self._tokens.get(token_key)
        if windows is None:
            windows = self._tokens[token_key] = _TokenWindows(
                general=_Window(limit=OAUTH_BURST), search=_Window(limit=self._search_calls)
            )
        return windows

    async def before_request(self, scope: RateScope, *, search: bool = False) -> None:
        self._check_budget(scope.company_key)
        windows = self._windows(scope.token_key)
        if search:
            async with windows.search_lock:
                await self._wait_for_slot(windows.search, self._search_window)
                await self._wait_for_slot(windows.general, BURST_WINDOW)
        else:
            await self._wait_for_slot(windows.general, BURST_WINDOW)

    async def after_response(
        self,
        scope: RateScope,
        headers: Mapping[str, str],
        status: int,
        *,
        search: bool = False,
        budget_spent: bool = False,
    ) -> None:
        windows = self._windows(scope.token_key)
        window = windows.search if search else windows.general
        learned = learned_from(
            headers, status, search=search, budget_spent=budget_spent, search_calls=self._search_calls
        )
        if learned.limit is not None:
            window.limit = learned.limit
        if learned.remaining is not None:
            window.remaining = learned.remaining
            window.resets_at = self._monotonic() + learned.resets_in
        self._learn_budget(scope.company_key, learned)

    def _learn_budget(self, company_key: str, learned: Learned) -> None:
        if learned.budget_spent:
            wait = seconds_until_budget_probe(self._wall_clock())
            self._spent[company_key] = _SpentBudget(probe_at=self._monotonic() + wait)
            return
        known = self._spent.get(company_key)
        if known is not None and known.probe_sent and learned.answered:
            del self._spent[company_key]  # the probe was answered: the budget is back

    def _check_budget(self, company_key: str) -> None:
        spent = self._spent.get(company_key)
        if spent is None:
            return
        now = self._monotonic()
        left = spent.probe_at - now
        if left > 0:
            raise BudgetExhausted(BUDGET_SPENT_MESSAGE, retry_after=left)
        spent.probe_sent = True
        spent.probe_at = now + PROBE_ANSWER_WAIT

    async def _wait_for_slot(self, window: _Window, span: float) -> None:
        """Wait while the server said the window is spent, and while this process already sent the
        window's limit in the last ``span`` seconds: requests still in flight have not told us ``remaining``
        yet, so counting our own sends is what keeps a burst of concurrent jobs from meeting 429s."""
        while True:
            now = self._monotonic()
            if window.remaining is not None and window.remaining <= 0:
                wait = window.resets_at - now
                if wait > 0:
                    await self._sleep(wait)
                    continue
                window.remaining = None
            while window.sent and window.sent[0] + span <= now:  # the sum the wait below is counted by
                window.sent.popleft()
            if len(window.sent) < window.limit:
                window.sent.append(now)
                if window.remaining is not None:
                    window.remaining -= 1
                return
            await self._sleep(window.sent[0] + span - now)


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
