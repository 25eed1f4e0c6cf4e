"""Opt-outs and stop words on SQLite or PostgreSQL (``OptOutStore``), and what the inbox knows about a
campaign's contacts (``ContactHistory``: which number last talked to each, when each last wrote to each
number). Every query is scoped by company; an opt-out is stored once per number."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.campaign_skips import Trace
from server.domain.ports.campaigns import OptOuts
from server.storage.dialect import upsert_insert
from server.storage.tables import Chat, Message, WhatsAppAccount, table_of, utcnow
from server.storage.tables_campaigns import CampaignRecipientRow, CampaignSettingsRow, OptOutRow
from server.storage.tables_sync import SyncChatLink
from server.storage.times import required_time

_opt_outs = table_of(OptOutRow)
_settings = table_of(CampaignSettingsRow)
_recipients = table_of(CampaignRecipientRow)
_accounts = table_of(WhatsAppAccount)
_chats = table_of(Chat)
_messages = table_of(Message)
_links = table_of(SyncChatLink)
_CHUNK = 500


class SqlOptOutStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record(
        self, company_id: int, e164: str, person_id: int | None, word: str, at: datetime
    ) -> bool:
        statement = (
            upsert_insert(self._engine, _opt_outs)
            .values(company_id=company_id, e164=e164, person_id=person_id, word=word[:64], at=at)
            .on_conflict_do_nothing(index_elements=["company_id", "e164"])
            .returning(_opt_outs.c.id)
        )
        async with self._engine.begin() as connection:
            return (await connection.execute(statement)).scalar() is not None

    async def opt_outs(self, company_id: int) -> OptOuts:
        query = select(_opt_outs.c.e164, _opt_outs.c.person_id).where(_opt_outs.c.company_id == company_id)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return OptOuts(
            numbers=frozenset(str(e164) for e164, _ in rows),
            persons=frozenset(int(person) for _, person in rows if person is not None),
        )

    async def stop_words(self, company_id: int) -> tuple[str, ...] | None:
        query = select(_settings.c.stop_words).where(_settings.c.company_id == company_id)
        async with self._engine.connect() as connection:
            raw = (await connection.execute(query)).scalar()
        if not raw:
            return None
        return tuple(line for line in str(raw).splitlines() if line.strip())

    async def set_stop_words(self, company_id: int, words: Sequence[str]) -> None:
        text = "\n".join(words)
        now = utcnow()
        statement = (
            upsert_insert(self._engine, _settings)
            .values(company_id=company_id, stop_words=text, updated_at=now)
            .on_conflict_do_update(
                index_elements=["company_id"], set_={"stop_words": text, "updated_at": now}
            )
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)

    async def person_for(self, company_id: int, e164: str) -> int | None:
        """The Person a number belongs to: the newest campaign recipient with it, else its chat's link."""
        campaign = (
            select(_recipients.c.person_id)
            .where(_recipients.c.company_id == company_id, _recipients.c.e164 == e164)
            .order_by(_recipients.c.id.desc())
            .limit(1)
        )
        linked = (
            select(_links.c.person_id)
            .join(_chats, _chats.c.id == _links.c.chat_id)
            .where(_links.c.company_id == company_id, _chats.c.e164 == e164, _links.c.person_id.is_not(None))
            .order_by(_chats.c.last_message_at.desc())
            .limit(1)
        )
        async with self._engine.connect() as connection:
            found = (await connection.execute(campaign)).scalar()
            if found is None:
                found = (await connection.execute(linked)).scalar()
        return None if found is None else int(found)


class SqlContactHistory:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def traces(self, company_id: int, numbers: Sequence[str]) -> dict[str, Trace]:
        wanted = sorted(set(numbers))
        last_chat: dict[str, tuple[datetime, int]] = {}
        inbound: dict[str, dict[int, datetime]] = {}
        accounts = select(_accounts.c.id).where(_accounts.c.company_id == company_id)
        async with self._engine.connect() as connection:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                chats = await connection.execute(
                    select(_chats.c.e164, _chats.c.account_id, _chats.c.last_message_at).where(
                        _chats.c.account_id.in_(accounts),
                        _chats.c.e164.in_(chunk),
                        _chats.c.is_group.is_(False),
                    )
                )
                for e164, account_id, at in chats.all():
                    if at is not None and (e164 not in last_chat or at > last_chat[e164][0]):
                        last_chat[e164] = (at, int(account_id))
                wrote = await connection.execute(
                    select(_chats.c.e164, _messages.c.account_id, func.max(_messages.c.sent_at))
                    .join(_chats, _chats.c.id == _messages.c.chat_id)
                    .where(
                        _chats.c.account_id.in_(accounts),
                        _chats.c.e164.in_(chunk),
                        _chats.c.is_group.is_(False),
                        _messages.c.from_me.is_(False),
                    )
                    .group_by(_chats.c.e164, _messages.c.account_id)
                )
                for e164, account_id, at in wrote.all():
                    if at is not None:
                        inbound.setdefault(e164, {})[int(account_id)] = required_time(at)
        return {
            e164: Trace(
                last_account_id=last_chat[e164][1] if e164 in last_chat else None,
                last_inbound=inbound.get(e164, {}),
            )
            for e164 in set(last_chat) | set(inbound)
        }
