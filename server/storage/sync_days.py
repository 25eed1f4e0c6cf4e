"""Messages as the sync engine reads them, and the day-activity rows (dirty flags, parts, hashes)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import case, delete, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.sync import DayPart, DirtyDay, SyncMessage
from server.domain.whatsapp import MessageOrigin
from server.storage.dialect import upsert_insert
from server.storage.quotes import QUOTE_COLUMNS, quote_from_row, with_quote
from server.storage.tables import Message, UtcDateTime, table_of, utcnow
from server.storage.tables_sync import SyncChatLink, SyncDayActivity

_messages = table_of(Message)
_days = table_of(SyncDayActivity)
_links = table_of(SyncChatLink)


def message_columns() -> list[Any]:
    m = _messages.c
    return [
        m.id,
        m.chat_id,
        m.message_key,
        m.from_me,
        m.sender_key,
        m.sender_name,
        m.text,
        m.media_kind,
        m.media_filename,
        m.media_mime,
        m.media_locator,
        m.sent_at,
        m.edited_at,
        m.revoked_at,
        m.details,
        m.origin,
        m.created_at,
    ]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def sync_message(row: Any) -> SyncMessage:
    sent_at = _aware(row["sent_at"])
    live = row["origin"] == MessageOrigin.LIVE.value and row["created_at"] is not None
    return SyncMessage(
        id=row["id"],
        chat_id=row["chat_id"],
        key=row["message_key"],
        from_me=bool(row["from_me"]),
        sender_key=row["sender_key"],
        sender_name=row["sender_name"],
        text=row["text"],
        media_kind=row["media_kind"],
        media_filename=row["media_filename"],
        media_mime=row["media_mime"],
        media_locator=row["media_locator"],
        sent_at=sent_at,
        edited=row["edited_at"] is not None,
        deleted=row["revoked_at"] is not None,
        details=row["details"] or "",
        received_at=_aware(row["created_at"]) if live else None,
    )


def _part(row: Any) -> DayPart:
    return DayPart(
        chat_id=row["chat_id"],
        day=row["day"],
        part=row["part"],
        activity_id=row["activity_id"],
        rendered_hash=row["rendered_hash"],
        dirty=bool(row["dirty"]),
        dirty_since=row["dirty_since"],
        version=row["version"],
        generation=row["generation"],
    )


class DayRows:
    _engine: AsyncEngine

    async def messages_after(self, chat_id: int, cursor: int) -> list[SyncMessage]:
        query = select(*message_columns()).where((_messages.c.chat_id == chat_id) & (_messages.c.id > cursor))
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query.order_by(_messages.c.id))).mappings()
            return [sync_message(row) for row in rows]

    async def has_unseen_messages(self, chat_id: int, cursor: int) -> bool:
        query = select(func.count()).where((_messages.c.chat_id == chat_id) & (_messages.c.id > cursor))
        async with self._engine.connect() as connection:
            return bool((await connection.execute(query)).scalar())

    async def messages_between(self, chat_id: int, start: datetime, end: datetime) -> list[SyncMessage]:
        m = _messages.c
        query = (
            select(*message_columns(), *QUOTE_COLUMNS)
            .select_from(with_quote(_messages))
            .where((m.chat_id == chat_id) & (m.sent_at >= start) & (m.sent_at < end))
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query.order_by(m.sent_at, m.id))).mappings()
            return [replace(sync_message(row), quote=quote_from_row(row)) for row in rows]

    async def mark_days_dirty(
        self,
        chat_id: int,
        days: Iterable[date],
        *,
        now: datetime,
        cursor: int | None,
        arrived: Mapping[date, datetime] | None = None,
    ) -> None:
        """Mark part 1 of each day dirty (created if new) and, in the same transaction, move the cursor;
        ``arrived``: the day's oldest new live message's arrival, kept unless an older one waits."""
        arrived = arrived or {}
        async with self._engine.begin() as connection:
            for day in sorted(set(days)):
                await connection.execute(
                    upsert_insert(self._engine, _days)
                    .values(
                        chat_id=chat_id,
                        day=day,
                        part=1,
                        dirty=True,
                        dirty_since=now,
                        version=1,
                        updated_at=now,
                    )
                    .on_conflict_do_nothing(index_elements=["chat_id", "day", "part"])
                )
                values: dict[str, Any] = {
                    "dirty": True,
                    "dirty_since": func.coalesce(_days.c.dirty_since, now),
                    "version": _days.c.version + 1,
                    "updated_at": now,
                }
                since = arrived.get(day)
                if since is not None:
                    waiting = _days.c.waiting_since
                    moment = literal(since, UtcDateTime())
                    values["waiting_since"] = case(
                        (waiting.is_(None) | (waiting > moment), moment), else_=waiting
                    )
                await connection.execute(
                    update(_days)
                    .where((_days.c.chat_id == chat_id) & (_days.c.day == day) & (_days.c.part == 1))
                    .values(**values)
                )
            if cursor is not None:
                await connection.execute(
                    update(_links)
                    .where((_links.c.chat_id == chat_id) & (_links.c.cursor < cursor))
                    .values(cursor=cursor)
                )

    async def mark_written_days_dirty(self, chat_id: int, *, now: datetime) -> None:
        """Every day already written must be written again (the link changed)."""
        query = select(_days.c.day).where(_days.c.chat_id == chat_id).distinct()
        async with self._engine.connect() as connection:
            days = [row[0] for row in (await connection.execute(query)).all()]
        await self.mark_days_dirty(chat_id, days, now=now, cursor=None)

    async def has_dirty_days(self, chat_id: int, *, due_before: datetime) -> bool:
        query = select(func.count()).where(
            (_days.c.chat_id == chat_id) & _days.c.dirty & (_days.c.dirty_since <= due_before)
        )
        async with self._engine.connect() as connection:
            return bool((await connection.execute(query)).scalar())

    async def dirty_days(self, chat_id: int, *, due_before: datetime) -> list[DirtyDay]:
        """The chat's dirty days whose first change is older than ``due_before``."""
        query = (
            select(_days.c.day, _days.c.version, _days.c.waiting_since)
            .where((_days.c.chat_id == chat_id) & _days.c.dirty & (_days.c.dirty_since <= due_before))
            .order_by(_days.c.day)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [
            DirtyDay(day, version, None if since is None else _aware(since)) for day, version, since in rows
        ]

    async def clear_dirty(self, chat_id: int, day: date, version: int) -> None:
        """Clear the day's flag unless it changed since ``version`` was read (then it stays dirty)."""
        async with self._engine.begin() as connection:
            await connection.execute(
                update(_days)
                .where(
                    (_days.c.chat_id == chat_id)
                    & (_days.c.day == day)
                    & (_days.c.part == 1)
                    & (_days.c.version == version)
                )
                .values(dirty=False, dirty_since=None, waiting_since=None, updated_at=utcnow())
            )

    async def clear_all_dirty(self, chat_id: int) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(_days)
                .where((_days.c.chat_id == chat_id) & _days.c.dirty)
                .values(dirty=False, dirty_since=None, waiting_since=None)
            )

    async def day_parts(self, chat_id: int, day: date) -> list[DayPart]:
        query = (
            select(_days).where((_days.c.chat_id == chat_id) & (_days.c.day == day)).order_by(_days.c.part)
        )
        async with self._engine.connect() as connection:
            return [_part(row) for row in (await connection.execute(query)).mappings()]

    async def save_part(self, part: DayPart) -> None:
        now = utcnow()
        values = {
            "activity_id": part.activity_id,
            "rendered_hash": part.rendered_hash,
            "generation": part.generation,
            "updated_at": now,
        }
        async with self._engine.begin() as connection:
            await connection.execute(
                upsert_insert(self._engine, _days)
                .values(chat_id=part.chat_id, day=part.day, part=part.part, dirty=False, version=0, **values)
                .on_conflict_do_update(index_elements=["chat_id", "day", "part"], set_=values)
            )

    async def drop_part(self, chat_id: int, day: date, part: int) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                delete(_days).where(
                    (_days.c.chat_id == chat_id) & (_days.c.day == day) & (_days.c.part == part)
                )
            )

    async def all_parts(self, chat_id: int) -> list[DayPart]:
        query = select(_days).where(_days.c.chat_id == chat_id).order_by(_days.c.day, _days.c.part)
        async with self._engine.connect() as connection:
            return [_part(row) for row in (await connection.execute(query)).mappings()]
