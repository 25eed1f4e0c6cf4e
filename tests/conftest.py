"""Fixtures shared by every test: real SQLite and PostgreSQL databases, real Redis.

The services are required: a test that needs one fails with a message saying how to start it
(`make test` starts both); nothing is skipped.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.engine import make_url

from server.settings import Mode, Settings, load_settings

POSTGRES_ADMIN_URL = os.environ.get(
    "WAPIPE_TEST_POSTGRES_URL", "postgresql://wapipe:wapipe@127.0.0.1:5432/postgres"
)
# Parallel runs (pytest-xdist) give each worker a Redis database of its own: gw0 uses 15, gw1 14, ...
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
REDIS_URL = os.environ.get("WAPIPE_TEST_REDIS_URL", f"redis://127.0.0.1:6379/{15 - _WORKER % 16}")
# The official OpenAPI documents the contract tests read, vendored in the repository (see vendor/openapi).
VENDORED_OPENAPI = Path(__file__).resolve().parents[1] / "vendor" / "openapi"
OPENAPI_DIR = VENDORED_OPENAPI / "pipedrive"


def _postgres_admin() -> psycopg.Connection:
    try:
        return psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        pytest.fail(
            f"PostgreSQL is required at {POSTGRES_ADMIN_URL} (run `make services`, or set "
            f"WAPIPE_TEST_POSTGRES_URL): {error}",
            pytrace=False,
        )


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'wapipe.db'}"


def _admin_url_of(name: str) -> str:
    return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _database_url(name: str) -> str:
    url = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+psycopg", database=name)
    return url.render_as_string(hide_password=False)


def _create_database(template: str | None = None) -> str:
    name = f"wapipe_test_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    with _postgres_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"{copy}')
    return name


def _drop_database(name: str) -> None:
    with _postgres_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _schema_shape(admin: psycopg.Connection) -> tuple[int, str]:
    """How many columns the database's tables have, and its migration: a test that changed the schema
    changes one of them."""
    columns = admin.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public'"
    ).fetchone()
    version = admin.execute("SELECT coalesce(max(version_num), '') FROM alembic_version").fetchone()
    return int(columns[0] if columns else 0), str(version[0] if version else "")


def _children_first(connection: psycopg.Connection) -> list[str]:
    """The schema's tables (but the migration's), each after every table whose rows refer to it."""
    tables = [
        str(row[0])
        for row in connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )
    ]
    refers: dict[str, set[str]] = {table: set() for table in tables}  # table → the tables it refers to
    for child, parent in connection.execute(
        "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint WHERE contype = 'f'"
    ):
        if child in refers and parent != child:
            refers[child].add(str(parent).strip('"'))
    ordered: list[str] = []
    while refers:
        free = sorted(t for t in refers if not any(t in others for others in refers.values()))
        if not free:
            raise psycopg.Error("the foreign keys form a cycle")
        ordered += free
        for table in free:
            del refers[table]
    return ordered


def _emptied(name: str, shape: tuple[int, str]) -> bool:
    """Empty every table of a used copy of the migrated template (its connections closed first), so the
    next test finds it as new; ``False`` when its schema is no longer the template's (it is dropped)."""
    with _postgres_admin() as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
    with psycopg.connect(_admin_url_of(name), connect_timeout=3) as connection:
        if _schema_shape(connection) != shape:
            return False
        # DELETE, not TRUNCATE (which writes new files for every table and index and waits for the disk),
        # the tables that refer to others first
        for table in _children_first(connection):
            connection.execute(f'DELETE FROM "{table}"')  # noqa: S608  (the names are the schema's own)
        sequences = connection.execute(
            "SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = 'public'"
        ).fetchall()
        for (sequence,) in sequences:
            connection.execute("SELECT setval(%s, 1, false)", (f'"{sequence}"',))
        connection.commit()
    return True


