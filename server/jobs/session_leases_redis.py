"""Session leases on Redis: which worker runs each embedded WhatsApp session, for deployments whose jobs
run on arq (``WAPIPE_REDIS_URL``). Implements ``SessionLeases`` (``server.domain.ports.sessions``).

A lease is the key ``wapipe:session-lease:<session key>`` holding ``<token>:<owner>``, set with NX and a
time to live in milliseconds; the fencing token comes from a counter beside it that only grows. Each
rule is one Lua script, so Redis runs it at once: acquire sets the key only while it is absent (and only
then takes the next token), renew and release compare the value first. Expiry is Redis's own clock, not
WaPipe's: the tests check the time to live Redis was given and stand in for its passing by removing the
key.
"""

from __future__ import annotations

from datetime import timedelta

from redis.asyncio import Redis

from server.domain.ports.sessions import SessionLease
from server.jobs.redis_locks import RELEASE_IF_HELD, milliseconds

LEASE_PREFIX = "wapipe:session-lease:"
TOKEN_PREFIX = "wapipe:session-lease-token:"  # noqa: S105  (a fencing counter, no secret)

_ACQUIRE = """
if redis.call('exists', KEYS[1]) == 1 then return nil end
local token = redis.call('incr', KEYS[2])
redis.call('set', KEYS[1], token .. ':' .. ARGV[1], 'NX', 'PX', ARGV[2])
return token
"""
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""


def _value(lease: SessionLease) -> str:
    return f"{lease.token}:{lease.owner}"


class RedisSessionLeases:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def acquire(self, key: str, *, owner: str, ttl: timedelta) -> SessionLease | None:
        token = await self._redis.eval(  # type: ignore[misc]
            _ACQUIRE, 2, LEASE_PREFIX + key, TOKEN_PREFIX + key, owner, str(milliseconds(ttl))
        )
        return None if token is None else SessionLease(key, owner, int(token))

    async def renew(self, lease: SessionLease, *, ttl: timedelta) -> bool:
        done = await self._redis.eval(  # type: ignore[misc]
            _RENEW, 1, LEASE_PREFIX + lease.key, _value(lease), str(milliseconds(ttl))
        )
        return bool(done)

    async def release(self, lease: SessionLease) -> bool:
        done = await self._redis.eval(RELEASE_IF_HELD, 1, LEASE_PREFIX + lease.key, _value(lease))  # type: ignore[misc]
        return bool(done)
