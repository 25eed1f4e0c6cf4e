from __future__ import annotations

from sqlalchemy import text

from server.storage.engine import SQLITE_BUSY_TIMEOUT_MS, async_url, make_async_engine, sync_url


async def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(sqlite_url: str) -> None:
    engine = make_async_engine(sqlite_url)
    try:
        async with engine.connect() as connection:
            journal = (await connection.execute(text("PRAGMA journal_mode"))).scalar()
            timeout = (await connection.execute(text("PRAGMA busy_timeout"))).scalar()
            foreign_keys = (await connection.execute(text("PRAGMA foreign_keys"))).scalar()
    finally:
        await engine.dispose()
    assert journal == "wal"
    assert timeout == SQLITE_BUSY_TIMEOUT_MS
    assert foreign_keys == 1


async def test_postgresql_goes_through_psycopg_3(postgres_url: str) -> None:
    engine = make_async_engine(postgres_url)
    try:
        async with engine.connect() as connection:
            version = (await connection.execute(text("SHOW server_version"))).scalar()
    finally:
        await engine.dispose()
    assert engine.dialect.driver == "psycopg"
    assert version


def test_driver_selection() -> None:
    assert async_url("sqlite:///var/a.db") == "sqlite+aiosqlite:///var/a.db"
    assert sync_url("sqlite+aiosqlite:///var/a.db") == "sqlite:///var/a.db"
    assert async_url("postgresql://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
