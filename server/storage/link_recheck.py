"""The company's chats that matching linked, for the settings page's re-check list: in pages, by chat id."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.link_recheck import RECHECKED_RULES, MatchedLink
from server.domain.sync import LinkState
from server.storage.tables import Chat, WhatsAppAccount, table_of
from server.storage.tables_sync import SyncChatLink

_chats = table_of(Chat)
_accounts = table_of(WhatsAppAccount)
_links = table_of(SyncChatLink)


class SqlMatchedLinks:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def matched_links(self, company_id: int, *, after: int, limit: int) -> list[MatchedLink]:
        """Up to ``limit`` of the company's one-to-one chats linked to a Person by matching, with a chat id
        above ``after``, by chat id."""
        query = (
            select(
                _links.c.chat_id,
                _chats.c.e164,
                _links.c.person_id,
                _links.c.person_name,
                _links.c.rule,
                _accounts.c.e164.label("account_e164"),
            )
            .select_from(
                _links.join(_chats, _chats.c.id == _links.c.chat_id).join(
                    _accounts, _accounts.c.id == _chats.c.account_id
                )
            )
            .where(
                (_links.c.company_id == company_id)
                & (_accounts.c.company_id == company_id)
                & (_links.c.state == LinkState.LINKED.value)
                & _links.c.person_id.is_not(None)
                & _links.c.rule.in_(sorted(RECHECKED_RULES))
                & _chats.c.e164.is_not(None)
                & ~_chats.c.is_group
                & (_links.c.chat_id > after)
            )
            .order_by(_links.c.chat_id)
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [
            MatchedLink(
                row["chat_id"],
                row["e164"],
                row["person_id"],
                row["person_name"] or "",
                row["rule"],
                row["account_e164"],
            )
            for row in rows
        ]
