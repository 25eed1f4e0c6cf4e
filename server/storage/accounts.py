"""Connected WhatsApp numbers, always looked up within one company."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.errors import InvalidInput
from server.domain.models import Account
from server.domain.whatsapp import SessionStatus
from server.storage.tables import WhatsAppAccount, table_of, utcnow

_table = table_of(WhatsAppAccount)


def _account(row: object) -> Account:
    return Account(**{name: row[name] for name in Account.__slots__})  # type: ignore[index]


class SqlAccountStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(
        self, *, company_id: int, owner_user_id: int, transport: str, session_name: str
    ) -> Account:
        now = utcnow()
        statement = insert(_table).values(
            company_id=company_id,
            owner_user_id=owner_user_id,
            transport=transport,
            session_name=session_name,
            display_name="",
            status="stopped",
            status_detail="",
            created_at=now,
            updated_at=now,
        )
        try:
            async with self._engine.begin() as connection:
                await connection.execute(statement)
        except IntegrityError as error:
            raise InvalidInput(
                f"the session {session_name!r} already exists", reason="session_exists"
            ) from error
        account = await self.by_session(transport, session_name)
        assert account is not None
        return account

    async def by_session(self, transport: str, session_name: str) -> Account | None:
        query = select(_table).where(_table.c.transport == transport, _table.c.session_name == session_name)
        return await self._one(query)

    async def by_id(self, account_id: int) -> Account | None:
        """For jobs, which carry ids they were given by company-scoped code."""
        return await self._one(select(_table).where(_table.c.id == account_id))

    async def get(self, company_id: int, account_id: int) -> Account | None:
        query = select(_table).where(_table.c.company_id == company_id, _table.c.id == account_id)
        return await self._one(query)

    async def watched(self) -> list[Account]:
        """Every account whose session may be running (not logged out or unlinked): for the watcher."""
        stopped = ["logged_out", "unlinked"]
        query = select(_table).where(_table.c.status.not_in(stopped)).order_by(_table.c.id)
        async with self._engine.connect() as connection:
            return [_account(row) for row in (await connection.execute(query)).mappings()]

    async def for_company(self, company_id: int) -> list[Account]:
        query = select(_table).where(_table.c.company_id == company_id).order_by(_table.c.id)
        async with self._engine.connect() as connection:
            return [_account(row) for row in (await connection.execute(query)).mappings()]

    async def set_status(self, account_id: int, status: str, detail: str = "") -> None:
        values = {"status": status, "status_detail": detail[:500], "updated_at": utcnow()}
        async with self._engine.begin() as connection:
            await connection.execute(update(_table).where(_table.c.id == account_id).values(**values))

    async def set_number(self, account_id: int, e164: str, display_name: str) -> None:
        """Record the linked number; a number can belong to one account only."""
        values = {"e164": e164, "display_name": display_name[:255], "updated_at": utcnow()}
        try:
            async with self._engine.begin() as connection:
                await connection.execute(update(_table).where(_table.c.id == account_id).values(**values))
        except IntegrityError as error:
            raise InvalidInput(
                f"{e164} is already linked to another WaPipe account", reason="number_already_linked"
            ) from error

    async def mark_caught_up(self, account_id: int, until: datetime, *, was: datetime | None) -> bool:
        """The history is complete up to ``until``: a catch-up that began then read every page. Applied only
        while the session is connected and the mark is still ``was`` (what the catch-up started from: a
        session seen leaving meanwhile lowered it, and that lower mark must stay), and never backwards."""
        mark = _table.c.caught_up_until
        unchanged = mark.is_(None) if was is None else mark == was
        statement = (
            update(_table)
            .where(
                _table.c.id == account_id,
                _table.c.status == SessionStatus.CONNECTED.value,
                unchanged,
                mark.is_(None) | (mark < until),
            )
            .values(caught_up_until=until)
        )
        async with self._engine.begin() as connection:
            return bool((await connection.execute(statement)).rowcount == 1)

    async def touch(self, account_id: int, at: datetime) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(_table).where(_table.c.id == account_id).values(last_activity_at=at)
            )

    async def _one(self, query: object) -> Account | None:
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).mappings().first()  # type: ignore[call-overload]
        return _account(row) if row else None
