"""A stored message's shared contacts, read within one company (the create-Person action's input)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.message_kinds import SharedContacts, decode
from server.storage.tables import Message, WhatsAppAccount, table_of

_accounts = table_of(WhatsAppAccount)
_messages = table_of(Message)


@dataclass(frozen=True, slots=True)
class SharedContactsMessage:
    message_id: int
    chat_id: int
    number_owner_id: int  # the Pipedrive user whose WhatsApp number the card came in on
    contacts: SharedContacts


async def shared_contacts(
    engine: AsyncEngine, company_id: int, message_id: int, *, chat_id: int | None = None
) -> SharedContactsMessage | None:
    """The company's message with shared contacts (in ``chat_id`` when given); ``None`` for another
    company's message, one without contacts, or one its sender deleted."""
    query = (
        select(_messages.c.chat_id, _messages.c.details, _messages.c.revoked_at, _accounts.c.owner_user_id)
        .select_from(_messages.join(_accounts, _accounts.c.id == _messages.c.account_id))
        .where(_accounts.c.company_id == company_id, _messages.c.id == message_id)
    )
    if chat_id is not None:
        query = query.where(_messages.c.chat_id == chat_id)
    async with engine.connect() as connection:
        row = (await connection.execute(query)).mappings().first()
    if row is None or row["revoked_at"] is not None:
        return None
    details = decode(row["details"])
    if not isinstance(details, SharedContacts):
        return None
    return SharedContactsMessage(message_id, int(row["chat_id"]), int(row["owner_user_id"]), details)
