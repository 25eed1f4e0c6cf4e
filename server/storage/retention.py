"""Retention: each company's old messages and attachment files deleted after the days its admin chose.

Whole days go, in the company's timezone: a day's "WhatsApp chat" activity is rendered from all of that
day's messages, so deleting part of a day could shrink a note Pipedrive already has if the day were ever
written again. A day is deleted only when Pipedrive already has it: every message of the day folded
into day activities (at or below the chat's cursor) and none of the day's activities dirty. Its activity
rows go with it, so nothing rewrites (or empties) what Pipedrive keeps. The work on a chat holds the sync
engine's chat lease, so a sync or a re-link cannot run in between; a chat the engine is busy with, or has
not looked at yet, waits for the next run.

Attachment retention deletes the files and keeps the messages, their media marked ``removed``.
Outgoing messages still queued or sending and webhook deliveries not processed yet are never deleted.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.domain.days import day_start, local_day
from server.domain.models import InboundEventState, OutboxStatus
from server.domain.ports.storage import MediaFiles
from server.domain.sync import MediaState
from server.storage.media_deletions import delete_files, list_deletions
from server.storage.revisions import mark_changed
from server.storage.tables import (
    Chat,
    Company,
    CompanySettings,
    InboundEvent,
    MediaBlob,
    Message,
    MessageMediaRow,
    Outbox,
    WhatsAppAccount,
    table_of,
    utcnow,
)
from server.storage.tables_changes import MessageReaction
from server.storage.tables_sync import SyncChatLink, SyncDayActivity

log = logging.getLogger(__name__)
T = TypeVar("T")

MEDIA_REMOVED = MediaState.REMOVED.value  # message_media.state of an attachment retention deleted
LEASE = timedelta(minutes=2)  # as the sync engine's chat lease; one chat's clean-up takes far less
FINAL_OUTBOX = (
    OutboxStatus.SENT.value,
    OutboxStatus.FAILED.value,
)  # queued and sending rows are still to be sent
CHUNK = 500

_companies = table_of(Company)
_settings = table_of(CompanySettings)
_accounts = table_of(WhatsAppAccount)
_chats = table_of(Chat)
_messages = table_of(Message)
_message_media = table_of(MessageMediaRow)
_reactions = table_of(MessageReaction)
_blobs = table_of(MediaBlob)
_links = table_of(SyncChatLink)
_days = table_of(SyncDayActivity)
_outbox = table_of(Outbox)
_events = table_of(InboundEvent)


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    company_id: int
    timezone: str
    message_days: int  # 0: forever
    media_days: int  # 0: as long as the message


@dataclass
class RetentionOutcome:
    company_id: int
    messages: int = 0  # messages deleted
    attachments: int = 0  # attachments whose file went (message kept)
    files: int = 0  # files deleted from disk
    outgoing: int = 0  # sent or failed outbox rows deleted
    webhooks: int = 0  # processed webhook deliveries deleted
    days_waiting: int = 0  # old chat days kept because Pipedrive does not have them yet
    chats_busy: int = 0  # chats the sync engine held (or never saw): next run

    def as_dict(self) -> dict[str, int]:
        return {
            "messages": self.messages,
            "attachments": self.attachments,
            "files": self.files,
            "outgoing": self.outgoing,
            "webhooks": self.webhooks,
            "days_waiting": self.days_waiting,
            "chats_busy": self.chats_busy,
        }


def cutoff(now: datetime, days: int, zone: ZoneInfo) -> datetime:
    """The start of the first local day kept: messages sent before it are in days older than ``days``."""
    return day_start(local_day(now - timedelta(days=days), zone), zone)


class SqlRetention:
    """Retention over ``engine``; the files go from ``files`` (``None``: this machine's disk)."""

    def __init__(self, engine: AsyncEngine, files: MediaFiles | None = None) -> None:
        self._engine = engine
        self._files = files

    async def policies(self) -> list[RetentionPolicy]:
        """The companies that keep messages or files for a limited time."""
        query = (
            select(
                _settings.c.company_id,
                _companies.c.timezone,
                _settings.c.message_retention_days,
                _settings.c.media_retention_days,
            )
            .select_from(_settings.join(_companies, _companies.c.id == _settings.c.company_id))
            .where((_settings.c.message_retention_days > 0) | (_settings.c.media_retention_days > 0))
            .order_by(_settings.c.company_id)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [RetentionPolicy(int(r[0]), str(r[1] or "UTC"), int(r[2]), int(r[3])) for r in rows]

    async def apply(self, policy: RetentionPolicy, zone: ZoneInfo, now: datetime) -> RetentionOutcome:
        """Delete what the policy no longer keeps; safe to run again (it finds nothing more)."""
        outcome = RetentionOutcome(policy.company_id)
        files: list[str] = []
        if policy.message_days:
            before = cutoff(now, policy.message_days, zone)
            for chat_id in await self._chats_with_old(policy.company_id, before, media_only=False):
                files += await self._in_chat_lease(chat_id, policy, zone, before, outcome, media_only=False)
            await self._forget_sent(policy.company_id, before, outcome)
        if policy.media_days:
            before = cutoff(now, policy.media_days, zone)
            for chat_id in await self._chats_with_old(policy.company_id, before, media_only=True):
                files += await self._in_chat_lease(chat_id, policy, zone, before, outcome, media_only=True)
        # after the commits: a rolled-back transaction must not lose a referenced file
        outcome.files = await delete_files(self._engine, self._files, files)
        return outcome

    async def _chats_with_old(self, company_id: int, before: datetime, *, media_only: bool) -> list[int]:
        source = _messages.join(_accounts, _accounts.c.id == _messages.c.account_id)
        condition = (_accounts.c.company_id == company_id) & (_messages.c.sent_at < before)
        if media_only:
            source = source.join(_message_media, _message_media.c.message_id == _messages.c.id)
            condition = condition & (_message_media.c.state == "stored")
        query = select(_messages.c.chat_id).select_from(source).where(condition).distinct()
        async with self._engine.connect() as connection:
            return sorted(int(i) for i in (await connection.execute(query)).scalars())

    async def _in_chat_lease(
        self,
        chat_id: int,
        policy: RetentionPolicy,
        zone: ZoneInfo,
        before: datetime,
        outcome: RetentionOutcome,
        *,
        media_only: bool,
    ) -> list[str]:
        owner = f"retention:{uuid.uuid4().hex[:12]}"
        if not await self._acquire(chat_id, policy.company_id, owner):
            outcome.chats_busy += 1
            return []
        try:
            async with self._engine.begin() as connection:
                if media_only:
                    return await _remove_media(connection, chat_id, zone, before, outcome)
                return await _delete_days(connection, chat_id, zone, before, outcome)
        finally:
            await self._release(chat_id, owner)

    async def _acquire(self, chat_id: int, company_id: int, owner: str) -> bool:
        """The sync engine's lease on the chat; a chat without a link row was never synced: not yet."""
        now = utcnow()
        free = or_(_links.c.lease_until.is_(None), _links.c.lease_until <= now)
        async with self._engine.begin() as connection:
            claimed = await connection.execute(
                update(_links)
                .where((_links.c.chat_id == chat_id) & (_links.c.company_id == company_id) & free)
                .values(lease_owner=owner, lease_until=now + LEASE)
            )
        return bool(claimed.rowcount == 1)

    async def _release(self, chat_id: int, owner: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(_links)
                .where((_links.c.chat_id == chat_id) & (_links.c.lease_owner == owner))
                .values(lease_owner="", lease_until=None)
            )

    async def _forget_sent(self, company_id: int, before: datetime, outcome: RetentionOutcome) -> None:
        """Outgoing messages and webhook deliveries hold message text too; pending ones stay."""
        sessions = select(_accounts.c.transport, _accounts.c.session_name).where(
            _accounts.c.company_id == company_id
        )
        async with self._engine.begin() as connection:
            sent: Any = await connection.execute(
                delete(_outbox).where(
                    (_outbox.c.company_id == company_id)
                    & _outbox.c.status.in_(FINAL_OUTBOX)
                    & (_outbox.c.created_at < before)
                )
            )
            events: Any = await connection.execute(
                delete(_events).where(
                    tuple_(_events.c.transport, _events.c.session_name).in_(sessions)
                    & (_events.c.state != InboundEventState.PENDING.value)
                    & (_events.c.received_at < before)
                )
            )
        outcome.outgoing += int(sent.rowcount or 0)
        outcome.webhooks += int(events.rowcount or 0)


async def _synced_days(
    connection: AsyncConnection,
    chat_id: int,
    rows: Iterable[tuple[int, datetime]],
    zone: ZoneInfo,
    *,
    whole_days: bool,
) -> tuple[dict[date, list[int]], int]:
    """The message ids of each day Pipedrive already has, and how many old days are still waiting.

    ``whole_days``: ``rows`` are all of each day's messages, and one unsynced message keeps the day.
    """
    cursor = (await connection.execute(select(_links.c.cursor).where(_links.c.chat_id == chat_id))).scalar()
    dirty = {
        d
        for d in (
            await connection.execute(select(_days.c.day).where((_days.c.chat_id == chat_id) & _days.c.dirty))
        ).scalars()
    }
    by_day: dict[date, list[int]] = {}
    waiting: set[date] = set()
    for message_id, sent_at in rows:
        day = local_day(sent_at, zone)
        if day in dirty or cursor is None or message_id > cursor:
            waiting.add(day)
            if not whole_days:
                continue
        by_day.setdefault(day, []).append(message_id)
    if whole_days:
        by_day = {day: ids for day, ids in by_day.items() if day not in waiting}
    return by_day, len(waiting)


async def _delete_days(
    connection: AsyncConnection, chat_id: int, zone: ZoneInfo, before: datetime, outcome: RetentionOutcome
) -> list[str]:
    rows = (
        await connection.execute(
            select(_messages.c.id, _messages.c.sent_at).where(
                (_messages.c.chat_id == chat_id) & (_messages.c.sent_at < before)
            )
        )
    ).all()
    by_day, waiting = await _synced_days(connection, chat_id, rows, zone, whole_days=True)
    outcome.days_waiting += waiting
    message_ids = [i for ids in by_day.values() for i in ids]
    if not message_ids:
        return []
    hashes: set[str] = set()
    for chunk in _chunks(message_ids):
        hashes |= await _hashes_of(connection, chunk)
        await connection.execute(delete(_message_media).where(_message_media.c.message_id.in_(chunk)))
        await connection.execute(delete(_reactions).where(_reactions.c.message_id.in_(chunk)))
        deleted: Any = await connection.execute(delete(_messages).where(_messages.c.id.in_(chunk)))
        outcome.messages += int(deleted.rowcount or 0)
    # The days' activities stay in Pipedrive; their rows go so that nothing writes those days again.
    await connection.execute(
        delete(_days).where((_days.c.chat_id == chat_id) & _days.c.day.in_(sorted(by_day)) & ~_days.c.dirty)
    )
    return await _drop_unused_blobs(connection, hashes)


async def _remove_media(
    connection: AsyncConnection, chat_id: int, zone: ZoneInfo, before: datetime, outcome: RetentionOutcome
) -> list[str]:
    rows = (
        await connection.execute(
            select(_messages.c.id, _messages.c.sent_at)
            .select_from(_messages.join(_message_media, _message_media.c.message_id == _messages.c.id))
            .where(
                (_messages.c.chat_id == chat_id)
                & (_messages.c.sent_at < before)
                & (_message_media.c.state == "stored")
            )
        )
    ).all()
    by_day, waiting = await _synced_days(connection, chat_id, rows, zone, whole_days=False)
    outcome.days_waiting += waiting
    message_ids = [i for ids in by_day.values() for i in ids]
    if not message_ids:
        return []
    hashes: set[str] = set()
    for chunk in _chunks(message_ids):
        hashes |= await _hashes_of(connection, chunk)
        removed: Any = await connection.execute(
            update(_message_media)
            .where(_message_media.c.message_id.in_(chunk) & (_message_media.c.state == "stored"))
            .values(state=MEDIA_REMOVED, sha256=None, updated_at=utcnow())
        )
        outcome.attachments += int(removed.rowcount or 0)
        await mark_changed(connection, chunk)  # an open chat view shows "removed by retention"
    return await _drop_unused_blobs(connection, hashes)


def _chunks(ids: list[T]) -> list[list[T]]:
    """Bounded IN lists: databases cap the parameters of one statement."""
    return [ids[start : start + CHUNK] for start in range(0, len(ids), CHUNK)]


async def _hashes_of(connection: AsyncConnection, message_ids: list[int]) -> set[str]:
    rows = await connection.execute(
        select(_message_media.c.sha256).where(
            _message_media.c.message_id.in_(message_ids) & _message_media.c.sha256.is_not(None)
        )
    )
    return {str(h) for h in rows.scalars()}


async def _drop_unused_blobs(connection: AsyncConnection, hashes: set[str]) -> list[str]:
    """Blobs no message uses any more (in any company: a file is stored once by its hash); their files."""
    paths: list[str] = []
    for chunk in _chunks(sorted(hashes)):
        still_used = select(_message_media.c.sha256).where(_message_media.c.sha256.in_(chunk))
        unused = and_(_blobs.c.sha256.in_(chunk), _blobs.c.sha256.not_in(still_used))
        found = (await connection.execute(select(_blobs.c.path).where(unused))).scalars()
        paths += [str(p) for p in found if p]
        await connection.execute(delete(_blobs).where(unused))
    await list_deletions(connection, paths)
    return paths