class DatabaseStock:
    """PostgreSQL databases for one test each (copies of ``template``, else empty). CREATE and DROP DATABASE
    mostly wait for the disk, so they run on a thread of their own. A copy of the template a test is done
    with is emptied there (every row deleted, its sequences restarted) and handed to a later test instead
    of being dropped, unless the test changed its schema (then a new copy takes its place); an empty
    database is made one ahead and dropped after its test. ``take`` hands out a database no test is using,
    as new."""

    def __init__(self, template: str | None = None) -> None:
        self.template = template
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="postgres-stock")
        self._ahead: Future[str] | None = None
        self._ready: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._coming = 0  # databases given back and not yet ready again
        self._lock = threading.Lock()
        self._shape: tuple[int, str] | None = None
        if template is not None:
            with psycopg.connect(_admin_url_of(template), autocommit=True, connect_timeout=3) as connection:
                self._shape = _schema_shape(connection)

    def take(self) -> str:
        if self._shape is not None:
            with self._lock:
                coming = self._coming > 0 or not self._ready.empty()
                if coming:
                    self._coming -= 1
            if coming:
                return self._ready.get(timeout=120)
            return self._thread.submit(_create_database, self.template).result()
        ahead = self._ahead or self._thread.submit(_create_database, self.template)
        self._ahead = self._thread.submit(_create_database, self.template)
        return ahead.result()

    def give_back(self, name: str) -> None:
        if self._shape is None:
            self._thread.submit(_drop_database, name)
            return
        with self._lock:
            self._coming += 1
        self._thread.submit(self._recycle, name, self._shape)

    def _recycle(self, name: str, shape: tuple[int, str]) -> None:
        try:
            if _emptied(name, shape):
                self._ready.put(name)
                return
        except psycopg.Error:
            pass  # not reusable: replaced below
        _drop_database(name)
        self._ready.put(_create_database(self.template))

    def close(self) -> None:
        """Drop every database made, and wait for it."""
        if self._ahead is not None:
            with contextlib.suppress(Exception):  # its creation failed: there is nothing to drop
                self._thread.submit(_drop_database, self._ahead.result())
        self._thread.shutdown(wait=True)
        while not self._ready.empty():
            _drop_database(self._ready.get_nowait())


@contextlib.contextmanager
def _stock(template: str | None = None) -> Iterator[DatabaseStock]:
    stock = DatabaseStock(template)
    try:
        yield stock
    finally:
        stock.close()


@contextlib.contextmanager
def taken_database(stock: DatabaseStock) -> Iterator[str]:
    name = stock.take()
    try:
        yield _database_url(name)
    finally:
        stock.give_back(name)


@pytest.fixture(scope="session")
def empty_postgres() -> Iterator[DatabaseStock]:
    """Empty PostgreSQL databases, one per test (per worker when parallel)."""
    with _stock() as stock:
        yield stock


@pytest.fixture
def postgres_url(empty_postgres: DatabaseStock) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    with taken_database(empty_postgres) as url:
        yield url


@pytest.fixture(scope="session")
def migrated_postgres() -> Iterator[DatabaseStock]:
    """PostgreSQL databases at the newest schema, one per test: copies of a database migrated once per run
    (per worker when parallel), not migrated again per test."""
    from server.storage.migrate import upgrade

    template = _create_database()
    try:
        upgrade(_database_url(template))
        with _stock(template) as stock:
            yield stock
    finally:
        _drop_database(template)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each store test runs on both backends, from an empty database."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@contextlib.contextmanager
def migrated_url(request: pytest.FixtureRequest, folder: Path, backend: str | None = None) -> Iterator[str]:
    """A database at the newest schema on the ``backend`` (by default the one ``request.param`` names): a
    SQLite file in ``folder`` or a PostgreSQL database (both copied from a template migrated once, not
    migrated again)."""
    from tests.world import migrated_database

    if (backend or request.param) == "sqlite":
        url = f"sqlite:///{folder / 'wapipe.db'}"
        migrated_database(url)
        yield url
        return
    with taken_database(request.getfixturevalue("migrated_postgres")) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def migrated_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test runs on both backends, from a database at the newest schema."""
    with migrated_url(request, tmp_path) as url:
        yield url


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The real Redis, on a database of its own, emptied before and after each test."""
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.flushdb()
    except RedisError as error:
        pytest.fail(
            f"Redis is required at {REDIS_URL} (run `make services`, or set WAPIPE_TEST_REDIS_URL): {error}",
            pytrace=False,
        )
    yield REDIS_URL
    client.flushdb()
    client.close()


def settings_in(folder: Path, **overrides: object) -> Settings:
    """Settings in test mode, their files in ``folder``, with overrides."""
    values: dict[str, object] = {
        "mode": Mode.TEST,
        "var_dir": folder,
        "media_dir": folder / "media",
        "log_format": "text",
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings in test mode, pointed at a temporary directory, with overrides."""

    def make(**overrides: object) -> Settings:
        return settings_in(tmp_path, **overrides)

    return make


@pytest.fixture
def migrated_sqlite(sqlite_url: str) -> str:
    from tests.world import migrated_database

    migrated_database(sqlite_url)
    return sqlite_url
