"""Replies: which stored message a reply answers, and the quote every read of a reply joins in.

A reply names the answered message by its WhatsApp id only (WAHA's ``replyTo.id``, the Cloud API's
``context.id``), without its direction, so both directions are looked up. When the answered message is
stored, the quote follows it (an edit shows its new text, a deletion "This message was deleted");
otherwise the text the transport quoted (``quote_text``) is shown, until the answered message arrives.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import FromClause

from server.domain.errors import InvalidChatId
from server.domain.jids import logical_message_key
from server.domain.quotes import quote_of
from server.domain.whatsapp import InboundMessage
from server.storage.revisions import mark_changed
from server.storage.tables import Message, table_of, utcnow
from server.storage.tables_changes import MessageChange

_messages = table_of(Message)
_changes = table_of(MessageChange)
_quoted = _messages.alias("quoted")

QUOTE_COLUMNS: tuple[ColumnElement[Any], ...] = (
    _messages.c.reply_to_id,
    _messages.c.quote_text,
    _quoted.c.id.label("quoted_id"),
    _quoted.c.text.label("quoted_text"),
    _quoted.c.revoked_at.label("quoted_revoked_at"),
    _quoted.c.media_kind.label("quoted_media_kind"),
)


def with_quote(source: FromClause) -> FromClause:
    """``source`` (which holds ``message``) joined with the message each reply answers."""
    return source.outerjoin(_quoted, _quoted.c.id == _messages.c.reply_to_message_id)


def quote_from_row(row: Any) -> str | None:
    """The quote of a row read with ``QUOTE_COLUMNS``; ``None`` when it answers nothing."""
    return quote_of(
        reply_to=row["reply_to_id"] or "",
        found=row["quoted_id"] is not None,
        text=row["quoted_text"],
        deleted=row["quoted_revoked_at"] is not None,
        media_kind=row["quoted_media_kind"],
        snapshot=row["quote_text"] or "",
    )


async def answered_message(engine: AsyncEngine, account_id: int, message: InboundMessage) -> int | None:
    """The stored message ``message`` replies to, in this account, whichever direction it went."""
    if not message.reply_to:
        return None
    try:
        keys = [
            logical_message_key(message.account_id, message.reply_to, from_me=direction)
            for direction in (False, True)
        ]
    except InvalidChatId:
        return None
    query = select(_messages.c.id).where(
        (_messages.c.account_id == account_id) & _messages.c.message_key.in_(keys)
    )
    async with engine.connect() as connection:
        found = (await connection.execute(query.order_by(_messages.c.id).limit(1))).scalar()
    return int(found) if found is not None else None


async def adopt_replies(
    engine: AsyncEngine, account_id: int, message: InboundMessage
) -> list[tuple[int, int]]:
    """``message`` was just stored: the replies to it stored before it (they can arrive first) now follow
    it instead of the transport's quote. Their (message id, chat id), whose days show the new quote."""
    key = message.key
    async with engine.begin() as connection:
        found = (
            await connection.execute(
                select(_messages.c.id).where(
                    (_messages.c.account_id == account_id) & (_messages.c.message_key == key)
                )
            )
        ).scalar()
        if found is None:
            return []
        waiting = (
            (_messages.c.account_id == account_id)
            & (_messages.c.reply_to_id == message.wa_message_id[:128])
            & _messages.c.reply_to_message_id.is_(None)
        )
        replies = [
            (int(r[0]), int(r[1]))
            for r in await connection.execute(select(_messages.c.id, _messages.c.chat_id).where(waiting))
        ]
        if replies:
            await connection.execute(
                update(_messages).where(waiting).values(reply_to_message_id=found, quote_text="")
            )
            await mark_changed(connection, [reply_id for reply_id, _ in replies])
            now = utcnow()
            for reply_id, chat_id in replies:
                await connection.execute(
                    insert(_changes).values(chat_id=chat_id, message_id=reply_id, created_at=now)
                )
    return replies
