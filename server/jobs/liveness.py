"""Each WaPipe process records that it is alive, on its own: a worker or web process beats every
``heartbeat_every`` under its runner name (``worker:<host>:<pid>``), so the status page can tell a live
process from a dead one, and ``/healthz/workers`` fails when no worker has beaten lately. (The
``heartbeat`` cron job runs on one worker per tick: it cannot say which are alive.)

A process that stops cleanly leaves the list; one that was killed stays, shown as not beating once it has
missed ``SILENT_AFTER_BEATS`` beats, and is forgotten after ``FORGOTTEN_AFTER``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from server.domain.clock import Clock
from server.storage.heartbeats import SqlHeartbeatStore

log = logging.getLogger(__name__)

SILENT_AFTER_BEATS = 3
FORGOTTEN_AFTER = timedelta(days=1)


def silent_before(now: datetime, every: timedelta) -> datetime:
    """A process whose last beat is older than this is not beating."""
    return now - every * SILENT_AFTER_BEATS


class Liveness:
    def __init__(
        self,
        heartbeats: SqlHeartbeatStore,
        name: str,
        *,
        every: timedelta,
        clock: Clock,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self._heartbeats = heartbeats
        self.name = name
        self._every = every
        self._clock = clock
        self._sleep = sleep
        self.last_beat: datetime | None = None  # when this process last recorded a beat

    async def beat(self) -> None:
        now = self._clock.now()
        await self._heartbeats.beat(self.name, now)
        self.last_beat = now
        await self._heartbeats.forget_silent(now - FORGOTTEN_AFTER)

    def beating(self) -> bool:
        """Whether this process recorded a beat within ``SILENT_AFTER_BEATS`` beats (as others see it)."""
        return self.last_beat is not None and self.last_beat >= silent_before(self._clock.now(), self._every)

    async def run(self, stopping: asyncio.Event) -> None:
        """Beat now and every ``every`` until ``stopping``; then leave the list."""
        try:
            while not stopping.is_set():
                try:
                    await self.beat()
                except Exception:  # the database is away: the next beat tries again
                    log.exception("this process could not record that it is alive")
                await self._wait(stopping)
        finally:
            with contextlib.suppress(Exception):
                await self._heartbeats.forget(self.name)

    async def _wait(self, stopping: asyncio.Event) -> None:
        if self._sleep is not None:
            await self._sleep(self._every.total_seconds())
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=self._every.total_seconds())


def start_liveness(liveness: Liveness) -> Callable[[], Awaitable[None]]:
    """Beat in the background; the returned coroutine function stops and leaves the list."""
    stopping = asyncio.Event()
    task = asyncio.create_task(liveness.run(stopping), name="liveness")

    async def stop() -> None:
        stopping.set()
        task.cancel()  # out of its wait at once; leaving the list still runs
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return stop
