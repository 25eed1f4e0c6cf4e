"""When waiting days are written: the chats a flush queues, and when a company's next import runs.

In real time a chat's days are written a burst window after its messages; in a batch mode (every 1, 6,
12 or 24 hours) a chat waits until its oldest unwritten change is a period old, and the ``flush_batched``
cron job (every minute) queues it then. Switching a company back to real time queues all of its waiting
chats at once (``queue_due_chats`` with its ``company_id``), so no backlog waits for the next message.
Queueing is idempotent: a chat's sync job id is ``sync:<chat id>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from server.domain.ports.queue import JobQueue
from server.domain.ports.sync_store import WaitingDays
from server.domain.sync import ImportFrequency
from server.services.sync.run import sync_job_id

FLUSH_EVERY = timedelta(minutes=1)  # how often flush_batched runs (its cron schedule in server.jobs)


@dataclass(frozen=True, slots=True)
class NextImport:
    """A company's batch import as its settings page shows it."""

    frequency: ImportFrequency
    waiting_chats: int  # chats with changes not written yet
    at: datetime | None  # when the oldest waiting change is written (about); None: nothing waits

    @property
    def batched(self) -> bool:
        return self.frequency is not ImportFrequency.REALTIME


async def queue_due_chats(
    store: WaitingDays, queue: JobQueue, *, now: datetime, company_id: int | None = None
) -> int:
    """Queue the sync of every chat whose oldest waiting change is older than its company's batch period
    (in real time: every waiting chat); only ``company_id``'s chats when given. How many chats are being
    written: the ones queued now and the ones whose sync was already queued or running (the minutely flush
    may have queued it a moment before: a sync job's id is free again as soon as it ends)."""
    due = 0
    intervals: dict[int, timedelta] = {}
    for chat_id, chat_company, oldest in await store.dirty_chats(due_before=now, company_id=company_id):
        if chat_company not in intervals:
            intervals[chat_company] = (await store.settings(chat_company)).import_frequency.batch_interval
        if oldest <= now - intervals[chat_company]:
            await queue.enqueue("sync_chat", chat_id, job_id=sync_job_id(chat_id))
            due += 1
    return due


async def next_import(store: WaitingDays, company_id: int, *, now: datetime) -> NextImport:
    """How many of the company's chats wait, and when the oldest of them is written: a batch period after
    its oldest change, at the flush that follows (never before ``now``)."""
    frequency = (await store.settings(company_id)).import_frequency
    waiting = await store.dirty_chats(due_before=now, company_id=company_id)
    if not waiting:
        return NextImport(frequency, 0, None)
    oldest = min(found for _, _, found in waiting)
    at = max(now, oldest + frequency.batch_interval) + FLUSH_EVERY
    return NextImport(frequency, len(waiting), at)
