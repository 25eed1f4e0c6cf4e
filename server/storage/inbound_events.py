"""Webhooks as received: stored under a unique key before anything else happens to them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.models import InboundEventState
from server.storage.dialect import upsert_insert
from server.storage.tables import InboundEvent, table_of, utcnow

_table = table_of(InboundEvent)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: int
    transport: str
    event_key: str
    session_name: str
    body: bytes
    state: InboundEventState
    reason: str
    detail: str
    attempts: int
    received_at: datetime


class SqlInboundEventStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record(
        self,
        *,
        transport: str,
        event_key: str,
        session_name: str,
        body: bytes,
        state: InboundEventState = InboundEventState.PENDING,
        reason: str = "",
        detail: str = "",
        received_at: datetime | None = None,
    ) -> tuple[int, bool]:
        """Store the event unless its key is known; returns (id, newly stored). ``received_at``: when it
        reached us, by the process's clock (default: now)."""
        statement = (
            upsert_insert(self._engine, _table)
            .values(
                transport=transport,
                event_key=event_key,
                session_name=session_name,
                body=body,
                state=InboundEventState(state).value,
                reason=reason,
                detail=detail[:1000],
                attempts=0,
                received_at=received_at or utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["event_key"])
            .returning(_table.c.id)
        )
        async with self._engine.begin() as connection:
            new_id = (await connection.execute(statement)).scalar()
            if new_id is not None:
                return int(new_id), True
            existing = await connection.execute(select(_table.c.id).where(_table.c.event_key == event_key))
            return int(existing.scalar_one()), False

    async def get(self, event_id: int) -> StoredEvent | None:
        async with self._engine.connect() as connection:
            row = (await connection.execute(select(_table).where(_table.c.id == event_id))).mappings().first()
        if row is None:
            return None
        fields = {k: row[k] for k in StoredEvent.__slots__}
        return StoredEvent(**{**fields, "state": InboundEventState(row["state"])})

    async def mark(
        self, event_id: int, state: InboundEventState, *, reason: str = "", detail: str = ""
    ) -> None:
        """Record the outcome of processing; counts the attempt.

        A delivery processed in full drops its body: the inbox holds what it said, and the key alone
        recognises a redelivery, so no copy of the message text outlives an erasure or retention. A body
        that could not be used entirely (rejected, failed, an unknown session named in ``detail``) is kept
        for the admin to look into; retention and erasure remove those."""
        state = InboundEventState(state)
        values: dict[str, object] = {
            "state": state.value,
            "reason": reason,
            "detail": detail[:1000],
            "attempts": _table.c.attempts + 1,
            "processed_at": utcnow() if state is not InboundEventState.PENDING else None,
        }
        if state is InboundEventState.PROCESSED and not detail:
            values["body"] = b""
        statement = update(_table).where(_table.c.id == event_id).values(**values)
        async with self._engine.begin() as connection:
            await connection.execute(statement)

    async def pending_ids(self, *, older_than: datetime, limit: int = 500) -> list[int]:
        """Events still waiting (an enqueue that never happened, a worker that died): for the sweeper."""
        query = (
            select(_table.c.id)
            .where(_table.c.state == InboundEventState.PENDING.value, _table.c.received_at < older_than)
            .order_by(_table.c.id)
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            return [int(i) for i in (await connection.execute(query)).scalars()]
