"""Sync problems for the company's admins (counted, not repeated), and companies deferred until their
Pipedrive budget resets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.sync import SyncProblem
from server.storage.dialect import upsert_insert
from server.storage.tables import table_of, utcnow
from server.storage.tables_sync import SyncCompanyState, SyncProblemRow

_problems = table_of(SyncProblemRow)
_state = table_of(SyncCompanyState)


class ProblemRows:
    _engine: AsyncEngine

    async def record_problem(self, problem: SyncProblem) -> None:
        """Store a permanent failure for admins; the same open problem is counted, not repeated."""
        now = utcnow()
        same = (
            (_problems.c.company_id == problem.company_id)
            & (
                _problems.c.chat_id == problem.chat_id
                if problem.chat_id is not None
                else _problems.c.chat_id.is_(None)
            )
            & (_problems.c.reason == problem.reason)
            & _problems.c.resolved_at.is_(None)
        )
        async with self._engine.begin() as connection:
            counted = await connection.execute(
                update(_problems)
                .where(same)
                .values(
                    occurrences=_problems.c.occurrences + 1, last_seen_at=now, detail=problem.detail[:1000]
                )
            )
            if counted.rowcount == 0:
                await connection.execute(
                    _problems.insert().values(
                        company_id=problem.company_id,
                        chat_id=problem.chat_id,
                        reason=problem.reason[:64],
                        detail=problem.detail[:1000],
                        created_at=now,
                        last_seen_at=now,
                    )
                )

    async def open_problems(self, company_id: int) -> list[SyncProblem]:
        query = select(_problems).where(
            (_problems.c.company_id == company_id) & _problems.c.resolved_at.is_(None)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query.order_by(_problems.c.id))).mappings().all()
        return [SyncProblem(r["company_id"], r["chat_id"], r["reason"], r["detail"]) for r in rows]

    async def resolve_problems(self, company_id: int, chat_id: int) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(_problems)
                .where(
                    (_problems.c.company_id == company_id)
                    & (_problems.c.chat_id == chat_id)
                    & _problems.c.resolved_at.is_(None)
                )
                .values(resolved_at=utcnow())
            )

    # deferral ----------------------------------------------------------------------------------------
    async def defer_company(self, company_id: int, until: datetime, reason: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                upsert_insert(self._engine, _state)
                .values(
                    company_id=company_id, deferred_until=until, defer_reason=reason[:64], updated_at=utcnow()
                )
                .on_conflict_do_update(
                    index_elements=["company_id"], set_={"deferred_until": until, "defer_reason": reason[:64]}
                )
            )

    async def deferred_until(self, company_id: int) -> datetime | None:
        query = select(_state.c.deferred_until).where(_state.c.company_id == company_id)
        async with self._engine.connect() as connection:
            value = (await connection.execute(query)).scalar()
        return value if isinstance(value, datetime) else None
