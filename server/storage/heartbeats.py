"""Liveness of WaPipe's processes: each worker and web process records its own beats
(``server.jobs.liveness``), the status page and ``/healthz/workers`` read them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.storage.dialect import upsert_insert
from server.storage.tables import WorkerHeartbeat, table_of, utcnow


class SqlHeartbeatStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._table = table_of(WorkerHeartbeat)

    async def beat(self, name: str, at: datetime | None = None) -> None:
        seen_at = at or utcnow()
        statement = (
            upsert_insert(self._engine, self._table)
            .values(name=name, seen_at=seen_at)
            .on_conflict_do_update(index_elements=["name"], set_={"seen_at": seen_at})
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)

    async def last_seen(self) -> dict[str, datetime]:
        async with self._engine.connect() as connection:
            rows = (await connection.execute(select(self._table.c.name, self._table.c.seen_at))).all()
        return {name: seen_at for name, seen_at in rows}

    async def forget(self, name: str) -> None:
        """A process that stops cleanly leaves the list at once."""
        async with self._engine.begin() as connection:
            await connection.execute(delete(self._table).where(self._table.c.name == name))

    async def forget_silent(self, before: datetime) -> int:
        """Processes silent since before ``before`` (killed long ago) leave the list; how many."""
        async with self._engine.begin() as connection:
            result = await connection.execute(delete(self._table).where(self._table.c.seen_at < before))
        return int(result.rowcount or 0)
