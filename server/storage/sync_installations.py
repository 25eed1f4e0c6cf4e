"""What the sync engine reads of a company's installations: who installed, who is admin, who is active."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.storage.tables import Chat, Installation, WhatsAppAccount, table_of

_chats = table_of(Chat)
_accounts = table_of(WhatsAppAccount)
_installations = table_of(Installation)


class InstallationRows:
    _engine: AsyncEngine

    async def installation_email(self, company_id: int, pipedrive_user_id: int) -> str | None:
        query = select(_installations.c.email).where(
            (_installations.c.company_id == company_id)
            & (_installations.c.pipedrive_user_id == pipedrive_user_id)
        )
        async with self._engine.connect() as connection:
            return (await connection.execute(query)).scalar() or None

    async def companies_installed(self, chat_ids: list[int]) -> dict[int, int]:
        """``{chat id: company id}`` for the chats whose company has an active installation."""
        if not chat_ids:
            return {}
        query = (
            select(_chats.c.id, _accounts.c.company_id)
            .select_from(_chats.join(_accounts, _accounts.c.id == _chats.c.account_id))
            .where(_chats.c.id.in_(chat_ids))
            .where(
                select(_installations.c.id)
                .where(
                    (_installations.c.company_id == _accounts.c.company_id)
                    & (_installations.c.status == "active")
                )
                .exists()
            )
        )
        async with self._engine.connect() as connection:
            return {int(row[0]): int(row[1]) for row in (await connection.execute(query)).all()}

    async def admin_user_id(self, company_id: int) -> int | None:
        query = (
            select(_installations.c.pipedrive_user_id)
            .where(
                (_installations.c.company_id == company_id)
                & _installations.c.is_admin
                & (_installations.c.status == "active")
            )
            .order_by(_installations.c.id)
        )
        async with self._engine.connect() as connection:
            found = (await connection.execute(query)).scalar()
        return int(found) if found is not None else None
