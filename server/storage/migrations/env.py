"""Alembic environment: uses the connection handed over by server.storage.migrate, else the URL."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import server.storage.tables
import server.storage.tables_campaigns
import server.storage.tables_changes
import server.storage.tables_cloud_templates
import server.storage.tables_sync
import server.storage.tables_templates  # noqa: F401  (registers the tables on SQLModel.metadata)
from server.storage.engine import make_sync_engine

config = context.config
target_metadata = SQLModel.metadata


def run_with(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
elif (connection := config.attributes.get("connection")) is not None:
    run_with(connection)
else:
    engine = make_sync_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        run_with(conn)
    engine.dispose()
