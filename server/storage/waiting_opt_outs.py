"""Opt-outs waiting for their number (``WaitingOptOutStore``) on SQLite or PostgreSQL: a stop word from a
chat known only by its LID, kept once per company and LID until a chat of the company knows the number
behind the LID (learnt from a webhook, the sync or the gateway). Every query is scoped by company; a
number is only ever taken from the waiting opt-out's own company's chats."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.ports.campaigns import WaitingOptOut
from server.storage.dialect import upsert_insert
from server.storage.tables import Chat, WhatsAppAccount, table_of
from server.storage.tables_campaigns import WaitingOptOutRow

_waiting = table_of(WaitingOptOutRow)
_accounts = table_of(WhatsAppAccount)
_chats = table_of(Chat)


def _known_number(company_id: Any, lid: Any) -> Any:
    """The newest number a one-to-one chat of the company's numbers holds for ``lid``."""
    return (
        select(_chats.c.e164)
        .join(_accounts, _accounts.c.id == _chats.c.account_id)
        .where(
            _accounts.c.company_id == company_id,
            _chats.c.lid == lid,
            _chats.c.e164.is_not(None),
            _chats.c.is_group.is_(False),
        )
        .order_by(_chats.c.last_message_at.desc(), _chats.c.id.desc())
        .limit(1)
    )


class SqlWaitingOptOutStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def keep(
        self, company_id: int, account_id: int, lid: str, word: str, at: datetime, next_ask_at: datetime
    ) -> bool:
        statement = (
            upsert_insert(self._engine, _waiting)
            .values(
                company_id=company_id,
                account_id=account_id,
                lid=lid[:64],
                word=word[:64],
                at=at,
                next_ask_at=next_ask_at,
                asked=0,
            )
            .on_conflict_do_nothing(index_elements=["company_id", "lid"])
            .returning(_waiting.c.id)
        )
        async with self._engine.begin() as connection:
            return (await connection.execute(statement)).scalar() is not None

    async def number_for_lid(self, company_id: int, lid: str) -> str | None:
        async with self._engine.connect() as connection:
            found = (await connection.execute(_known_number(company_id, lid))).scalar()
        return None if found is None else str(found)

    async def with_numbers(self, limit: int) -> list[tuple[WaitingOptOut, str]]:
        number = _known_number(_waiting.c.company_id, _waiting.c.lid).scalar_subquery()
        query = (
            select(_waiting, number.label("number"))
            .where(number.is_not(None))
            .order_by(_waiting.c.id)
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [(_waiting_opt_out(row), str(row["number"])) for row in rows]

    async def due(self, now: datetime, limit: int) -> list[WaitingOptOut]:
        query = (
            select(_waiting)
            .where(_waiting.c.next_ask_at <= now)
            .order_by(_waiting.c.next_ask_at)
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [_waiting_opt_out(row) for row in rows]

    async def asked(self, company_id: int, waiting_id: int, next_ask_at: datetime) -> None:
        statement = (
            update(_waiting)
            .where(_waiting.c.company_id == company_id, _waiting.c.id == waiting_id)
            .values(next_ask_at=next_ask_at, asked=_waiting.c.asked + 1)
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)

    async def settle(self, company_id: int, lid: str) -> None:
        statement = delete(_waiting).where(_waiting.c.company_id == company_id, _waiting.c.lid == lid)
        async with self._engine.begin() as connection:
            await connection.execute(statement)


def _waiting_opt_out(row: Any) -> WaitingOptOut:
    return WaitingOptOut(
        id=int(row["id"]),
        company_id=int(row["company_id"]),
        account_id=int(row["account_id"]),
        lid=str(row["lid"]),
        word=str(row["word"]),
        at=row["at"],
        next_ask_at=row["next_ask_at"],
        asked=int(row["asked"]),
    )
