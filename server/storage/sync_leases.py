"""Chat leases: one sync run at a time per chat, held on the chat's link until released or expired."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.sync import SyncChat
from server.storage.chat_links import ensure_link
from server.storage.tables import table_of
from server.storage.tables_sync import SyncChatLink, SyncIntent

_links = table_of(SyncChatLink)
_intents = table_of(SyncIntent)


class LeaseRows:
    _engine: AsyncEngine

    async def acquire_chat(self, chat: SyncChat, *, owner: str, lease: timedelta, now: datetime) -> bool:
        """Lease the chat's link for ``owner``; the link is created first when the chat has none yet (the
        usual run is one statement)."""
        free = or_(_links.c.lease_until.is_(None), _links.c.lease_until <= now, _links.c.lease_owner == owner)
        claim = (
            update(_links)
            .where((_links.c.chat_id == chat.id) & free)
            .values(lease_owner=owner, lease_until=now + lease)
        )
        async with self._engine.begin() as connection:
            if (await connection.execute(claim)).rowcount == 1:
                return True
            held = (
                await connection.execute(select(_links.c.chat_id).where(_links.c.chat_id == chat.id))
            ).first()
            if held is not None:
                return False  # leased by another run
            await ensure_link(self._engine, connection, chat)
            return bool((await connection.execute(claim)).rowcount == 1)

    async def renew_chat(self, chat_id: int, *, owner: str, until: datetime) -> bool:
        """Extend the chat's lease and the creates in flight under the same owner (one run's)."""
        async with self._engine.begin() as connection:
            renewed = await connection.execute(
                update(_links)
                .where((_links.c.chat_id == chat_id) & (_links.c.lease_owner == owner))
                .values(lease_until=until)
            )
            if renewed.rowcount != 1:
                return False  # no longer the run's: nor are its creates
            await connection.execute(
                update(_intents)
                .where(
                    (_intents.c.lease_owner == owner)
                    & (_intents.c.state == "pending")
                    & _intents.c.lease_until.is_not(None)
                )
                .values(lease_until=until)
            )
        return True

    async def abandoned_chats(self, now: datetime, limit: int = 500) -> list[int]:
        """Leases that ran out unreleased (a run releases its chat however it ends, unless killed)."""
        query = (
            select(_links.c.chat_id)
            .where((_links.c.lease_owner != "") & (_links.c.lease_until <= now))
            .order_by(_links.c.lease_until)
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            return [int(row[0]) for row in (await connection.execute(query)).all()]

    async def release_chat(self, chat_id: int, *, owner: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(_links)
                .where((_links.c.chat_id == chat_id) & (_links.c.lease_owner == owner))
                .values(lease_owner="", lease_until=None)
            )
