"""Meta-approved templates on SQLite or PostgreSQL: each company's variable mappings
(``cloud_template_mapping``), and when a contact last wrote to a number (the inbox's messages), which
decides whether free text may still reach them on a Cloud API number. Every query is scoped: mappings by
company, the window by the account the company-scoped caller looked up."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.jids import phone_chat_key
from server.storage.dialect import upsert_insert
from server.storage.tables import Chat, Message, table_of, utcnow
from server.storage.tables_cloud_templates import CloudTemplateMapping

_mappings = table_of(CloudTemplateMapping)
_chats = table_of(Chat)
_messages = table_of(Message)


def _mapping(raw: str) -> dict[str, str]:
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items() if isinstance(v, str)}


class SqlTemplateMappings:
    """``TemplateMappings``: variable → placeholder per approved template, per company."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def for_company(self, company_id: int) -> dict[str, dict[str, str]]:
        query = select(_mappings.c.template_key, _mappings.c.mapping).where(
            _mappings.c.company_id == company_id
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return {key: _mapping(raw) for key, raw in rows}

    async def get(self, company_id: int, key: str) -> dict[str, str] | None:
        query = select(_mappings.c.mapping).where(
            _mappings.c.company_id == company_id, _mappings.c.template_key == key
        )
        async with self._engine.connect() as connection:
            raw = (await connection.execute(query)).scalar()
        return None if raw is None else _mapping(raw)

    async def save(self, company_id: int, key: str, mapping: Mapping[str, str], user_id: int) -> None:
        values = {
            "company_id": company_id,
            "template_key": key[:600],
            "mapping": json.dumps(dict(mapping), sort_keys=True),
            "updated_by": user_id,
            "updated_at": utcnow(),
        }
        statement = (
            upsert_insert(self._engine, _mappings)
            .values(**values)
            .on_conflict_do_update(
                index_elements=["company_id", "template_key"],
                set_={k: values[k] for k in ("mapping", "updated_by", "updated_at")},
            )
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)


class SqlContactWindow:
    """``ContactWindow``: the newest message the contact (not us) sent in their 1:1 chat with the number."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def last_inbound_at(self, account_id: int, e164: str) -> datetime | None:
        chats = select(_chats.c.id).where(
            _chats.c.account_id == account_id,
            or_(_chats.c.e164 == e164, _chats.c.chat_key == phone_chat_key(e164)),
            _chats.c.is_group.is_(False),
        )
        query = select(func.max(_messages.c.sent_at)).where(
            _messages.c.account_id == account_id,
            _messages.c.chat_id.in_(chats),
            _messages.c.from_me.is_(False),
        )
        async with self._engine.connect() as connection:
            latest = (await connection.execute(query)).scalar()
        if isinstance(latest, str):  # in case a driver hands max() back untyped
            latest = datetime.fromisoformat(latest)
        if not isinstance(latest, datetime):
            return None
        return latest.replace(tzinfo=UTC) if latest.tzinfo is None else latest
