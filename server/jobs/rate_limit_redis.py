"""Pipedrive's rate limits on Redis, shared by every worker and web process of a deployment whose jobs run
on arq (``WAPIPE_REDIS_URL``). Implements ``RateLimiter`` (``server.pipedrive.ratelimit``) by the rules
``MemoryRateLimiter`` keeps in one process, so the processes together stay inside a token's limits
instead of each inside its own.

What is shared, per token and window (the general one and the search one): the window's limit
(``x-ratelimit-limit``), what Pipedrive last said remains and when that resets (a hash), and the requests
any process sent in the last window (a sorted set scored by send time); per company, a spent daily budget:
when the probe may go out and whether it has (a hash). Taking a window's slot, checking the budget (taking
the probe when it is due) and learning a spent or returned budget are each one Lua script, which Redis runs
at once: two processes never both take a window's last slot or both send the probe. Within one process,
the requests waiting for a window queue on a lock, so one of them asks Redis at a time.

Times are the injected wall clock's, in whole microseconds since the epoch, handed to each script: not
Redis's own clock (tests move theirs) and not a monotonic clock (two hosts share none), so the hosts'
clocks must agree (NTP); a host whose clock runs 50 ms ahead counts its sends 50 ms later. Waits are the
injected ``sleep``. Keys expire a day after their last write (``KEPT_FOR``), only so an idle token leaves
nothing behind; no limit depends on it.

Redis unreachable when a request asks to go out: ``Transient(rate_limit_unavailable)``; the request is not
sent and its job is retried, instead of going out unlimited. Unreachable when an answer's headers are to be
recorded: logged, and the answer kept (the request was sent and may have changed something); the next
request asks Redis again.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.domain.errors import BudgetExhausted, Transient
from server.domain.text import Text
from server.jobs.redis_locks import milliseconds
from server.pipedrive.errors import BUDGET_SPENT_MESSAGE, seconds_until_budget_probe
from server.pipedrive.ratelimit import (
    BURST_WINDOW,
    OAUTH_BURST,
    PROBE_ANSWER_WAIT,
    SEARCH_CALLS,
    SEARCH_WINDOW,
    RateScope,
    Sleep,
    WallClock,
    learned_from,
)

log = logging.getLogger(__name__)

WINDOW_PREFIX = "wapipe:rate-limit:"  # + <token key>:general|search, and + :sent for its sends
BUDGET_PREFIX = "wapipe:budget-spent:"  # + <company key>
KEPT_FOR = timedelta(days=1)
UNREACHABLE = (RedisConnectionError, RedisTimeoutError)
UNREACHABLE_MESSAGE = Text(
    "WaPipe cannot reach Redis, where its processes count Pipedrive's rate limits together; the request "
    "was not sent and is tried again later"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

# KEYS: the window's hash, its sorted set of sends. ARGV: now, the window's span, its limit until Pipedrive
# announces one, a name for this send, how long the keys are kept (ms). Returns 0 when the slot is taken,
# else the microseconds to wait before asking again.
_TAKE_SLOT = """
local now = tonumber(ARGV[1])
local span = tonumber(ARGV[2])
local remaining = tonumber(redis.call('hget', KEYS[1], 'remaining'))
if remaining ~= nil and remaining <= 0 then
  local resets_at = tonumber(redis.call('hget', KEYS[1], 'resets_at')) or 0
  if resets_at > now then return resets_at - now end
  redis.call('hdel', KEYS[1], 'remaining')
  remaining = nil
end
redis.call('zremrangebyscore', KEYS[2], '-inf', now - span)
local limit = tonumber(redis.call('hget', KEYS[1], 'limit')) or tonumber(ARGV[3])
if redis.call('zcard', KEYS[2]) < limit then
  redis.call('zadd', KEYS[2], now, ARGV[4])
  redis.call('pexpire', KEYS[2], ARGV[5])
  if remaining ~= nil then redis.call('hincrby', KEYS[1], 'remaining', -1) end
  return 0
end
local oldest = redis.call('zrange', KEYS[2], 0, 0, 'WITHSCORES')
return tonumber(oldest[2]) + span - now
"""

# KEYS: the company's budget hash. ARGV: now, how long the others wait for a probe's answer, how long the
# key is kept (ms). Returns -1 when the budget is not known to be spent, 0 when this request is the probe,
# else the microseconds until the probe.
_CHECK_BUDGET = """
local probe_at = tonumber(redis.call('hget', KEYS[1], 'probe_at'))
if probe_at == nil then return -1 end
local now = tonumber(ARGV[1])
if probe_at > now then return probe_at - now end
redis.call('hset', KEYS[1], 'probe_at', now + tonumber(ARGV[2]), 'probe_sent', 1)
redis.call('pexpire', KEYS[1], ARGV[3])
return 0
"""

# KEYS: the company's budget hash. ARGV: 'spent' (then the probe's time and how long the key is kept, ms)
# or 'answered' (a request was answered: if it was the probe, the budget is back).
_LEARN_BUDGET = """
if ARGV[1] == 'spent' then
  redis.call('hset', KEYS[1], 'probe_at', ARGV[2], 'probe_sent', 0)
  redis.call('pexpire', KEYS[1], ARGV[3])
