"""The company's audit log: append-only rows, read newest first, always scoped to one company."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.storage.tables import AuditLog, table_of, utcnow

_audit = table_of(AuditLog)
MAX_DETAILS = 8000


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    company_id: int
    actor_user_id: int
    action: str
    subject: str
    details: dict[str, Any]
    created_at: datetime


def _details(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class SqlAuditLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record(
        self, company_id: int, actor_user_id: int, action: str, subject: str, details: Mapping[str, object]
    ) -> None:
        encoded = json.dumps(dict(details), default=str, ensure_ascii=False, sort_keys=True)
        if len(encoded) > MAX_DETAILS:
            encoded = json.dumps({"truncated": encoded[:MAX_DETAILS]})
        async with self._engine.begin() as connection:
            await connection.execute(
                _audit.insert().values(
                    company_id=company_id,
                    actor_user_id=actor_user_id,
                    action=action[:64],
                    subject=subject[:255],
                    details=encoded,
                    created_at=utcnow(),
                )
            )

    async def recent(
        self, company_id: int, limit: int = 50, *, subject: str | None = None
    ) -> list[AuditEntry]:
        """Newest first; only the entries about ``subject`` when one is named."""
        condition = _audit.c.company_id == company_id
        if subject is not None:
            condition = condition & (_audit.c.subject == subject[:255])
        query = select(_audit).where(condition).order_by(_audit.c.id.desc()).limit(max(1, min(limit, 500)))
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [
            AuditEntry(
                id=row["id"],
                company_id=row["company_id"],
                actor_user_id=row["actor_user_id"],
                action=row["action"],
                subject=row["subject"],
                details=_details(row["details"]),
                created_at=row["created_at"],
            )
            for row in rows
        ]
