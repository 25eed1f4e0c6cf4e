"""What time it is, asked of one object that is handed to whatever needs it.

Production runs on ``SystemClock``. Tests and the benchmark run on a ``ControlledClock``: the wall clock
plus every second skipped so far. The in-process job runner skips the time until its next deferred job
when nothing else is running, so a burst window, a retry delay or a lease costs no real time in a test
and keeps its order and length on the clock every part of WaPipe reads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ControlledClock:
    """The wall clock plus the time skipped with ``advance``: it never goes back, and ``advance`` moves
    every clock that follows it (``follow``) by the same amount, so stand-ins for Pipedrive and WhatsApp
    agree with WaPipe about how much time has passed."""

    def __init__(self) -> None:
        self.skipped = timedelta(0)
        self._followers: list[Callable[[float], object]] = []

    def now(self) -> datetime:
        return datetime.now(UTC) + self.skipped

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"a clock does not go back ({seconds} s)")
        self.skipped += timedelta(seconds=seconds)
        for follower in self._followers:
            follower(seconds)

    def follow(self, advance: Callable[[float], object]) -> None:
        """Call ``advance(seconds)`` whenever this clock is advanced."""
        self._followers.append(advance)

    async def sleep(self, seconds: float) -> None:
        """A wait that costs no real time: the clock moves on and other tasks get a turn."""
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)


Sleep = Callable[[float], Awaitable[None]]  # a wait of so many seconds


def sleep_of(clock: Clock) -> Sleep:
    """How a wait passes on ``clock``: a ``ControlledClock`` skips it (moving the clock), any other clock
    waits for real."""
    return clock.sleep if isinstance(clock, ControlledClock) else asyncio.sleep
