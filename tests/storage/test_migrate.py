from __future__ import annotations

import pytest
from sqlalchemy import inspect

from server.domain.errors import NotMigrated
from server.storage.engine import make_async_engine, make_sync_engine
from server.storage.migrate import ensure_migrated, head_revisions, upgrade


async def test_unmigrated_database_is_refused_with_a_clear_message(database_url: str) -> None:
    engine = make_async_engine(database_url)
    try:
        with pytest.raises(NotMigrated, match=r"not migrated \(found no schema.*Run `wapipe migrate`"):
            await ensure_migrated(engine)
    finally:
        await engine.dispose()


async def test_upgrade_creates_every_table_and_reaches_head(database_url: str) -> None:
    upgrade(database_url)
    sync_engine = make_sync_engine(database_url)
    try:
        tables = set(inspect(sync_engine).get_table_names())
    finally:
        sync_engine.dispose()
    assert {"company", "worker_heartbeat", "alembic_version"} <= tables
    engine = make_async_engine(database_url)
    try:
        await ensure_migrated(engine)
    finally:
        await engine.dispose()


async def test_a_database_behind_head_is_refused(database_url: str) -> None:
    upgrade(database_url, "0001")
    engine = make_async_engine(database_url)
    try:
        with pytest.raises(NotMigrated, match="found 0001"):
            await ensure_migrated(engine)
    finally:
        await engine.dispose()


def test_upgrade_twice_is_harmless(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)


def test_one_head() -> None:
    assert len(head_revisions()) == 1
