"""How long the jobs wait, and the clock they read: both come from ``ctx`` (the composition root puts the
settings' values and the process's clock there), never from a module constant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from server.domain.clock import Clock, SystemClock

_SYSTEM_CLOCK = SystemClock()


@dataclass(frozen=True)
class JobTimings:
    """Every wait a job chooses. The defaults are production's (``WAPIPE_*`` settings override them)."""

    # A chat's first new message, from when its webhook reached us, waits this long for the rest of its
    # burst, so a burst costs one Pipedrive write.
    burst_window: timedelta = timedelta(seconds=3.5)
    busy_retry: timedelta = timedelta(seconds=1)  # another worker holds the chat: look again after this
    retry_base: timedelta = timedelta(seconds=2)  # first retry after a transient failure; doubles per try
    catch_up_every: timedelta = timedelta(minutes=5)  # a connected number's history is re-read this often
    sweep_after: timedelta = timedelta(minutes=1)  # a stored webhook not processed by then is queued again


def timings(ctx: dict[str, Any]) -> JobTimings:
    found = ctx.get("timings")
    return found if isinstance(found, JobTimings) else JobTimings()


def clock(ctx: dict[str, Any]) -> Clock:
    found: Clock = ctx.get("clock", _SYSTEM_CLOCK)
    return found


def now(ctx: dict[str, Any]) -> datetime:
    return clock(ctx).now()
