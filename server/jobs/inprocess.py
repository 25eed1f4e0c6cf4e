"""The in-process job runner of the embedded default: arq's semantics without Redis.

It runs the same job functions, declared with ``arq.func`` and ``arq.cron``, and keeps arq's rules:
a job id is taken while the job is queued, running, or its result is kept (``keep_result``, default
3600 s; 0 frees the id at once); ``Retry(defer=...)`` re-queues under the same id until ``max_tries``
(default 5) is exceeded; other exceptions fail the job, and so does running past its ``timeout`` (it is
cancelled): arq retries neither, and keeps the failed job's id taken for its ``keep_result`` like a
completed one's. A job that must be queued again after such a failure keeps no result (``send_outbox``
has ``keep_result=0``) or turns the failure into a ``Retry`` itself. WaPipe's jobs turn a busy
database into a ``Retry`` themselves (``server.jobs.retry.retried_when_busy``, in ``server.jobs.functions``),
so it is retried here and on arq alike. Jobs live in memory: what must survive a restart is stored in the
database before it is enqueued.

Time comes from the injected clock. ``drain`` (tests, the benchmark) runs until nothing is left; on a
``ControlledClock`` it skips the time until the next deferred job whenever no job is running, so a burst
window or a retry delay costs no real time and jobs still run in the order and at the clock times they
would in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import heapq
import itertools
import logging
import time
import uuid
from asyncio import FIRST_COMPLETED
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from arq.cron import CronJob
from arq.worker import Function, Retry, func

from server.domain.clock import Clock, ControlledClock, SystemClock
from server.metrics.state import DEFERRED, DUE, RUNNING, QueueDepth

log = logging.getLogger(__name__)

DEFAULT_MAX_TRIES = 5
DEFAULT_KEEP_RESULT_S = 3600.0
DEFAULT_TIMEOUT_S = 300.0
OUTCOMES_KEPT = 10_000  # the most recent outcomes, for tests and the status page


@dataclass
class _Job:
    job_id: str
    function: str
    args: tuple[Any, ...]
    run_at: float
    enqueue_time: float
    tries: int = 0
    running: bool = False
    done_at: float | None = None
    keep_until: float | None = None
    outcome: str = "queued"


@dataclass
class JobOutcome:
    """What became of a job, for tests and the status page."""

    job_id: str
    function: str
    tries: int
    outcome: str  # "complete", "failed", "max_tries"
    error: str | None = None
    result: str | None = None
    finished_at: float = field(default_factory=time.time)


def _fresh(cron_job: CronJob) -> CronJob:
    fresh = copy.copy(cron_job)
    fresh.next_run = None
    return fresh


def as_function(item: Function | Callable[..., Any]) -> Function:
    return item if isinstance(item, Function) else func(item)


class InProcessQueue:
    def __init__(
        self,
        functions: Sequence[Function | Callable[..., Any]],
        cron_jobs: Sequence[CronJob] = (),
        *,
        ctx: dict[str, Any] | None = None,
        poll_delay: float = 0.05,
        max_jobs: int = 10,
        clock: Clock | None = None,
    ) -> None:
        self._functions = {f.name: f for f in map(as_function, functions)}
        for cron_job in cron_jobs:
            self._functions[cron_job.name] = Function(
                name=cron_job.name,
                coroutine=cron_job.coroutine,
                timeout_s=cron_job.timeout_s,
                keep_result_s=cron_job.keep_result_s,
                keep_result_forever=cron_job.keep_result_forever,
                max_tries=cron_job.max_tries,
            )
        # Copies: a CronJob carries its next run time, which must not leak between runners.
        self._cron_jobs = [_fresh(c) for c in cron_jobs]
        self.ctx: dict[str, Any] = ctx if ctx is not None else {}
        self._poll_delay = poll_delay
        self._slots = asyncio.Semaphore(max_jobs)
        self._clock = clock or SystemClock()
        self._jobs: dict[str, _Job] = {}
        # Heaps of (time, sequence, job id): jobs to start, and finished jobs whose id is to be freed.
        # Entries go stale when a job moves (a retry, a new job under a freed id): they are skipped.
        self._due: list[tuple[float, int, str]] = []
        self._expiry: list[tuple[float, int, str]] = []
        self._sequence = itertools.count()
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self.outcomes: deque[JobOutcome] = deque(maxlen=OUTCOMES_KEPT)

    # -- the JobQueue port ------------------------------------------------------------------------
    async def enqueue(
        self, function: str, *args: Any, job_id: str | None = None, defer_by: timedelta | None = None
    ) -> bool:
        return self._add(function, args, job_id, defer_by)

    def _add(
        self, function: str, args: tuple[Any, ...], job_id: str | None, defer_by: timedelta | None
    ) -> bool:
        if function not in self._functions:
            raise KeyError(f"no job function named {function!r}")
        now = self._now()
        self._forget_expired(now)
        job_id = job_id or uuid.uuid4().hex
        if job_id in self._jobs:
            return False
        run_at = now + (defer_by.total_seconds() if defer_by else 0.0)
        self._jobs[job_id] = _Job(job_id, function, args, run_at=run_at, enqueue_time=now)
        self._schedule(job_id, run_at)
        return True

    def _schedule(self, job_id: str, run_at: float) -> None:
        heapq.heappush(self._due, (run_at, next(self._sequence), job_id))
        self._wake.set()

    async def is_running(self, job_id: str) -> bool:
        job = self._jobs.get(job_id)
        return job is not None and job.running

    async def ping(self) -> None:
        if self._loop_task is not None and self._loop_task.done():
            raise RuntimeError("the in-process job runner has stopped")

    async def depth(self, now: datetime) -> QueueDepth:
        """The jobs not finished at ``now``, by function and state (running, due, deferred)."""
        at = now.timestamp()
        jobs: Counter[tuple[str, str]] = Counter()
        oldest_due: float | None = None
        for job in self._jobs.values():
            if job.done_at is not None:
                continue
            if job.running:
                jobs[(job.function, RUNNING)] += 1
            elif job.run_at <= at:
                jobs[(job.function, DUE)] += 1
                oldest_due = job.run_at if oldest_due is None else min(oldest_due, job.run_at)
            else:
                jobs[(job.function, DEFERRED)] += 1
        return QueueDepth(dict(jobs), 0.0 if oldest_due is None else max(0.0, at - oldest_due))

    # -- running ----------------------------------------------------------------------------------
    async def start(self) -> None:
        """Run jobs in the background until ``stop``."""
        if self._loop_task is None:
            self._loop_task = asyncio.create_task(self._run_forever(), name="wapipe-jobs")

    async def stop(self, grace: float = 10.0) -> None:
        """Stop taking jobs; let running ones finish for up to ``grace`` seconds, then cancel them
        (a cancelled job runs again from its stored state: every job is safe to run twice)."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=grace)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def drain(self, *, until: datetime | None = None) -> None:
        """Burst mode: run until no job is queued (deferred ones included) or running.

        While jobs run it waits for one to finish; when none runs and the next is deferred, a
        ``ControlledClock`` is moved on to its time (any other clock is waited for). ``until``: jobs due
        later stay queued and the clock is not moved past it. Callers bound it with ``asyncio.timeout``.
        """
        while True:
            self._run_cron()
            self._tick()
            if not self.pending():
                break
            if self._tasks:
                await asyncio.wait(list(self._tasks), timeout=self._poll_delay, return_when=FIRST_COMPLETED)
                continue
            wait = self._until_next_due()
            if until is not None and self._now() + wait > until.timestamp():
                break
            if wait <= 0:
                await asyncio.sleep(0)
            elif isinstance(self._clock, ControlledClock):
                self._clock.advance(wait)
            else:
                await asyncio.sleep(min(wait, self._poll_delay))
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def pending(self) -> list[str]:
        return [job.job_id for job in self._jobs.values() if job.done_at is None]

    def _until_next_due(self) -> float:
        """Seconds until the earliest queued job may start (0 when one is due now)."""
        queued = [job.run_at for job in self._jobs.values() if job.done_at is None and not job.running]
        return max(0.0, min(queued) - self._now()) if queued else 0.0

    def _now(self) -> float:
        return self._clock.now().timestamp()

    async def _run_forever(self) -> None:
        while True:
            self._run_cron()
            self._tick()
            self._wake.clear()
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the cancel that stop() sends.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_delay):
                    await self._wake.wait()

    def _tick(self) -> None:
        now = self._now()
        while self._due and self._due[0][0] <= now:
            run_at, _, job_id = heapq.heappop(self._due)
            job = self._jobs.get(job_id)
            if job is None or job.run_at != run_at:
                continue  # finished and freed, or moved by a retry: a newer entry stands for it
            if job.done_at is None and not job.running:
                job.running = True
                task = asyncio.create_task(self._run(job))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    def _run_cron(self) -> None:
        now = self._clock.now()
        horizon = now + timedelta(seconds=self._poll_delay * 2)
        for cron_job in self._cron_jobs:
            if cron_job.next_run is None:
                if not cron_job.run_at_startup:
                    cron_job.calculate_next(now)
                    continue
                cron_job.next_run = now
            if cron_job.next_run < horizon:
                run_at = cron_job.next_run
                job_id = cron_job.job_id or (
                    f"{cron_job.name}:{int(run_at.timestamp() * 1000)}" if cron_job.unique else None
                )
                defer = max(0.0, (run_at - now).total_seconds())
                self._add(cron_job.name, (), job_id, timedelta(seconds=defer))
                # Runs missed while the clock jumped (or the process slept) make one run, not a backlog.
                cron_job.calculate_next(max(run_at, now))

    async def _run(self, job: _Job) -> None:
        function = self._functions[job.function]
        async with self._slots:
            job.tries += 1
            max_tries = function.max_tries if function.max_tries is not None else DEFAULT_MAX_TRIES
            if job.tries > max_tries:
                log.warning("job %s:%s exceeded max tries %d", job.job_id, job.function, max_tries)
                self._finish(job, function, "max_tries", f"max {max_tries} tries exceeded")
                return
            ctx = {
                **self.ctx,
                "job_id": job.job_id,
                "job_try": job.tries,
                "enqueue_time": datetime.fromtimestamp(job.enqueue_time, UTC),
                "score": int(job.run_at * 1000),
            }
            timeout = function.timeout_s if function.timeout_s is not None else DEFAULT_TIMEOUT_S
            try:
                result = await asyncio.wait_for(function.coroutine(ctx, *job.args), timeout)
            except Retry as retry:
                delay = (retry.defer_score or 0) / 1000
                log.info("job %s:%s retrying in %.2fs", job.job_id, job.function, delay)
                job.run_at = self._now() + delay
                job.running = False
                self._schedule(job.job_id, job.run_at)
            except Exception as error:
                log.exception("job %s:%s failed", job.job_id, job.function)
                self._finish(job, function, "failed", f"{type(error).__name__}: {error}")
            else:
                self._finish(job, function, "complete", None, None if result is None else repr(result)[:200])

    def _finish(
        self, job: _Job, function: Function, outcome: str, error: str | None, result: str | None = None
    ) -> None:
        now = self._now()
        job.running = False
        job.done_at = now
        job.outcome = outcome
        keep = function.keep_result_s if function.keep_result_s is not None else DEFAULT_KEEP_RESULT_S
        job.keep_until = None if function.keep_result_forever else now + keep
        if job.keep_until is not None:
            heapq.heappush(self._expiry, (job.keep_until, next(self._sequence), job.job_id))
        self.outcomes.append(JobOutcome(job.job_id, job.function, job.tries, outcome, error, result))
        self._forget_expired(now)

    def _forget_expired(self, now: float) -> None:
        while self._expiry and self._expiry[0][0] <= now:
            keep_until, _, job_id = heapq.heappop(self._expiry)
            job = self._jobs.get(job_id)
            if job is not None and job.done_at is not None and job.keep_until == keep_until:
                del self._jobs[job_id]
