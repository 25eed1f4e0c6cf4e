"""A chat's sync waits for the rest of a burst, counted from when its webhook reached us."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from server.jobs.sync import burst_wait, enqueue_sync
from server.jobs.timing import JobTimings
from tests.job_deps import fake_deps, run_ctx

WINDOW = timedelta(seconds=3.5)
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_the_wait_is_counted_from_the_webhooks_arrival() -> None:
    assert burst_wait(WINDOW, NOW - timedelta(seconds=1.2), NOW) == timedelta(seconds=2.3)
    assert burst_wait(WINDOW, None, NOW) == WINDOW  # catch-up and sends: no webhook, the whole window
    assert burst_wait(WINDOW, NOW - timedelta(seconds=9), NOW) == timedelta(0)  # stored late: at once
    assert burst_wait(WINDOW, NOW + timedelta(seconds=2), NOW) == WINDOW  # a clock ahead: never longer


class RecordingQueue:
    def __init__(self) -> None:
        self.jobs: dict[str, tuple[str, tuple[Any, ...], timedelta | None]] = {}

    async def enqueue(
        self, function: str, *args: Any, job_id: str | None = None, defer_by: timedelta | None = None
    ) -> bool:
        assert job_id is not None
        if job_id in self.jobs:
            return False
        self.jobs[job_id] = (function, args, defer_by)
        return True

    async def is_running(self, job_id: str) -> bool:
        return False


class EveryCompanyInstalled:
    async def companies_installed(self, chat_ids: list[int]) -> dict[int, int]:
        return {chat_id: 1 for chat_id in chat_ids}


class StoppedClock:
    def now(self) -> datetime:
        return NOW


async def test_a_message_stored_a_second_after_its_webhook_waits_a_second_less() -> None:
    queue = RecordingQueue()
    window = timedelta(seconds=5)  # the settings' window, not the default
    deps = fake_deps(
        queue=queue,
        sync_store=EveryCompanyInstalled(),
        pipedrive=object(),
        sync_config=object(),
        timings=JobTimings(burst_window=window),
        clock=StoppedClock(),
    )
    ctx = run_ctx(deps)
    await enqueue_sync(ctx, {7}, media_chat_ids={7}, received_at=NOW - timedelta(seconds=1))
    function, args, defer = queue.jobs["sync:7"]
    assert (function, args, defer) == ("sync_chat", (7,), timedelta(seconds=4))
    assert queue.jobs["media:7"][2] is None  # attachments are fetched at once, burst or not

    await enqueue_sync(ctx, {8}, media_chat_ids=set())
    assert queue.jobs["sync:8"][2] == window
    assert "media:8" not in queue.jobs
