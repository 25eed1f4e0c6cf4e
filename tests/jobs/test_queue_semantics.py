"""The same scenarios on both queue backends: dedupe, deferral, retries with backoff, failures, cron."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from arq import cron
from arq.worker import Retry, func

from tests.jobs.conftest import MakeHarness


async def record(ctx: dict[str, Any], *args: Any) -> None:
    ctx["calls"].append((args, ctx["job_try"], time.monotonic()))


async def flaky(ctx: dict[str, Any], label: str) -> str:
    """Fails twice, each time asking for a retry later (growing backoff), then succeeds."""
    ctx["calls"].append((label, ctx["job_try"], time.monotonic()))
    if ctx["job_try"] < 3:
        raise Retry(defer=0.1 * ctx["job_try"])
    return "done"


async def always_retry(ctx: dict[str, Any]) -> None:
    ctx["calls"].append(((), ctx["job_try"], time.monotonic()))
    raise Retry(defer=0.01)


async def broken(ctx: dict[str, Any]) -> None:
    ctx["calls"].append(((), ctx["job_try"], time.monotonic()))
    raise ValueError("a bug, not a transient failure")


async def test_a_job_runs_once_with_its_arguments(make_harness: MakeHarness) -> None:
    h = make_harness([record], ctx={"calls": []})
    assert await h.queue.enqueue("record", "chat-1", 42) is True
    await h.run()
    assert [(args, job_try) for args, job_try, _ in h.ctx["calls"]] == [(("chat-1", 42), 1)]


async def test_a_job_id_is_taken_while_queued_and_while_its_result_is_kept(make_harness: MakeHarness) -> None:
    h = make_harness([record, func(record, name="record_no_result", keep_result=0)], ctx={"calls": []})
    assert await h.queue.enqueue("record", "a", job_id="sync:chat-1") is True
    assert await h.queue.enqueue("record", "b", job_id="sync:chat-1") is False
    assert await h.queue.enqueue("record_no_result", "c", job_id="sync:chat-2") is True
    await h.run()
    assert sorted(args for args, _, _ in h.ctx["calls"]) == [("a",), ("c",)]
    # arq keeps results for an hour by default: the id stays taken; keep_result=0 frees it at once.
    assert await h.queue.enqueue("record", "d", job_id="sync:chat-1") is False
    assert await h.queue.enqueue("record_no_result", "e", job_id="sync:chat-2") is True


async def test_a_deferred_job_waits_for_its_time(make_harness: MakeHarness) -> None:
    h = make_harness([record], ctx={"calls": []})
    enqueued_at = time.monotonic()
    await h.queue.enqueue("record", "later", defer_by=timedelta(seconds=0.5))
    await h.queue.enqueue("record", "now")
    await h.run()
    calls = {args[0]: at for args, _, at in h.ctx["calls"]}
    assert list(calls) == ["now", "later"]
    assert calls["later"] - enqueued_at >= 0.45


async def test_retry_runs_again_after_the_requested_backoff(make_harness: MakeHarness) -> None:
    h = make_harness([flaky], ctx={"calls": []})
    await h.queue.enqueue("flaky", "x", job_id="flaky-1")
    await h.run()
    tries = [(job_try, at) for _, job_try, at in h.ctx["calls"]]
    assert [job_try for job_try, _ in tries] == [1, 2, 3]
    assert tries[1][1] - tries[0][1] >= 0.09
    assert tries[2][1] - tries[1][1] >= 0.19


async def test_retries_stop_at_max_tries(make_harness: MakeHarness) -> None:
    h = make_harness([func(always_retry, max_tries=3)], ctx={"calls": []})
    await h.queue.enqueue("always_retry", job_id="hopeless")
    await h.run()
    assert [job_try for _, job_try, _ in h.ctx["calls"]] == [1, 2, 3]


async def test_an_ordinary_exception_fails_the_job_without_retrying(make_harness: MakeHarness) -> None:
    h = make_harness([broken], ctx={"calls": []})
    await h.queue.enqueue("broken")
    await h.run()
    assert len(h.ctx["calls"]) == 1


async def test_cron_jobs_run_on_schedule(make_harness: MakeHarness) -> None:
    startup = cron(record, name="tick", run_at_startup=True, second=0, minute=0, hour=0)
    h = make_harness([], cron_jobs=[startup], ctx={"calls": []})
    await h.run()
    assert len(h.ctx["calls"]) == 1
