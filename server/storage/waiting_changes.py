"""Edits and deletions that came before their message: applied, oldest first, once it is stored.

A change naming a message not stored waits in ``waiting_change`` (``apply_message_change`` puts it there).
WAHA's history keeps a message as it was first sent (see docs/waha.md), so when a catch-up later brings
that message, the change is what makes it show edited or deleted, and what keeps a deleted text out of
Pipedrive.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.message_changes import AppliedChange, ChangeKind, MessageChanged
from server.storage.message_changes import WAITING_FOR, apply_message_change
from server.storage.tables import WaitingChange

_waiting = WaitingChange.__table__  # type: ignore[attr-defined]


async def apply_waiting_changes(
    engine: AsyncEngine, account_id: int, session: str, message_key: str
) -> list[AppliedChange]:
    """Apply the changes that waited for ``message_key`` (just stored) and forget them."""
    mine = (_waiting.c.account_id == account_id) & (_waiting.c.message_key == message_key[:200])
    query = select(_waiting).where(mine).order_by(_waiting.c.changed_at, _waiting.c.id)
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).mappings().all()
    applied: list[AppliedChange] = []
    for row in rows:
        at = row["changed_at"] if row["changed_at"].tzinfo else row["changed_at"].replace(tzinfo=UTC)
        kind = ChangeKind(row["kind"])
        change = MessageChanged(
            session,
            row["target_id"],
            row["target_from_me"],
            kind,
            at,
            text=row["text"] if kind is ChangeKind.EDITED else None,
        )
        result = await apply_message_change(engine, account_id, change, waits=False)
        if result is not None and result.changed:
            applied.append(result)
    if rows:
        async with engine.begin() as connection:
            await connection.execute(delete(_waiting).where(_waiting.c.id.in_([row["id"] for row in rows])))
    return applied


async def forget_expired_changes(engine: AsyncEngine, now: datetime) -> int:
    """Give up the changes that waited longer than ``WAITING_FOR`` (their message never came); how many."""
    async with engine.begin() as connection:
        result = await connection.execute(delete(_waiting).where(_waiting.c.created_at < now - WAITING_FOR))
    return int(result.rowcount or 0)
