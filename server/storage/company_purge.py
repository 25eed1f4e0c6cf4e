"""Deleting everything WaPipe holds about one company, in one transaction.

The rows to delete are found through the schema's foreign keys: the company row, every row whose foreign
key points at it, every row pointing at those, and so on (installations, settings, WhatsApp accounts, their
chats, messages, and whatever later tables hang off them). Webhook deliveries are tied to a session by
name, not by a foreign key, so they are matched on the company's sessions explicitly. Children go before
parents; if a table outside this schema still points at the company, the database refuses and nothing
is deleted.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Table, delete, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from server.storage.tables import Company, InboundEvent, WhatsAppAccount

_company = Company.__table__  # type: ignore[attr-defined]
_accounts = WhatsAppAccount.__table__  # type: ignore[attr-defined]
_events = InboundEvent.__table__  # type: ignore[attr-defined]


def _owned_rows(company_id: int) -> list[tuple[Table, ColumnElement[bool]]]:
    """Each table holding the company's rows with the condition selecting them, parents first."""
    conditions: dict[Table, ColumnElement[bool]] = {_company: _company.c.id == company_id}
    ordered: list[tuple[Table, ColumnElement[bool]]] = [(_company, conditions[_company])]
    for table in SQLModel.metadata.sorted_tables:
        if table is _company:
            continue
        links = [
            key.parent.in_(select(key.column).where(conditions[key.column.table]))
            for key in table.foreign_keys
            if key.column.table in conditions and key.column.table is not table
        ]
        if links:
            conditions[table] = or_(*links)
            ordered.append((table, conditions[table]))
    return ordered


async def purge_company(engine: AsyncEngine, company_id: int) -> dict[str, int]:
    """Delete the company and everything it owns; the number of rows deleted per table."""
    counts: dict[str, int] = {}
    sessions = select(_accounts.c.transport, _accounts.c.session_name).where(
        _accounts.c.company_id == company_id
    )
    async with engine.begin() as connection:
        result: Any = await connection.execute(
            delete(_events).where(tuple_(_events.c.transport, _events.c.session_name).in_(sessions))
        )
        counts[_events.name] = int(result.rowcount or 0)
        for table, condition in reversed(_owned_rows(company_id)):
            result = await connection.execute(delete(table).where(condition))
            counts[table.name] = counts.get(table.name, 0) + int(result.rowcount or 0)
    return counts
