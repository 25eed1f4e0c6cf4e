"""The rate limiters the limit tests run on, one behaviour for both: ``MemoryRateLimiter`` (one process)
and ``RedisRateLimiter`` on the real Redis (two of those on one Redis act as two processes)."""

from __future__ import annotations

from redis.asyncio import Redis

from server.jobs.rate_limit_redis import RedisRateLimiter
from server.pipedrive.ratelimit import MemoryRateLimiter, Monotonic, RateLimiter, Sleep, WallClock


class Limiters:
    """Builds limiters of one kind: in memory when ``redis`` is ``None``, else on it."""

    def __init__(self, redis: Redis | None) -> None:
        self.redis = redis

    @property
    def kind(self) -> str:
        return "memory" if self.redis is None else "redis"

    def __call__(self, *, sleep: Sleep, monotonic: Monotonic, wall_clock: WallClock) -> RateLimiter:
        if self.redis is None:
            return MemoryRateLimiter(sleep=sleep, monotonic=monotonic, wall_clock=wall_clock)
        return RedisRateLimiter(
            self.redis, sleep=sleep, wall_clock=wall_clock
        )  # processes share no monotonic
