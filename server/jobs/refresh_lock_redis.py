"""The Pipedrive refresh lock on Redis, shared by every worker and web process of a deployment whose jobs
run on arq (``WAPIPE_REDIS_URL``). Implements ``RefreshLock`` (``server.pipedrive.tokens``).

Pipedrive refresh tokens work once, so only one process may refresh an installation's tokens at a time. The
lock is the key ``wapipe:refresh-lock:<installation key>`` set with NX and a time to live in milliseconds,
holding a random value only its holder knows; releasing deletes it in one Lua script only while it still
holds that value, so a holder whose lock expired never frees someone else's. A waiter tries again every
``poll`` until ``wait`` has passed (counted in tries, not read from a clock), then gives up with
``Transient(refresh_lock_busy)`` and its job is retried. Expiry is Redis's own clock: the lock outlives a
crashed holder by at most ``ttl``.
"""

from __future__ import annotations

import asyncio
import math
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from redis.asyncio import Redis

from server.domain.errors import Transient
from server.domain.text import Text
from server.jobs.redis_locks import RELEASE_IF_HELD, milliseconds

LOCK_PREFIX = "wapipe:refresh-lock:"


Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RefreshLockTimings:
    """How long a refresh lock lasts at most, how long a waiter waits for it, and how often it looks."""

    ttl: timedelta = timedelta(seconds=30)
    wait: timedelta = timedelta(seconds=20)
    poll: timedelta = timedelta(milliseconds=100)


class RedisRefreshLocks:
    """One Redis lock per installation key; ``sleep`` is how a waiter waits (tests pass one that doesn't)."""

    def __init__(
        self, redis: Redis, timings: RefreshLockTimings | None = None, *, sleep: Sleep = asyncio.sleep
    ) -> None:
        self._redis = redis
        self._timings = timings or RefreshLockTimings()
        self._sleep = sleep

    async def try_acquire(self, key: str) -> str | None:
        """The holder's value if the lock was free, else ``None``."""
        value = secrets.token_hex(16)
        done = await self._redis.set(LOCK_PREFIX + key, value, nx=True, px=milliseconds(self._timings.ttl))
        return value if done else None

    async def release(self, key: str, value: str) -> bool:
        """Free the lock if ``value`` still holds it; ``False`` if it expired or someone else holds it."""
        done = await self._redis.eval(RELEASE_IF_HELD, 1, LOCK_PREFIX + key, value)  # type: ignore[misc]
        return bool(done)

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        value = await self._acquire(key)
        try:
            yield
        finally:
            await self.release(key, value)

    async def _acquire(self, key: str) -> str:
        timings = self._timings
        retries = max(1, math.ceil(timings.wait / timings.poll))
        for attempt in range(retries + 1):
            value = await self.try_acquire(key)
            if value is not None:
                return value
            if attempt < retries:
                await self._sleep(timings.poll.total_seconds())
        raise Transient(
            Text("Another WaPipe process is still refreshing this Pipedrive authorisation; retry shortly"),
            reason="refresh_lock_busy",
        )
