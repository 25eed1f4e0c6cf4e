"""The outbox on SQLite or PostgreSQL: one row per idempotency key, whatever the number of clicks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.models import OutboxEntry, OutboxStatus
from server.storage.dialect import upsert_insert
from server.storage.tables import Outbox, table_of, utcnow

_table = table_of(Outbox)


def _entry(row: Any) -> OutboxEntry:
    return OutboxEntry(
        **{**{name: row[name] for name in OutboxEntry.__slots__}, "status": OutboxStatus(row["status"])}
    )


class SqlOutboxStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(
        self,
        *,
        client_ref: str,
        company_id: int,
        account_id: int,
        requested_by: int,
        to_chat: str,
        text: str,
        fingerprint: str,
        person_id: int | None = None,
        deal_id: int | None = None,
        file_id: int | None = None,
        file_name: str = "",
        template_name: str = "",
        template_language: str = "",
        template_parameters: str = "",
    ) -> tuple[OutboxEntry, bool]:
        """Store the request unless its ``client_ref`` is known; (entry, newly stored)."""
        now = utcnow()
        statement = (
            upsert_insert(self._engine, _table)
            .values(
                client_ref=client_ref,
                company_id=company_id,
                account_id=account_id,
                requested_by=requested_by,
                to_chat=to_chat,
                person_id=person_id,
                deal_id=deal_id,
                text=text,
                file_id=file_id,
                file_name=file_name[:255],
                fingerprint=fingerprint,
                template_name=template_name[:512],
                template_language=template_language[:16],
                template_parameters=template_parameters,
                status=OutboxStatus.QUEUED.value,
                attempts=0,
                error_reason="",
                error_message="",
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["client_ref"])
            .returning(_table.c.id)
        )
        async with self._engine.begin() as connection:
            created = (await connection.execute(statement)).scalar() is not None
            row = (
                (await connection.execute(select(_table).where(_table.c.client_ref == client_ref)))
                .mappings()
                .one()
            )
        return _entry(row), created

    async def by_id(self, outbox_id: int) -> OutboxEntry | None:
        """For jobs, which carry ids company-scoped code gave them."""
        return await self._one(_table.c.id == outbox_id)

    async def get(self, company_id: int, outbox_id: int) -> OutboxEntry | None:
        return await self._one((_table.c.company_id == company_id) & (_table.c.id == outbox_id))

    async def for_person(self, company_id: int, person_id: int, *, limit: int = 20) -> list[OutboxEntry]:
        query = (
            select(_table)
            .where(_table.c.company_id == company_id, _table.c.person_id == person_id)
            .order_by(_table.c.id.desc())
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            return [_entry(row) for row in (await connection.execute(query)).mappings()]

    async def start_attempt(self, outbox_id: int, at: datetime) -> None:
        await self._update(
            outbox_id,
            status=OutboxStatus.SENDING.value,
            attempts=_table.c.attempts + 1,
            attempt_started_at=at,
            updated_at=at,
        )

    async def mark_sent(self, outbox_id: int, wa_message_id: str, message_key: str) -> None:
        await self._update(
            outbox_id,
            status=OutboxStatus.SENT.value,
            wa_message_id=wa_message_id[:300],
            message_key=message_key,
            error_reason="",
            error_message="",
            updated_at=utcnow(),
        )

    async def mark_failed(self, outbox_id: int, reason: str, message: str) -> None:
        await self._update(
            outbox_id,
            status=OutboxStatus.FAILED.value,
            error_reason=reason[:64],
            error_message=message[:500],
            updated_at=utcnow(),
        )

    async def stalled(
        self, *, queued_before: datetime, sending_before: datetime, limit: int = 500
    ) -> list[int]:
        """Messages whose send job may have been lost (a queue lost with Redis, a runner killed with jobs
        in its memory): queued since before ``queued_before``, or sending since before ``sending_before``."""
        queued = (_table.c.status == OutboxStatus.QUEUED.value) & (_table.c.created_at < queued_before)
        sending = (_table.c.status == OutboxStatus.SENDING.value) & (
            _table.c.attempt_started_at < sending_before
        )
        query = select(_table.c.id).where(queued | sending).order_by(_table.c.id).limit(limit)
        async with self._engine.connect() as connection:
            return [int(row[0]) for row in (await connection.execute(query)).all()]

    async def _update(self, outbox_id: int, **values: Any) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(update(_table).where(_table.c.id == outbox_id).values(**values))

    async def _one(self, condition: Any) -> OutboxEntry | None:
        async with self._engine.connect() as connection:
            row = (await connection.execute(select(_table).where(condition))).mappings().first()
        return _entry(row) if row else None
