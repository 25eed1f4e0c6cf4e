"""Deleting everything WaPipe holds about one company, in one transaction, and then its attachment files.

The rows to delete are found through the schema's foreign keys: the company row, every row whose foreign key
points at it, every row pointing at those, and so on (installations, settings, WhatsApp accounts, their chats,
messages, and whatever later tables hang off them). Some rows refer to their owner without a foreign key (the
sync engine keeps day activities when the inbox merges a chat away, attachments are per message and per file
hash, and edited or deleted messages wait for their day by chat); ``LOOSE_REFERENCES`` names them. Webhook
deliveries and the leases of embedded sessions are tied to a session by name, so they are matched on the
company's sessions explicitly. A stored file is shared by every message with the same content, in any company:
it goes when no message uses it any more. Children go before parents; if a table outside this schema still
points at the company, the database refuses and nothing is deleted.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, ColumnElement, Table, delete, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from server.domain.ports.storage import MediaFiles
from server.storage.media_deletions import delete_files, list_deletions

# The table modules, all imported here, put every table on SQLModel.metadata (``_owned_rows`` walks it).
from server.storage.tables import (
    Chat,
    Company,
    InboundEvent,
    MediaBlob,
    Message,
    MessageMediaRow,
    SessionLease,
    WhatsAppAccount,
    table_of,
)
from server.storage.tables_campaigns import CampaignRow  # noqa: F401  (campaigns hang off the company)
from server.storage.tables_changes import MessageChange
from server.storage.tables_cloud_templates import CloudTemplateMapping  # noqa: F401  (on the metadata)
from server.storage.tables_sync import SyncDayActivity
from server.storage.tables_templates import MessageTemplateRow  # noqa: F401  (its company's rows go too)

_company = table_of(Company)
_accounts = table_of(WhatsAppAccount)
_events = table_of(InboundEvent)
_blobs = table_of(MediaBlob)
_message_media = table_of(MessageMediaRow)
_session_leases = table_of(SessionLease)

# (column, the column it refers to) for references the schema does not declare as foreign keys.
LOOSE_REFERENCES: list[tuple[Column[Any], Column[Any]]] = [
    (table_of(SyncDayActivity).c.chat_id, table_of(Chat).c.id),
    (table_of(MessageMediaRow).c.message_id, table_of(Message).c.id),
    (table_of(MessageChange).c.chat_id, table_of(Chat).c.id),
]


def _owned_rows(company_id: int) -> list[tuple[Table, ColumnElement[bool]]]:
    """Each table holding the company's rows with the condition selecting them, parents first."""
    conditions: dict[Table, ColumnElement[bool]] = {_company: _company.c.id == company_id}
    ordered: list[tuple[Table, ColumnElement[bool]]] = [(_company, conditions[_company])]
    for table in SQLModel.metadata.sorted_tables:
        if table is _company:
            continue
        links = [
            key.parent.in_(select(key.column).where(conditions[key.column.table]))
            for key in table.foreign_keys
            if key.column.table in conditions and key.column.table is not table
        ]
        if links:
            conditions[table] = or_(*links)
            ordered.append((table, conditions[table]))
    for column, target in LOOSE_REFERENCES:  # after their targets: deleted before them
        table = column.table
        assert isinstance(table, Table) and table not in conditions
        ordered.append((table, column.in_(select(target).where(conditions[target.table]))))
    return ordered


async def purge_company(
    engine: AsyncEngine, company_id: int, *, files: MediaFiles | None = None
) -> dict[str, int]:
    """Delete the company, everything it owns and the files only it used (from ``files``; ``None``: this
    machine's disk); rows deleted per table."""
    counts: dict[str, int] = {}
    sessions = select(_accounts.c.transport, _accounts.c.session_name).where(
        _accounts.c.company_id == company_id
    )
    owned = _owned_rows(company_id)
    theirs = next(condition for table, condition in owned if table is _message_media)
    others_use = select(_message_media.c.sha256).where(~theirs & _message_media.c.sha256.is_not(None))
    unused_blobs = _blobs.c.sha256.in_(
        select(_message_media.c.sha256).where(theirs)
    ) & _blobs.c.sha256.not_in(others_use)
    async with engine.begin() as connection:
        found = (await connection.execute(select(_blobs.c.path).where(unused_blobs))).scalars()
        paths = [str(p) for p in found if p]
        await list_deletions(connection, paths)
        result: Any = await connection.execute(delete(_blobs).where(unused_blobs))
        counts[_blobs.name] = int(result.rowcount or 0)
        result = await connection.execute(
            delete(_events).where(tuple_(_events.c.transport, _events.c.session_name).in_(sessions))
        )
        counts[_events.name] = int(result.rowcount or 0)
        result = await connection.execute(
            delete(_session_leases).where(
                _session_leases.c.session_key.in_(sessions.with_only_columns(_accounts.c.session_name))
            )
        )
        counts[_session_leases.name] = int(result.rowcount or 0)
        for table, condition in reversed(owned):
            result = await connection.execute(delete(table).where(condition))
            counts[table.name] = counts.get(table.name, 0) + int(result.rowcount or 0)
    # after the commit: a rolled-back purge must not lose files referenced
    await delete_files(engine, files, paths)
    return counts
