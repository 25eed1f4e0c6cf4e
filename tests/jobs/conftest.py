"""One harness, two backends: every queue scenario runs in-process and on arq with the real Redis."""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import pytest
from arq.cron import CronJob
from arq.worker import Function, Worker

from server.jobs.arq_queue import ArqQueue
from server.jobs.inprocess import InProcessQueue

RUN_TIMEOUT_S = 30


@dataclass
class Harness:
    """Queue jobs with ``queue``; ``run()`` works them off like a worker in burst mode."""

    backend: str
    queue: ArqQueue | InProcessQueue
    run: Callable[[], Any]
    ctx: dict[str, Any] = field(default_factory=dict)


MakeHarness = Callable[..., Harness]


def _fresh(cron_jobs: Sequence[CronJob]) -> list[CronJob]:
    copies = [copy.copy(c) for c in cron_jobs]
    for c in copies:
        c.next_run = None
    return copies


@pytest.fixture(params=["inprocess", "arq"])
async def make_harness(request: pytest.FixtureRequest) -> AsyncIterator[MakeHarness]:
    backend: str = request.param
    closers: list[Any] = []

    def make(
        functions: Sequence[Function | Callable[..., Any]],
        cron_jobs: Sequence[CronJob] = (),
        ctx: dict[str, Any] | None = None,
    ) -> Harness:
        ctx = ctx if ctx is not None else {}
        if backend == "inprocess":
            inprocess = InProcessQueue(functions, cron_jobs, ctx=ctx, poll_delay=0.02)

            async def run_inprocess() -> None:
                async with asyncio.timeout(RUN_TIMEOUT_S):
                    await inprocess.drain()

            return Harness(backend, inprocess, run_inprocess, ctx)

        redis_url: str = request.getfixturevalue("redis_url")
        arq_queue = ArqQueue.from_url(redis_url, queue_name=f"test:{uuid.uuid4().hex}")
        closers.append(arq_queue.close)

        async def run_arq() -> None:
            worker = Worker(
                functions,
                cron_jobs=_fresh(cron_jobs),
                redis_pool=arq_queue.redis,
                queue_name=arq_queue.queue_name,
                burst=True,
                poll_delay=0.02,
                handle_signals=False,
                ctx=ctx,
                timezone=UTC,
            )
            async with asyncio.timeout(RUN_TIMEOUT_S):
                await worker.main()

        return Harness(backend, arq_queue, run_arq, ctx)

    yield make
    for close in closers:
        await close()
