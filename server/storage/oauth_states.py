"""OAuth ``state`` values already used, in the database so every web process refuses a second use."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from server.storage.dialect import upsert_insert
from server.storage.tables import OAuthStateUse, table_of, utcnow

_table = table_of(OAuthStateUse)


class SqlUsedStates:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def claim(self, nonce: str, *, max_age: float) -> bool:
        """Record a state's nonce as used; ``False`` when it was used before (a replay). The nonce is kept
        ``max_age`` seconds, as long as the signed state it came in can be valid (its signature's time is
        the wall clock's, and so is this); nonces kept longer than that are forgotten on the way."""
        now = utcnow()
        insert = (
            upsert_insert(self._engine, _table)
            .values(nonce=nonce[:64], expires_at=now + timedelta(seconds=max_age))
            .on_conflict_do_nothing(index_elements=["nonce"])
            .returning(_table.c.nonce)
        )
        async with self._engine.begin() as connection:
            await connection.execute(delete(_table).where(_table.c.expires_at < now))
            return (await connection.execute(insert)).scalar() is not None
