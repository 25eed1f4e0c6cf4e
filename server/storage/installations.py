"""Installations per (company, Pipedrive user), with their OAuth tokens encrypted at rest.

Token columns hold Fernet tokens made by :class:`server.crypto.SecretBox`; plaintext never reaches the
database, a log or a repr. Uninstalling empties the token columns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.crypto import SecretBox
from server.domain.installations import Installation, InstallationStatus, StoredTokens
from server.storage.dialect import upsert_insert
from server.storage.tables import Installation as InstallationRow
from server.storage.tables import table_of, utcnow

_table = table_of(InstallationRow)
_ACTIVE = InstallationStatus.ACTIVE.value
_NEEDS_REAUTH = InstallationStatus.NEEDS_REAUTH.value
_UNINSTALLED = InstallationStatus.UNINSTALLED.value
_DETAIL_MAX = 500


def _scopes(raw: str) -> frozenset[str]:
    return frozenset(s.strip() for s in raw.split(",") if s.strip())


def _installation(row: RowMapping) -> Installation:
    return Installation(
        id=row["id"],
        company_id=row["company_id"],
        pipedrive_user_id=row["pipedrive_user_id"],
        name=row["name"],
        email=row["email"],
        is_admin=bool(row["is_admin"]),
        status=InstallationStatus(row["status"]),
        status_detail=row["status_detail"],
        scopes=_scopes(row["scopes"]),
        api_domain=row["api_domain"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        uninstalled_at=row["uninstalled_at"],
        session_epoch=row["session_epoch"],
        language=row["language"],
    )


_INFO_COLUMNS = [c for c in _table.c if not c.name.endswith("_encrypted")]


class SqlInstallationStore:
    """Every lookup is scoped by WaPipe's company id, except ``by_id`` (for jobs holding an id)."""

    def __init__(self, engine: AsyncEngine, box: SecretBox) -> None:
        self._engine = engine
        self._box = box

    def __repr__(self) -> str:
        return "SqlInstallationStore()"

    async def upsert(
        self,
        company_id: int,
        pipedrive_user_id: int,
        *,
        name: str,
        email: str,
        is_admin: bool,
        tokens: StoredTokens,
        language: str = "",
    ) -> Installation:
        """Store a (re)installation: fresh tokens, status active. Safe to repeat and to race."""
        now = utcnow()
        values: dict[str, Any] = {
            "name": name[:255],
            "email": email[:255],
            "is_admin": is_admin,
            "language": language[:16],
            **self._token_values(tokens),
            "status": _ACTIVE,
            "status_detail": "",
            "updated_at": now,
            "uninstalled_at": None,
        }
        statement = (
            upsert_insert(self._engine, _table)
            .values(company_id=company_id, pipedrive_user_id=pipedrive_user_id, created_at=now, **values)
            .on_conflict_do_update(index_elements=["company_id", "pipedrive_user_id"], set_=values)
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)
        installation = await self.get(company_id, pipedrive_user_id)
        assert installation is not None
        return installation

    async def get(self, company_id: int, pipedrive_user_id: int) -> Installation | None:
        return await self._one(
            (_table.c.company_id == company_id) & (_table.c.pipedrive_user_id == pipedrive_user_id)
        )

    async def by_id(self, installation_id: int) -> Installation | None:
        return await self._one(_table.c.id == installation_id)

    async def for_company(self, company_id: int) -> list[Installation]:
        """Every installation of the company, uninstalled ones included, earliest first (team page)."""
        query = (
            select(*_INFO_COLUMNS)
            .where(_table.c.company_id == company_id)
            .order_by(_table.c.created_at, _table.c.id)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [_installation(row) for row in rows]

    async def admin_installation(self, company_id: int) -> Installation | None:
        """The installation that runs the company's sync: the earliest active admin one; if no admin's is
        active, the earliest admin one that needs re-authorisation; else ``None``."""
        admins = [i for i in await self.for_company(company_id) if i.is_admin]
        active = [i for i in admins if i.status is InstallationStatus.ACTIVE]
        stale = [i for i in admins if i.status is InstallationStatus.NEEDS_REAUTH]
        chosen = active or stale
        return chosen[0] if chosen else None

    async def tokens(self, installation_id: int) -> StoredTokens | None:
        """The decrypted tokens of an installation that still has them (not uninstalled)."""
        query = select(_table).where(_table.c.id == installation_id, _table.c.status != _UNINSTALLED)
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        if row is None or not row["access_token_encrypted"] or row["expires_at"] is None:
            return None
        return StoredTokens(
            access_token=self._box.decrypt(row["access_token_encrypted"]),
            refresh_token=self._box.decrypt(row["refresh_token_encrypted"]),
            expires_at=row["expires_at"],
            scopes=_scopes(row["scopes"]),
            api_domain=row["api_domain"],
        )

    async def save_tokens(self, installation_id: int, tokens: StoredTokens) -> bool:
        """Store refreshed tokens (and the possibly new api_domain); never revives an uninstalled one.
        ``False`` when the installation is gone or uninstalled."""
        statement = (
            update(_table)
            .where(_table.c.id == installation_id, _table.c.status != _UNINSTALLED)
            .values(**self._token_values(tokens), updated_at=utcnow())
        )
        async with self._engine.begin() as connection:
            result = await connection.execute(statement)
        return bool(result.rowcount)

    async def mark_needs_reauth(self, installation_id: int, detail: str) -> bool:
        """An active installation whose refresh token stopped working; ``False`` if it was not active."""
        statement = (
            update(_table)
            .where(_table.c.id == installation_id, _table.c.status == _ACTIVE)
            .values(status=_NEEDS_REAUTH, status_detail=detail[:_DETAIL_MAX], updated_at=utcnow())
        )
        async with self._engine.begin() as connection:
            result = await connection.execute(statement)
        return bool(result.rowcount)

    async def mark_uninstalled(
        self, company_id: int, pipedrive_user_id: int, *, at: datetime | None = None, detail: str = ""
    ) -> Installation | None:
        """Delete the tokens and mark the installation uninstalled; ``None`` when there is none.

        Repeating it keeps the first ``uninstalled_at`` (the grace period counts from the first notice).
        Every notice moves ``session_epoch`` on, which ends the user's chat-view sessions.
        """
        when = at or utcnow()
        where = (_table.c.company_id == company_id) & (_table.c.pipedrive_user_id == pipedrive_user_id)
        statement = (
            update(_table)
            .where(where)
            .values(
                access_token_encrypted="",
                refresh_token_encrypted="",
                expires_at=None,
                status=_UNINSTALLED,
                status_detail=detail[:_DETAIL_MAX],
                updated_at=when,
                uninstalled_at=func.coalesce(_table.c.uninstalled_at, when),
                session_epoch=_table.c.session_epoch + 1,
            )
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)
        return await self.get(company_id, pipedrive_user_id)

    async def companies_gone_since(self, cutoff: datetime) -> list[int]:
        """Companies that had installations, all of them uninstalled, the last one at or before ``cutoff``."""
        last_gone = func.max(_table.c.uninstalled_at)
        still_installed = func.sum(case((_table.c.status != _UNINSTALLED, 1), else_=0))
        query = (
            select(_table.c.company_id)
            .group_by(_table.c.company_id)
            .having(still_installed == 0, last_gone <= cutoff)
            .order_by(_table.c.company_id)
        )
        async with self._engine.connect() as connection:
            return [int(row[0]) for row in (await connection.execute(query)).all()]

    async def rotate_keys(self) -> int:
        """Re-encrypt every stored token under the newest key; the number of rows changed."""
        query = select(_table.c.id, _table.c.access_token_encrypted, _table.c.refresh_token_encrypted)
        changed = 0
        async with self._engine.begin() as connection:
            rows = (await connection.execute(query)).all()
            for row_id, access, refresh in rows:
                if self._box.is_current(access) and self._box.is_current(refresh):
                    continue
                await connection.execute(
                    update(_table)
                    .where(_table.c.id == row_id)
                    .values(
                        access_token_encrypted=self._box.rotate(access),
                        refresh_token_encrypted=self._box.rotate(refresh),
                    )
                )
                changed += 1
        return changed

    def _token_values(self, tokens: StoredTokens) -> dict[str, Any]:
        return {
            "access_token_encrypted": self._box.encrypt(tokens.access_token),
            "refresh_token_encrypted": self._box.encrypt(tokens.refresh_token),
            "expires_at": tokens.expires_at,
            "scopes": ",".join(sorted(tokens.scopes))[:1000],
            "api_domain": tokens.api_domain[:255],
        }

    async def _one(self, where: Any) -> Installation | None:
        async with self._engine.connect() as connection:
            row = (await connection.execute(select(*_INFO_COLUMNS).where(where))).mappings().first()
        return None if row is None else _installation(row)
