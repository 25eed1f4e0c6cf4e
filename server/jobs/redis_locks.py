"""What the Redis locks and leases share: a time to live in whole milliseconds, and the script that deletes
a key only while it still holds its holder's value (so a holder whose key expired never frees another's)."""

from __future__ import annotations

from datetime import timedelta

RELEASE_IF_HELD = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def milliseconds(span: timedelta) -> int:
    """``span`` for Redis's PX / PEXPIRE: whole milliseconds, at least one."""
    return max(1, round(span.total_seconds() * 1000))
