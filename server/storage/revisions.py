"""Change numbers, so an open chat view learns which of the messages it shows changed since it last asked.

Every path that changes how a stored message shows (an edit, a deletion, a reaction, a delivery tick, a
quote, a call's line, a downloaded file) calls ``mark_changed`` inside its own transaction: the chat's
``revision`` goes up by one and the changed messages take the new number. The chat's row stays locked
until the commit, so the numbers of one chat are handed out in commit order: whoever read revision N has
every change numbered N or lower committed. A counter, not a time: two changes in one second (or one
clock tick) still get two numbers.

Locks are taken messages first, then chats, each in id order, the order of every writer of messages (a
writer changes its message, then numbers it), so two writers never wait on each other in a circle.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from server.storage.tables import Chat, Message, table_of

_messages = table_of(Message)
_chats = table_of(Chat)


async def mark_changed(connection: AsyncConnection, message_ids: Iterable[int]) -> None:
    """Number the change of these messages: one new revision for each chat they are in."""
    ids = sorted({int(message_id) for message_id in message_ids})
    if not ids:
        return
    locked = await connection.execute(
        select(_messages.c.id, _messages.c.chat_id)
        .where(_messages.c.id.in_(ids))
        .order_by(_messages.c.id)
        .with_for_update()
    )
    by_chat: dict[int, list[int]] = {}
    for message_id, chat_id in locked.all():
        by_chat.setdefault(int(chat_id), []).append(int(message_id))
    for chat_id in sorted(by_chat):
        revision = (
            await connection.execute(
                update(_chats)
                .where(_chats.c.id == chat_id)
                .values(revision=_chats.c.revision + 1)
                .returning(_chats.c.revision)
            )
        ).scalar_one()
        await connection.execute(
            update(_messages).where(_messages.c.id.in_(by_chat[chat_id])).values(revision=revision)
        )
