"""The sandbox's clock and the jobs scheduled on it (acks, QR rotation, webhook retries, media expiry).

The clock is frozen unless told to follow the wall clock, so tests move time explicitly; jobs run when
`run_due()` is called (on every request, by the live ticker, and by the simulator's `elapse`).
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

DEFAULT_START_MS = 1_772_442_000_000  # 2026-03-02 09:00:00 UTC


class Clock:
    """Milliseconds since the epoch; frozen at `start_ms` unless `follow_wall_clock`."""

    def __init__(self, start_ms: int | None = None, *, follow_wall_clock: bool = False) -> None:
        self.follow_wall_clock = follow_wall_clock
        wall = int(time.time() * 1000)
        self._start = start_ms if start_ms is not None else (wall if follow_wall_clock else DEFAULT_START_MS)
        self._anchor = self._start
        self._wall_anchor = wall
        self._behind_wall = wall - self._start  # what a following clock keeps to when it starts over

    def now_ms(self) -> int:
        if self.follow_wall_clock:
            return self._anchor + int(time.time() * 1000) - self._wall_anchor
        return self._anchor

    def now_s(self) -> int:
        return self.now_ms() // 1000

    def advance(self, seconds: float) -> int:
        self._anchor += round(seconds * 1000)
        return self.now_ms()

    def set_ms(self, ms: int) -> int:
        self._anchor = ms
        self._wall_anchor = int(time.time() * 1000)
        return self.now_ms()

    def reset(self) -> None:
        """Start over: a frozen clock at its start, a following one on the wall clock (as far behind as it
        started), whatever `advance` and `set_ms` did."""
        wall = int(time.time() * 1000)
        self._anchor = wall - self._behind_wall if self.follow_wall_clock else self._start
        self._wall_anchor = wall


@dataclass(order=True)
class _Job:
    due_ms: int
    seq: int
    action: Callable[[], None] = field(compare=False)
    label: str = field(compare=False, default="")
    cancelled: bool = field(compare=False, default=False)


class Scheduler:
    """Jobs due at a clock time, run in (time, insertion) order."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._heap: list[_Job] = []
        self._seq = itertools.count()

    def at(self, due_ms: int, action: Callable[[], None], label: str = "") -> _Job:
        job = _Job(due_ms, next(self._seq), action, label)
        heapq.heappush(self._heap, job)
        return job

    def after(self, seconds: float, action: Callable[[], None], label: str = "") -> _Job:
        return self.at(self.clock.now_ms() + round(seconds * 1000), action, label)

    def next_due_ms(self) -> int | None:
        while self._heap and self._heap[0].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0].due_ms if self._heap else None

    def pending(self) -> list[str]:
        return [job.label for job in sorted(self._heap) if not job.cancelled]

    def run_due(self) -> int:
        """Run every job due by now (including jobs those jobs schedule for now); return how many ran."""
        ran = 0
        while self._heap and self._heap[0].due_ms <= self.clock.now_ms():
            job = heapq.heappop(self._heap)
            if not job.cancelled:
                job.action()
                ran += 1
        return ran

    def clear(self) -> None:
        self._heap.clear()
