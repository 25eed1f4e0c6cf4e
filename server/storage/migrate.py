"""Alembic, driven from code: upgrade to head, and refuse to run on an unmigrated database."""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.errors import NotMigrated
from server.storage.engine import make_sync_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@functools.cache
def head_revisions() -> frozenset[str]:
    """The newest revisions of the migrations shipped with this code (read once: reading them imports every
    migration script)."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return frozenset(script.get_heads())


def upgrade(url: str, revision: str = "head") -> None:
    """Upgrade the database at ``url`` to ``revision`` (``wapipe migrate``); a database already at the head
    is left as it is without reading the migration scripts."""
    engine = make_sync_engine(url)
    try:
        with engine.begin() as connection:
            if revision == "head" and _current_heads(connection) == head_revisions():
                return
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def _current_heads(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())


async def ensure_migrated(engine: AsyncEngine) -> None:
    """Raise ``NotMigrated`` unless the database is at the newest revision."""
    async with engine.connect() as connection:
        current = await connection.run_sync(_current_heads)
    expected = head_revisions()
    if current != expected:
        found = ", ".join(sorted(current)) or "no schema"
        raise NotMigrated(
            f"The database is not migrated (found {found}, need {', '.join(sorted(expected))}). "
            "Run `wapipe migrate` first."
        )
