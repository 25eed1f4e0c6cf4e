"""What the metrics read of the database at each scrape: how many numbers are in each session state, and
how many outbox messages in each status. Counts across every company: the operator's view, no company's
data. And whether the database answers at all (``reachable``), for the health checks."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from server.storage.tables import Outbox, WhatsAppAccount, table_of

_accounts = table_of(WhatsAppAccount)
_outbox = table_of(Outbox)


async def reachable(engine: AsyncEngine) -> None:
    """Raise when the database does not answer a trivial query."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


class SqlStateCounts:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def sessions(self) -> dict[tuple[str, str], int]:
        """``(transport, status) → numbers``."""
        query = select(_accounts.c.transport, _accounts.c.status, func.count()).group_by(
            _accounts.c.transport, _accounts.c.status
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return {(str(transport), str(status)): int(count) for transport, status, count in rows}

    async def outbox(self) -> dict[str, int]:
        """``status → messages``."""
        query = select(_outbox.c.status, func.count()).group_by(_outbox.c.status)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return {str(status): int(count) for status, count in rows}
