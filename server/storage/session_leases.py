"""Session leases in the database: which worker runs each embedded WhatsApp session, for deployments
without Redis (the embedded default). Implements ``SessionLeases`` (``server.domain.ports.sessions``).

Each rule is one conditional statement, so two workers racing for a key cannot both win, on SQLite and
PostgreSQL alike: ``acquire`` is an UPDATE of a free or expired row (or an INSERT of the first one, which
the primary key lets only one worker make), ``renew`` and ``release`` are UPDATEs that match only the
holder's owner and token. The time is the injected clock's, so expiry is tested by moving it. A released
row stays (no owner, no expiry) so the next holder's token is still larger.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import ColumnElement, or_, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.clock import Clock
from server.domain.ports.sessions import SessionLease
from server.storage.dialect import upsert_insert
from server.storage.tables import SessionLease as SessionLeaseRow
from server.storage.tables import table_of

_table = table_of(SessionLeaseRow)


class SqlSessionLeases:
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    async def acquire(self, key: str, *, owner: str, ttl: timedelta) -> SessionLease | None:
        now = self._clock.now()
        free = or_(_table.c.expires_at.is_(None), _table.c.expires_at <= now)
        take = (
            update(_table)
            .where((_table.c.session_key == key) & free)
            .values(owner=owner, token=_table.c.token + 1, expires_at=now + ttl)
            .returning(_table.c.token)
        )
        first = (
            upsert_insert(self._engine, _table)
            .values(session_key=key, owner=owner, token=1, expires_at=now + ttl)
            .on_conflict_do_nothing(index_elements=["session_key"])
            .returning(_table.c.token)
        )
        async with self._engine.begin() as connection:
            token = (await connection.execute(take)).scalar_one_or_none()
            if token is None:
                token = (await connection.execute(first)).scalar_one_or_none()
        return None if token is None else SessionLease(key, owner, int(token))

    async def renew(self, lease: SessionLease, *, ttl: timedelta) -> bool:
        now = self._clock.now()
        statement = (
            update(_table).where(self._held(lease) & (_table.c.expires_at > now)).values(expires_at=now + ttl)
        )
        async with self._engine.begin() as connection:
            return bool((await connection.execute(statement)).rowcount == 1)

    async def release(self, lease: SessionLease) -> bool:
        now = self._clock.now()
        statement = (
            update(_table)
            .where(self._held(lease) & (_table.c.expires_at > now))
            .values(owner="", expires_at=None)
        )
        async with self._engine.begin() as connection:
            return bool((await connection.execute(statement)).rowcount == 1)

    @staticmethod
    def _held(lease: SessionLease) -> ColumnElement[bool]:
        return (
            (_table.c.session_key == lease.key)
            & (_table.c.owner == lease.owner)
            & (_table.c.token == lease.token)
        )
