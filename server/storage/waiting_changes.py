"""Edits, deletions and reactions that came before their message: applied, oldest first, once it is stored.

A change naming a message not stored waits in ``waiting_change`` (``apply_message_change`` puts it there),
a reaction in ``waiting_reaction`` (``keep_waiting_reaction``). WAHA's history keeps a message as it was
first sent and leaves reactions out (see docs/waha.md), so when a catch-up later brings that message, the
waiting change is what makes it show edited or deleted (and keeps a deleted text out of Pipedrive), and the
waiting reaction is what shows on it. Both wait up to ``WAITING_FOR``; on their own they start no chat.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.message_changes import AppliedChange, ChangeKind, MessageChanged, Reacted
from server.domain.ports.storage import MediaFiles
from server.storage.dialect import upsert_insert
from server.storage.message_changes import WAITING_FOR, apply_message_change
from server.storage.reactions import apply_reaction
from server.storage.tables import table_of, utcnow
from server.storage.tables_changes import WaitingChange, WaitingReaction
from server.storage.times import required_time

_waiting = table_of(WaitingChange)
_waiting_reactions = table_of(WaitingReaction)


async def apply_waiting_changes(
    engine: AsyncEngine, account_id: int, session: str, message_key: str, *, files: MediaFiles | None = None
) -> list[AppliedChange]:
    """Apply the changes that waited for ``message_key`` (just stored) and forget them (a deleted message's
    attachment file goes from ``files``, as in ``apply_message_change``)."""
    mine = (_waiting.c.account_id == account_id) & (_waiting.c.message_key == message_key[:200])
    query = select(_waiting).where(mine).order_by(_waiting.c.changed_at, _waiting.c.id)
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).mappings().all()
    applied: list[AppliedChange] = []
    for row in rows:
        at = required_time(row["changed_at"])
        kind = ChangeKind(row["kind"])
        change = MessageChanged(
            session,
            row["target_id"],
            row["target_from_me"],
            kind,
            at,
            text=row["text"] if kind is ChangeKind.EDITED else None,
        )
        result = await apply_message_change(engine, account_id, change, waits=False, files=files)
        if result is not None and result.changed:
            applied.append(result)
    if rows:
        async with engine.begin() as connection:
            await connection.execute(delete(_waiting).where(_waiting.c.id.in_([row["id"] for row in rows])))
    return applied + await _apply_waiting_reactions(engine, account_id, session, message_key)


async def keep_waiting_reaction(engine: AsyncEngine, account_id: int, reaction: Reacted) -> None:
    """Keep a reaction to a message not stored until that message comes, under each key it may have (once
    however often the reaction is delivered); reactions that waited longer than ``WAITING_FOR`` go."""
    now = utcnow()
    async with engine.begin() as connection:
        await connection.execute(
            delete(_waiting_reactions).where(
                (_waiting_reactions.c.account_id == account_id)
                & (_waiting_reactions.c.created_at < now - WAITING_FOR)
            )
        )
        for key in reaction.target_keys():
            await connection.execute(
                upsert_insert(engine, _waiting_reactions)
                .values(
                    account_id=account_id,
                    message_key=key[:200],
                    target_id=reaction.target_id[:128],
                    target_from_me=reaction.target_from_me,
                    reactor_key=reaction.reactor_key[:128],
                    reactor_name=(reaction.reactor_name or "")[:255],
                    from_me=reaction.from_me,
                    emoji=reaction.emoji[:64],
                    reacted_at=reaction.at,
                    created_at=now,
                )
                .on_conflict_do_nothing(
                    index_elements=["account_id", "message_key", "reactor_key", "reacted_at"]
                )
            )


async def _apply_waiting_reactions(
    engine: AsyncEngine, account_id: int, session: str, message_key: str
) -> list[AppliedChange]:
    """Apply the reactions that waited for ``message_key``, oldest first, and forget them (under every key
    they waited under)."""
    mine = (_waiting_reactions.c.account_id == account_id) & (
        _waiting_reactions.c.message_key == message_key[:200]
    )
    query = (
        select(_waiting_reactions)
        .where(mine)
        .order_by(_waiting_reactions.c.reacted_at, _waiting_reactions.c.id)
    )
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).mappings().all()
    applied: list[AppliedChange] = []
    for row in rows:
        reaction = Reacted(
            session,
            row["target_id"],
            row["target_from_me"],
            row["reactor_key"],
            bool(row["from_me"]),
            row["emoji"],
            required_time(row["reacted_at"]),
            reactor_name=row["reactor_name"] or None,
        )
        result = await apply_reaction(engine, account_id, reaction)
        if result is not None and result.changed:
            applied.append(result)
    if rows:
        targets = {row["target_id"] for row in rows}
        async with engine.begin() as connection:
            await connection.execute(
                delete(_waiting_reactions).where(
                    (_waiting_reactions.c.account_id == account_id)
                    & _waiting_reactions.c.target_id.in_(targets)
                )
            )
    return applied


async def forget_expired_changes(engine: AsyncEngine, now: datetime) -> int:
    """Give up the changes and reactions that waited longer than ``WAITING_FOR`` (their message never
    came); how many."""
    async with engine.begin() as connection:
        changes = await connection.execute(delete(_waiting).where(_waiting.c.created_at < now - WAITING_FOR))
        reactions = await connection.execute(
            delete(_waiting_reactions).where(_waiting_reactions.c.created_at < now - WAITING_FOR)
        )
    return int(changes.rowcount or 0) + int(reactions.rowcount or 0)
