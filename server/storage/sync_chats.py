"""Chats as the sync engine sees them (with their account and company), and the chats the watchdog and
the batch flush look for."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.sync import SyncChat
from server.storage.tables import Chat, Message, WhatsAppAccount, table_of
from server.storage.tables_sync import SyncChatLink, SyncDayActivity
from server.storage.times import required_time

_chats = table_of(Chat)
_accounts = table_of(WhatsAppAccount)
_links = table_of(SyncChatLink)
_days = table_of(SyncDayActivity)
_messages = table_of(Message)


def _chat_query() -> Any:
    return select(
        _chats.c.id,
        _chats.c.account_id,
        _accounts.c.company_id,
        _accounts.c.session_name,
        _accounts.c.transport,
        _accounts.c.owner_user_id,
        _accounts.c.e164.label("account_e164"),
        _chats.c.chat_key,
        _chats.c.e164,
        _chats.c.lid,
        _chats.c.is_group,
        _chats.c.display_name,
    ).select_from(_chats.join(_accounts, _accounts.c.id == _chats.c.account_id))


def _sync_chat(row: Any) -> SyncChat:
    return SyncChat(
        id=row["id"],
        account_id=row["account_id"],
        company_id=row["company_id"],
        session_name=row["session_name"],
        transport=row["transport"],
        owner_user_id=row["owner_user_id"],
        account_e164=row["account_e164"],
        chat_key=row["chat_key"],
        e164=row["e164"],
        lid=row["lid"],
        is_group=bool(row["is_group"]),
        display_name=row["display_name"] or "",
    )


class ChatRows:
    _engine: AsyncEngine

    async def chat(self, chat_id: int) -> SyncChat | None:
        async with self._engine.connect() as connection:
            row = (await connection.execute(_chat_query().where(_chats.c.id == chat_id))).mappings().first()
        return _sync_chat(row) if row else None

    async def chat_by_key(self, account_id: int, chat_key: str) -> SyncChat | None:
        query = _chat_query().where((_chats.c.account_id == account_id) & (_chats.c.chat_key == chat_key))
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        return _sync_chat(row) if row else None

    async def successor_chat(self, chat_id: int) -> int | None:
        """The chat a merged-away (``@lid``) chat now lives in, found through its link's chat key."""
        async with self._engine.connect() as connection:
            link = (
                (await connection.execute(select(_links).where(_links.c.chat_id == chat_id)))
                .mappings()
                .first()
            )
            if link is None:
                return None
            query = select(_chats.c.id).where(
                (_chats.c.account_id == link["account_id"]) & (_chats.c.lid == link["chat_key"])
            )
            found = (await connection.execute(query)).scalar()
        return int(found) if found is not None else None

    # what the watchdog and the batch flush look for -------------------------------------------------------
    async def chats_behind(self, limit: int = 500) -> list[int]:
        """Chats with stored messages the engine has not folded in yet (or never saw)."""
        newest = (
            select(_messages.c.chat_id, func.max(_messages.c.id).label("newest"))
            .group_by(_messages.c.chat_id)
            .subquery()
        )
        query = (
            select(newest.c.chat_id)
            .select_from(newest.outerjoin(_links, _links.c.chat_id == newest.c.chat_id))
            .where(_links.c.chat_id.is_(None) | (_links.c.cursor < newest.c.newest))
            .order_by(newest.c.chat_id)
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            return [int(row[0]) for row in (await connection.execute(query)).all()]

    async def dirty_chats(
        self, *, due_before: datetime, company_id: int | None = None, limit: int = 500
    ) -> list[tuple[int, int, datetime]]:
        """``(chat id, company id, oldest dirty change)`` of chats with a day waiting to be written (of
        one company when ``company_id`` is given)."""
        query = (
            select(_days.c.chat_id, _links.c.company_id, func.min(_days.c.dirty_since))
            .select_from(_days.join(_links, _links.c.chat_id == _days.c.chat_id))
            .where(_days.c.dirty & (_days.c.dirty_since <= due_before))
            .group_by(_days.c.chat_id, _links.c.company_id)
            .order_by(func.min(_days.c.dirty_since))
            .limit(limit)
        )
        if company_id is not None:
            query = query.where(_links.c.company_id == company_id)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [(int(r[0]), int(r[1]), required_time(r[2])) for r in rows]
