"""The migrations create exactly the schema the tables declare: no drift in either direction."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import server.storage.tables
import server.storage.tables_campaigns
import server.storage.tables_changes
import server.storage.tables_cloud_templates
import server.storage.tables_sync
import server.storage.tables_templates  # noqa: F401  (registers every table)
from server.storage.engine import make_sync_engine
from server.storage.migrate import upgrade


def test_migrations_match_the_tables(database_url: str) -> None:
    upgrade(database_url)
    engine = make_sync_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()
    assert differences == []
