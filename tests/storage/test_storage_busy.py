"""A database another connection holds locked reaches the caller as ``StorageBusy`` (a ``Transient`` of
the domain's error tree), not as the driver's error; once the lock is gone the same write goes through.

The locks are real: SQLite's write lock held by another connection (this engine's connection told not to
wait for it), and a PostgreSQL table lock outlasting the database's ``lock_timeout``."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.errors import StorageBusy, Transient
from server.storage.companies import SqlCompanyStore
from server.storage.engine import is_sqlite, make_async_engine


@contextmanager
def _locked(url: str) -> Iterator[None]:
    """Hold the database (SQLite) or the ``company`` table (PostgreSQL) locked from another connection."""
    parsed = make_url(url)
    if is_sqlite(url):
        holder = sqlite3.connect(parsed.database or "", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # the write lock: no other connection may write
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    with psycopg.connect(parsed.set(drivername="postgresql").render_as_string(hide_password=False)) as holder:
        holder.execute("LOCK TABLE company IN ACCESS EXCLUSIVE MODE")  # held until the transaction ends
        try:
            yield
        finally:
            holder.rollback()


async def _stop_waiting_for_locks(engine: AsyncEngine, url: str) -> None:
    """SQLite: the engine's one connection gives up on a lock at once (production waits 5 s).
    PostgreSQL: every new session of the database gives up after 100 ms."""
    if is_sqlite(url):
        async with engine.connect() as connection:
            await connection.exec_driver_sql("PRAGMA busy_timeout = 0")
        return
    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"ALTER DATABASE \"{parsed.database}\" SET lock_timeout = '100ms'")


async def test_a_locked_database_is_storage_busy_and_the_write_goes_through_once_free(
    migrated_database_url: str,
) -> None:
    url = migrated_database_url
    engine = make_async_engine(url)
    try:
        await _stop_waiting_for_locks(engine, url)
        store = SqlCompanyStore(engine)
        with _locked(url), pytest.raises(StorageBusy) as busy:
            await store.upsert(1001, name="Acme", api_domain="https://acme.pipedrive.com", timezone="UTC")
        assert busy.value.reason == "storage_busy"
        assert isinstance(busy.value, Transient)  # jobs retry it like any other transient failure
        cause = str(busy.value.__cause__).lower()
        assert "database is locked" in cause if is_sqlite(url) else "lock timeout" in cause
        assert await store.get(1001) is None  # nothing was written

        company = await store.upsert(
            1001, name="Acme", api_domain="https://acme.pipedrive.com", timezone="UTC"
        )
        assert await store.get(1001) == company
    finally:
        await engine.dispose()


async def test_other_database_errors_are_left_as_they_are(migrated_database_url: str) -> None:
    engine = make_async_engine(migrated_database_url)
    try:
        async with engine.connect() as connection:
            with pytest.raises(Exception, match="no_such_table") as failed:
                await connection.exec_driver_sql("SELECT * FROM no_such_table")
    finally:
        await engine.dispose()
    assert not isinstance(failed.value, StorageBusy)


async def test_no_pooled_connection_in_time_is_storage_busy_and_the_next_caller_gets_one(
    migrated_database_url: str,
) -> None:
    """Every connection of the pool held (SQLite has one; PostgreSQL fifteen), a caller that would wait past
    the pool's timeout (0 here: it does not wait) is told the database is busy, and nothing is lost: once a
    connection is back, the same read goes through."""
    url = migrated_database_url
    engine = make_async_engine(url, pool_timeout=0)
    held = 1 if is_sqlite(url) else 15  # pool_size + max_overflow, as make_async_engine sets them
    store = SqlCompanyStore(engine)
    try:
        async with contextlib.AsyncExitStack() as holding:
            for _ in range(held):
                await holding.enter_async_context(engine.connect())
            with pytest.raises(StorageBusy) as busy:
                await store.get(1001)
            assert busy.value.reason == "storage_busy"
            assert "QueuePool limit" in str(busy.value.__cause__)
        assert await store.get(1001) is None
    finally:
        await engine.dispose()
