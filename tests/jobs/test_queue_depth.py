"""The queue's depth as the metrics read it: from Redis (every process sees the same), and from the
in-process runner's memory, by job and state, with how long the oldest due job has waited."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from arq.constants import in_progress_key_prefix

from server.domain.clock import ControlledClock
from server.jobs import arq_queue
from server.jobs.arq_queue import ArqQueue
from server.jobs.inprocess import InProcessQueue
from server.metrics.state import QueueDepth


async def sync_chat(ctx: dict[str, Any], chat_id: int) -> None:
    return None


async def fetch_chat_media(ctx: dict[str, Any], chat_id: int) -> None:
    return None


async def test_the_arq_queue_depth_is_read_from_redis(redis_url: str) -> None:
    queue = ArqQueue.from_url(redis_url, queue_name="depth-test")
    try:
        before = datetime.now(UTC)
        assert await queue.enqueue("sync_chat", 1, job_id="sync:1")
        assert await queue.enqueue("sync_chat", 2, job_id="sync:2")
        assert await queue.enqueue("fetch_chat_media", 3, job_id="media:3", defer_by=timedelta(hours=1))
        after = datetime.now(UTC)
        await queue.redis.set(in_progress_key_prefix + "sync:1", b"1")  # a worker took this one
        now = after + timedelta(seconds=10)
        depth = await queue.depth(now)
        assert depth.jobs == {
            ("sync_chat", "running"): 1,
            ("sync_chat", "due"): 1,
            ("fetch_chat_media", "deferred"): 1,
        }
        waited = (now - before).total_seconds(), (now - after).total_seconds()
        assert waited[1] - 0.01 <= depth.oldest_due_seconds <= waited[0] + 0.01
        assert await queue.depth(before - timedelta(seconds=1)) == QueueDepth(
            {("sync_chat", "deferred"): 2, ("fetch_chat_media", "deferred"): 1}, 0.0
        )
    finally:
        await queue.close()


async def test_past_the_jobs_read_one_by_one_the_rest_count_by_state(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(arq_queue, "DEPTH_READ", 1)
    queue = ArqQueue.from_url(redis_url, queue_name="depth-test")
    try:
        await queue.enqueue("sync_chat", 1, job_id="sync:1", defer_by=timedelta(seconds=-5))
        await queue.enqueue("sync_chat", 2, job_id="sync:2")
        await queue.enqueue("fetch_chat_media", 3, job_id="media:3", defer_by=timedelta(hours=1))
        depth = await queue.depth(datetime.now(UTC) + timedelta(seconds=1))
        assert depth.jobs == {("sync_chat", "due"): 1, ("other", "due"): 1, ("other", "deferred"): 1}
        assert depth.total("due") == 2 and depth.total("deferred") == 1
    finally:
        await queue.close()


async def test_the_in_process_depth_is_the_runners_own() -> None:
    clock = ControlledClock()
    queue = InProcessQueue([sync_chat, fetch_chat_media], clock=clock)  # not started: nothing runs
    assert await queue.depth(clock.now()) == QueueDepth({}, 0.0)
    await queue.enqueue("sync_chat", 1, job_id="sync:1")
    await queue.enqueue("fetch_chat_media", 2, defer_by=timedelta(minutes=5))
    clock.advance(30)
    depth = await queue.depth(clock.now())
    assert depth.jobs == {("sync_chat", "due"): 1, ("fetch_chat_media", "deferred"): 1}
    assert depth.oldest_due_seconds == pytest.approx(30, abs=0.01)
    await queue.start()
    try:
        async with asyncio.timeout(10):
            await queue.drain(until=clock.now())
    finally:
        await queue.stop()
    assert (await queue.depth(clock.now())).jobs == {("fetch_chat_media", "deferred"): 1}
