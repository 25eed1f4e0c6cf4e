"""Database engines: async for the application, sync for migrations. SQLite gets WAL and a busy timeout.

A statement the database cannot take just now (busy, locked, a lost connection), and a connection the
pool could not hand out in time (every one in use for longer than the pool's timeout), raise
``StorageBusy`` from the domain's error tree instead of the driver's or the pool's error, so callers retry
without knowing SQLAlchemy."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeAlias

from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool
from sqlalchemy.pool.base import ConnectionPoolEntry

from server.domain.errors import StorageBusy

# What the stores are built on, by the name code outside storage (jobs, the web's resources) holds it.
Database: TypeAlias = AsyncEngine

SQLITE_BUSY_TIMEOUT_MS = 5000
SQLITE_POOL_TIMEOUT_S = 10.0  # waiting for the one connection longer than this is an error
POSTGRES_POOL_TIMEOUT_S = 30.0  # SQLAlchemy's default: every one of the 15 connections in use this long
BUSY = "The database is busy; trying again in a moment should work."


def async_url(url: str) -> str:
    """The async driver for a database URL (aiosqlite for SQLite, psycopg 3 for PostgreSQL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if parsed.get_backend_name() == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def sync_url(url: str) -> str:
    """The sync driver for a database URL (pysqlite for SQLite, psycopg 3 for PostgreSQL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite").render_as_string(hide_password=False)
    if parsed.get_backend_name() == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def _ensure_sqlite_dir(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


class BusyAwarePool(AsyncAdaptedQueuePool):
    """The async engines' pool: a connection not handed out within the pool's timeout (every one held by
    other work) is ``StorageBusy``, a moment's congestion to retry, not SQLAlchemy's ``TimeoutError``."""

    def _do_get(self) -> ConnectionPoolEntry:
        try:
            return super()._do_get()
        except sa_exc.TimeoutError as error:
            raise StorageBusy(BUSY) from error


def make_async_engine(url: str, *, pool_timeout: float | None = None) -> AsyncEngine:
    """``pool_timeout``: how long a caller waits for a pooled connection before it is ``StorageBusy``
    (by default 10 s on SQLite, 30 s on PostgreSQL)."""
    if is_sqlite(url):
        _ensure_sqlite_dir(url)
        # One connection: SQLite takes one writer at a time, and writers on separate connections that
        # collide wait in SQLite's busy handler, which sleeps in growing steps (up to 100 ms each); on one
        # connection they queue in order instead. So code must not open a connection while it holds one.
        engine = create_async_engine(
            async_url(url),
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            poolclass=BusyAwarePool,
            pool_size=1,
            max_overflow=0,
            pool_timeout=SQLITE_POOL_TIMEOUT_S if pool_timeout is None else pool_timeout,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    else:
        engine = create_async_engine(
            async_url(url),
            poolclass=BusyAwarePool,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=10,
            pool_timeout=POSTGRES_POOL_TIMEOUT_S if pool_timeout is None else pool_timeout,
        )
    event.listen(engine.sync_engine, "handle_error", _raise_storage_busy)
    return engine


def make_sync_engine(url: str) -> Engine:
    if is_sqlite(url):
        _ensure_sqlite_dir(url)
        engine = create_engine(sync_url(url), connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(sync_url(url), pool_pre_ping=True)
    event.listen(engine, "handle_error", _raise_storage_busy)
    return engine


def is_busy_database(error: BaseException) -> bool:
    """A database error that goes away by trying again: SQLite's lock wait ran out, a PostgreSQL
    deadlock or serialization failure, a dropped connection."""
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    text = str(error.orig).lower()
    code = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    return "database is locked" in text or "database table is locked" in text or code in _BUSY_SQLSTATES


# PostgreSQL: serialization failure, deadlock, a lock wait past ``lock_timeout``.
_BUSY_SQLSTATES = ("40001", "40P01", "55P03")


def _raise_storage_busy(context: ExceptionContext) -> None:
    """``handle_error`` hook: a busy database's error becomes ``StorageBusy`` (the driver's error stays
    its cause, for the logs); every other error is left as it is. Pre-ping checks are left alone: the
    pool reconnects quietly after them."""
    if context.is_pre_ping or context.sqlalchemy_exception is None:
        return
    if context.is_disconnect or is_busy_database(context.sqlalchemy_exception):
        raise StorageBusy(BUSY)
