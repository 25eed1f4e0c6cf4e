"""Reactions to stored messages: applied once each, in the order they happened, whatever order they come in.

One row per (message, person). A newer reaction replaces an older one (within one second, the one that
arrives later); removing a reaction keeps the row with ``emoji`` "" so an older reaction arriving late
cannot bring it back. A reaction to a message that is not stored starts no chat: it waits for that message
(``server.storage.waiting_changes``). Each change queues the days it shows on: the day of the reaction,
and the day of the reaction it replaced.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.domain.message_changes import AppliedChange, Reacted, ReactionLine
from server.domain.quotes import quote_of
from server.storage.dialect import upsert_insert
from server.storage.revisions import mark_changed
from server.storage.tables import Chat, Message, table_of, utcnow
from server.storage.tables_changes import MessageChange, MessageReaction
from server.storage.times import required_time

Reactions = tuple[tuple[str, bool, str], ...]  # (emoji, from me, reactor name), oldest first

_messages = table_of(Message)
_chats = table_of(Chat)
_reactions = table_of(MessageReaction)
_changes = table_of(MessageChange)


async def apply_reaction(engine: AsyncEngine, account_id: int, reaction: Reacted) -> AppliedChange | None:
    """Store ``reaction`` on the message it names; ``None`` when that message is not stored."""
    target = select(_messages.c.id, _messages.c.chat_id).where(
        (_messages.c.account_id == account_id) & _messages.c.message_key.in_(reaction.target_keys())
    )
    async with engine.begin() as connection:
        message = (await connection.execute(target.order_by(_messages.c.id).limit(1))).first()
        if message is None:
            return None
        message_id, chat_id = int(message[0]), int(message[1])
        mine = (_reactions.c.message_id == message_id) & (_reactions.c.reactor_key == reaction.reactor_key)
        held = (
            await connection.execute(select(_reactions.c.emoji, _reactions.c.reacted_at).where(mine))
        ).first()
        name = reaction.reactor_name or (
            "" if reaction.from_me else await _name(connection, chat_id, reaction)
        )
        values = {
            "emoji": reaction.emoji,
            "reacted_at": reaction.at,
            "reactor_name": name[:255],
            "from_me": reaction.from_me,
        }
        if held is None:
            if not reaction.emoji:
                return AppliedChange(message_id, chat_id, changed=False)  # removing what never arrived
            inserted = await connection.execute(
                upsert_insert(engine, _reactions)
                .values(message_id=message_id, reactor_key=reaction.reactor_key[:128], **values)
                .on_conflict_do_nothing(index_elements=["message_id", "reactor_key"])
                .returning(_reactions.c.id)
            )
            if inserted.scalar() is None:
                return AppliedChange(message_id, chat_id, changed=False)
            days = [reaction.at]
        else:
            held_at = required_time(held[1])
            if held_at > reaction.at or (held_at == reaction.at and held[0] == reaction.emoji):
                return AppliedChange(message_id, chat_id, changed=False)  # older than held, or a repeat
            # Within the same second (the transports' resolution) the later arrival wins.
            newer = (_reactions.c.reacted_at < reaction.at) | (
                (_reactions.c.reacted_at == reaction.at) & (_reactions.c.emoji != reaction.emoji)
            )
            changed = await connection.execute(update(_reactions).where(mine & newer).values(**values))
            if not changed.rowcount:
                return AppliedChange(message_id, chat_id, changed=False)
            days = [required_time(held[1]), reaction.at]
        now = utcnow()
        for day_at in days:
            await connection.execute(
                insert(_changes).values(chat_id=chat_id, message_id=message_id, day_at=day_at, created_at=now)
            )
        await mark_changed(connection, [message_id])
        return AppliedChange(message_id, chat_id, changed=True)


async def _name(connection: AsyncConnection, chat_id: int, reaction: Reacted) -> str:
    """The reactor's name as the chat knows it: the contact's of a 1:1 chat, else the name they last
    wrote under."""
    chat = select(_chats.c.display_name).where(
        (_chats.c.id == chat_id) & (_chats.c.chat_key == reaction.reactor_key)
    )
    wrote = (
        select(_messages.c.sender_name)
        .where(
            (_messages.c.chat_id == chat_id)
            & (_messages.c.sender_key == reaction.reactor_key)
            & (_messages.c.sender_name != "")
        )
        .order_by(_messages.c.id.desc())
        .limit(1)
    )
    for query in (chat, wrote):
        found = (await connection.execute(query)).scalar()
        if found:
            return str(found)
    return ""


async def reactions_between(
    engine: AsyncEngine, chat_id: int, start: datetime, end: datetime
) -> list[ReactionLine]:
    """The chat's reactions made in [start, end), with a quote of the message each is on."""
    query = (
        select(
            _reactions.c.id,
            _reactions.c.reacted_at,
            _reactions.c.from_me,
            _reactions.c.reactor_key,
            _reactions.c.reactor_name,
            _reactions.c.emoji,
            _messages.c.text,
            _messages.c.revoked_at,
            _messages.c.media_kind,
        )
        .select_from(_reactions.join(_messages, _messages.c.id == _reactions.c.message_id))
        .where(
            (_messages.c.chat_id == chat_id)
            & (_reactions.c.emoji != "")
            & (_reactions.c.reacted_at >= start)
            & (_reactions.c.reacted_at < end)
        )
        .order_by(_reactions.c.reacted_at, _reactions.c.id)
    )
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).mappings().all()
    return [
        ReactionLine(
            id=row["id"],
            reacted_at=required_time(row["reacted_at"]),
            from_me=bool(row["from_me"]),
            reactor_key=row["reactor_key"],
            reactor_name=row["reactor_name"] or "",
            emoji=row["emoji"],
            quote=_quote(row),
        )
        for row in rows
    ]


def _quote(row: Any) -> str:
    quote = quote_of(
        reply_to="reacted",
        found=True,
        text=row["text"],
        deleted=row["revoked_at"] is not None,
        media_kind=row["media_kind"],
    )
    assert quote is not None
    return quote


async def reactions_of(engine: AsyncEngine, message_ids: Sequence[int]) -> dict[int, Reactions]:
    """Each message's current reactions as (emoji, from me, reactor name), oldest first."""
    if not message_ids:
        return {}
    query = (
        select(_reactions.c.message_id, _reactions.c.emoji, _reactions.c.from_me, _reactions.c.reactor_name)
        .where(_reactions.c.message_id.in_(list(message_ids)) & (_reactions.c.emoji != ""))
        .order_by(_reactions.c.reacted_at, _reactions.c.id)
    )
    found: dict[int, list[tuple[str, bool, str]]] = {}
    async with engine.connect() as connection:
        for row in (await connection.execute(query)).all():
            found.setdefault(int(row[0]), []).append((row[1], bool(row[2]), row[3] or ""))
    return {message_id: tuple(items) for message_id, items in found.items()}
