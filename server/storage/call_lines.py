"""A call is one line: the missed call stored when it rang gives way to the answered one.

WAHA reports a call as it rings (``call.received``) and again when it is answered (``call.accepted``),
both under the call's id, so both arrive as the same message. The first one stored wins for any other
message; for a call, an answered line replaces a missed one (never the other way round, whatever order
the events arrive in). The row keeps its id; the chat's sync cursor is moved back before it, so the sync
folds it in again and writes its day anew.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.message_kinds import Call, decode, encode
from server.domain.whatsapp import InboundMessage
from server.storage.revisions import mark_changed
from server.storage.tables import Message, table_of, utcnow
from server.storage.tables_sync import SyncChatLink

_messages = table_of(Message)
_links = table_of(SyncChatLink)


async def answer_missed_call(engine: AsyncEngine, account_id: int, message: InboundMessage) -> bool:
    """Whether ``message`` is an answered call whose stored line said missed; that line now says answered."""
    if not isinstance(message.details, Call) or message.details.missed:
        return False
    where = (_messages.c.account_id == account_id) & (_messages.c.message_key == message.key)
    columns = (_messages.c.id, _messages.c.chat_id, _messages.c.details)
    async with engine.begin() as connection:
        stored = (await connection.execute(select(*columns).where(where))).first()
        if stored is None:
            return False
        held = decode(stored.details)
        if not isinstance(held, Call) or not held.missed:
            return False
        await connection.execute(
            update(_messages)
            .where((_messages.c.id == stored.id) & (_messages.c.details == stored.details))
            .values(details=encode(message.details), updated_at=utcnow())
        )
        await mark_changed(connection, [stored.id])
        await connection.execute(
            update(_links)
            .where((_links.c.chat_id == stored.chat_id) & (_links.c.cursor >= stored.id))
            .values(cursor=stored.id - 1)
        )
    return True
