"""A failing attachment's retries are kept in the database, on SQLite and PostgreSQL: another worker, or
the same one after a restart, keeps to its schedule; two workers never download it at once; a sync run
that meets it writes the chat anyway and queues the retry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from server.domain.sync import MediaRetry
from server.jobs.sync import fetch_chat_media, sync_watchdog
from server.storage.tables import MessageMediaRow, table_of
from tests.job_deps import run_ctx
from tests.sync.world import RecordingQueue, SyncWorld, sync_world

NUMBER = "+4917612345678"
WAIT = 30.0  # the settings' first wait before a retry, in seconds
PDF = b"%PDF-1.4 angebot"


@pytest.fixture
async def world(migrated_database_url: str, tmp_path: Path) -> AsyncIterator[SyncWorld]:
    async with sync_world(migrated_database_url, tmp_path) as world:
        config = replace(world.deps.sync_config, media_retry=MediaRetry(timedelta(seconds=WAIT), 3))
        world.deps = replace(world.deps, sync_config=config)
        yield world


def worker(world: SyncWorld) -> tuple[dict[str, Any], RecordingQueue]:
    """The job context of a worker that has just started: the same database, an empty queue."""
    queue = RecordingQueue()
    return run_ctx(replace(world.deps, queue=queue), job_try=1, job_id="media"), queue


async def failing_attachment(world: SyncWorld) -> tuple[int, str]:
    """A chat whose one message carries a document the gateway answers 503 for; (chat id, its locator)."""
    chat = await world.message(NUMBER, "Angebot anbei", media=PDF, filename="angebot.pdf", message_id="WAPDF")
    [locator] = [key for key in world.transport.files if key.endswith("-WAPDF")]
    world.transport.failing.add(locator)
    return chat, locator


def retry_jobs(queue: RecordingQueue, chat: int) -> list[str]:
    return [
        job_id or "" for name, args, job_id in queue.jobs if name == "fetch_chat_media" and args == (chat,)
    ]


def at_of(job_id: str) -> datetime:
    """The time a retry job is named after (``media:<chat>:<ms>``)."""
    return datetime.fromtimestamp(int(job_id.rsplit(":", 1)[1]) / 1000, UTC)


async def media_rows(world: SyncWorld) -> list[dict[str, Any]]:
    table = table_of(MessageMediaRow)
    async with world.engine.connect() as connection:
        return [dict(row) for row in (await connection.execute(table.select())).mappings()]


WAIT_DELTA, MS = timedelta(seconds=WAIT), timedelta(milliseconds=1)


async def test_the_schedule_is_kept_by_another_worker_and_after_a_restart(world: SyncWorld) -> None:
    chat, locator = await failing_attachment(world)
    first_try = world.clock.now()
    ctx, queue = worker(world)
    await fetch_chat_media(ctx, chat)
    last_try = world.clock.now()
    assert world.transport.fetches == [locator]
    [retry] = retry_jobs(queue, chat)
    assert retry.startswith(f"media:{chat}:")
    assert first_try + WAIT_DELTA - MS <= at_of(retry) <= last_try + WAIT_DELTA  # job ids carry milliseconds
    [row] = await media_rows(world)
    assert (row["state"], row["attempts"]) == ("pending", 1)
    assert abs(row["next_attempt_at"] - at_of(retry)) < timedelta(milliseconds=1)

    world.clock.advance(WAIT - 5)  # another worker, before the retry is due: no download, the same retry
    ctx, queue = worker(world)
    await fetch_chat_media(ctx, chat)
    await sync_watchdog(ctx)
    assert world.transport.fetches == [locator] and retry_jobs(queue, chat) == [retry]

    world.clock.advance(5)  # restarted: the queued retry is gone, the watchdog finds it due
    ctx, queue = worker(world)
    await sync_watchdog(ctx)
    assert retry_jobs(queue, chat) == [f"media:{chat}"]
    world.transport.failing.clear()
    await fetch_chat_media(ctx, chat)
    assert world.transport.fetches == [locator, locator]
    [row] = await media_rows(world)
    assert (row["state"], row["attempts"]) == ("stored", 2)
    assert any(name == "sync_chat" and job_id == f"sync:{chat}" for name, _, job_id in queue.jobs)


async def test_two_workers_due_at_once_download_it_once(world: SyncWorld) -> None:
    chat, locator = await failing_attachment(world)
    await asyncio.gather(fetch_chat_media(worker(world)[0], chat), fetch_chat_media(worker(world)[0], chat))
    assert world.transport.fetches == [locator]
    [row] = await media_rows(world)
    assert row["attempts"] == 1


async def test_a_sync_run_that_meets_it_writes_the_chat_and_queues_the_retry(world: SyncWorld) -> None:
    chat, locator = await failing_attachment(world)
    await world.message(NUMBER, "Und noch eine Frage")
    first_try = world.clock.now()
    assert (await world.sync(chat, max_retries=1)).startswith(f"chat {chat}: linked")
    last_try = world.clock.now()
    assert world.transport.fetches == [locator]
    notes = world.notes()
    assert "Angebot anbei" in notes and "Und noch eine Frage" in notes
    assert "angebot.pdf <i>(not downloaded yet" in notes
    [retry] = retry_jobs(world.queue, chat)
    assert first_try + WAIT_DELTA - MS <= at_of(retry) <= last_try + WAIT_DELTA  # job ids carry milliseconds