elseif redis.call('hget', KEYS[1], 'probe_sent') == '1' then
  redis.call('del', KEYS[1])
end
return 0
"""


def microseconds(seconds: float) -> int:
    """``seconds`` in whole microseconds, the unit of every time the scripts compare."""
    return round(seconds * 1_000_000)


class RedisRateLimiter:
    """The limits of every process on ``redis``; ``sleep`` and ``wall_clock`` are injectable so tests never
    really wait (and two limiters on one test clock behave as two processes on one host)."""

    def __init__(
        self,
        redis: Redis,
        *,
        sleep: Sleep = asyncio.sleep,
        wall_clock: WallClock | None = None,
        search_calls: int = SEARCH_CALLS,
        search_window: float = SEARCH_WINDOW,
    ) -> None:
        self._redis = redis
        self._sleep = sleep
        self._wall_clock = wall_clock or (lambda: datetime.now(UTC))
        self._search_calls = search_calls
        self._search_window = search_window
        self._take_slot = redis.register_script(_TAKE_SLOT)
        self._check_budget = redis.register_script(_CHECK_BUDGET)
        self._learn_budget = redis.register_script(_LEARN_BUDGET)
        self._kept_ms = milliseconds(KEPT_FOR)
        self._queues: dict[str, asyncio.Lock] = {}  # this process's waiters, per window

    async def before_request(self, scope: RateScope, *, search: bool = False) -> None:
        try:
            await self._budget_allows(scope.company_key)
            if search:
                async with self._queue(scope.token_key, "search"):
                    await self._wait_for_slot(
                        scope.token_key, "search", self._search_window, self._search_calls
                    )
                    await self._general_slot(scope.token_key)
            else:
                await self._general_slot(scope.token_key)
        except UNREACHABLE as error:
            raise Transient(UNREACHABLE_MESSAGE, reason="rate_limit_unavailable") from error

    async def after_response(
        self,
        scope: RateScope,
        headers: Mapping[str, str],
        status: int,
        *,
        search: bool = False,
        budget_spent: bool = False,
    ) -> None:
        learned = learned_from(
            headers, status, search=search, budget_spent=budget_spent, search_calls=self._search_calls
        )
        wall = self._wall_clock()
        now = _microseconds_since_epoch(wall)
        window: dict[str, int] = {}
        if learned.limit is not None:
            window["limit"] = learned.limit
        if learned.remaining is not None:
            window["remaining"] = learned.remaining
            window["resets_at"] = now + microseconds(learned.resets_in)
        budget = BUDGET_PREFIX + scope.company_key
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                if window:
                    key = _window_key(scope.token_key, "search" if search else "general")
                    pipe.hset(key, mapping=window)
                    pipe.pexpire(key, self._kept_ms)
                if learned.budget_spent:
                    probe_at = now + microseconds(seconds_until_budget_probe(wall))
                    await self._learn_budget([budget], ["spent", probe_at, self._kept_ms], client=pipe)
                elif learned.answered:
                    await self._learn_budget([budget], ["answered"], client=pipe)
                await pipe.execute()
        except UNREACHABLE:
            log.warning(
                "Pipedrive's rate-limit headers were not recorded: Redis is unreachable", exc_info=True
            )

    async def _budget_allows(self, company_key: str) -> None:
        left = int(
            await self._check_budget(
                [BUDGET_PREFIX + company_key], [self._now(), microseconds(PROBE_ANSWER_WAIT), self._kept_ms]
            )
        )
        if left > 0:
            raise BudgetExhausted(BUDGET_SPENT_MESSAGE, retry_after=left / 1_000_000)

    async def _general_slot(self, token_key: str) -> None:
        async with self._queue(token_key, "general"):
            await self._wait_for_slot(token_key, "general", BURST_WINDOW, OAUTH_BURST)

    async def _wait_for_slot(self, token_key: str, window: str, span: float, limit: int) -> None:
        """Wait while Pipedrive said the window is spent, and while every process together sent the
        window's limit in the last ``span`` seconds (see ``MemoryRateLimiter._wait_for_slot``)."""
        key = _window_key(token_key, window)
        while True:
            wait = int(
                await self._take_slot(
                    [key, key + ":sent"],
                    [self._now(), microseconds(span), limit, secrets.token_hex(8), self._kept_ms],
                )
            )
            if wait <= 0:
                return
            await self._sleep(wait / 1_000_000)

    def _queue(self, token_key: str, window: str) -> asyncio.Lock:
        key = _window_key(token_key, window)
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = asyncio.Lock()
        return queue

    def _now(self) -> int:
        return _microseconds_since_epoch(self._wall_clock())


def _microseconds_since_epoch(moment: datetime) -> int:
    """A time as every process compares it: whole microseconds since the epoch (exact in Lua's doubles)."""
    return (moment - _EPOCH) // _MICROSECOND


def _window_key(token_key: str, window: str) -> str:
    return f"{WINDOW_PREFIX}{token_key}:{window}"
