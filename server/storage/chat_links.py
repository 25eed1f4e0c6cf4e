"""Chat links: what each chat is linked to in Pipedrive (Person, Deal or Lead, how it matched) and how
far the engine has read it; a merged ``@lid`` chat's link and days are adopted by the chat it joined."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.domain.sync import ChatLink, DealSource, LinkState, SyncChat
from server.storage.dialect import upsert_insert
from server.storage.tables import table_of, utcnow
from server.storage.tables_sync import SyncChatLink, SyncDayActivity

_links = table_of(SyncChatLink)
_days = table_of(SyncDayActivity)

ADOPTED_PART_OFFSET = 1000  # parts of a merged-away chat's day that collide: beyond any rendered part
# What a chat that had no Person takes over from the merged-away chat's link.
_ADOPTED_COLUMNS = (
    "state",
    "person_id",
    "person_name",
    "rule",
    "alternatives",
    "deal_id",
    "lead_id",
    "deal_source",
    "pinned_deal_id",
    "deal_checked",
    "person_link_url",
    "deal_link_url",
    "excluded",
)


def _link(row: Any) -> ChatLink:
    return ChatLink(
        chat_id=row["chat_id"],
        account_id=row["account_id"],
        company_id=row["company_id"],
        chat_key=row["chat_key"],
        state=LinkState(row["state"]),
        person_id=row["person_id"],
        person_name=row["person_name"],
        rule=row["rule"],
        alternatives=tuple(int(p) for p in row["alternatives"].split(",") if p),
        deal_id=row["deal_id"],
        lead_id=row["lead_id"],
        deal_source=DealSource(row["deal_source"]),
        pinned_deal_id=row["pinned_deal_id"],
        deal_checked=bool(row["deal_checked"]),
        person_link_url=row["person_link_url"],
        deal_link_url=row["deal_link_url"],
        excluded=bool(row["excluded"]),
        searched_at=row["searched_at"],
        cursor=row["cursor"],
        adopted_lid=row["adopted_lid"],
    )


def _link_values(link: ChatLink) -> dict[str, Any]:
    return {
        "state": link.state.value,
        "person_id": link.person_id,
        "person_name": link.person_name[:255],
        "rule": link.rule,
        "alternatives": ",".join(str(p) for p in link.alternatives[:50]),
        "deal_id": link.deal_id,
        "lead_id": link.lead_id,
        "deal_source": link.deal_source.value,
        "pinned_deal_id": link.pinned_deal_id,
        "deal_checked": link.deal_checked,
        "person_link_url": link.person_link_url[:255],
        "deal_link_url": link.deal_link_url[:255],
        "excluded": link.excluded,
        "searched_at": link.searched_at,
        "updated_at": utcnow(),
    }


async def ensure_link(engine: AsyncEngine, connection: AsyncConnection, chat: SyncChat) -> None:
    """Create the chat's link unless it has one, and keep its chat key the chat's."""
    await connection.execute(
        upsert_insert(engine, _links)
        .values(
            chat_id=chat.id,
            account_id=chat.account_id,
            company_id=chat.company_id,
            chat_key=chat.chat_key,
            updated_at=utcnow(),
        )
        .on_conflict_do_nothing()
    )
    await connection.execute(
        update(_links)
        .where((_links.c.chat_id == chat.id) & (_links.c.chat_key != chat.chat_key))
        .values(chat_key=chat.chat_key)
    )


class LinkRows:
    _engine: AsyncEngine

    async def link(self, chat: SyncChat) -> ChatLink:
        """The chat's link, created on first use; a merged ``@lid`` chat's link and days are adopted."""
        query = select(_links).where(_links.c.chat_id == chat.id)
        async with self._engine.begin() as connection:
            row = (await connection.execute(query)).mappings().first()
            if row is None or row["chat_key"] != chat.chat_key:  # the usual case reads one row, writes none
                await ensure_link(self._engine, connection, chat)
                row = (await connection.execute(query)).mappings().one()
            if chat.lid and row["adopted_lid"] != chat.lid:
                await _adopt(connection, chat, row)
                row = (await connection.execute(query)).mappings().one()
        return _link(row)

    async def save_link(self, link: ChatLink) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(_links).where(_links.c.chat_id == link.chat_id).values(**_link_values(link))
            )

    async def link_by_chat(self, chat_id: int) -> ChatLink | None:
        async with self._engine.connect() as connection:
            row = (
                (await connection.execute(select(_links).where(_links.c.chat_id == chat_id)))
                .mappings()
                .first()
            )
        return _link(row) if row else None

    async def chats_linked_to(self, company_id: int, person_id: int) -> list[int]:
        """The company's chats whose link names ``person_id`` (whatever their state)."""
        query = (
            select(_links.c.chat_id)
            .where((_links.c.company_id == company_id) & (_links.c.person_id == person_id))
            .order_by(_links.c.chat_id)
        )
        async with self._engine.connect() as connection:
            return [int(chat_id) for chat_id in (await connection.execute(query)).scalars()]


async def _adopt(connection: AsyncConnection, chat: SyncChat, row: Any) -> None:
    """Take over what was synced for the ``@lid`` chat merged into this one, then rescan every message
    once (merged messages keep their ids, which may be below this chat's cursor)."""
    assert chat.lid is not None
    old = (
        (
            await connection.execute(
                select(_links).where(
                    (_links.c.account_id == chat.account_id)
                    & (_links.c.chat_key == chat.lid)
                    & (_links.c.chat_id != chat.id)
                )
            )
        )
        .mappings()
        .first()
    )
    values: dict[str, Any] = {"adopted_lid": chat.lid, "cursor": 0}
    if old is not None:
        if row["person_id"] is None and old["person_id"] is not None:
            values.update({key: old[key] for key in _ADOPTED_COLUMNS})
        mine = {
            (d, p)
            for d, p in (
                await connection.execute(select(_days.c.day, _days.c.part).where(_days.c.chat_id == chat.id))
            ).all()
        }
        their_days = select(_days).where(_days.c.chat_id == old["chat_id"])
        theirs = (await connection.execute(their_days)).mappings().all()
        for day_row in theirs:
            part = day_row["part"]
            if (day_row["day"], part) in mine:
                part += ADOPTED_PART_OFFSET  # written again from this chat; the extra part is deleted
            await connection.execute(
                update(_days)
                .where(_days.c.id == day_row["id"])
                .values(chat_id=chat.id, part=part, dirty=True, dirty_since=utcnow())
            )
        await connection.execute(_links.delete().where(_links.c.chat_id == old["chat_id"]))
    await connection.execute(update(_links).where(_links.c.chat_id == chat.id).values(**values))
