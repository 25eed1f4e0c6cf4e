"""Fixtures shared by every test: real SQLite and PostgreSQL databases, real Redis.

The services are required: a test that needs one fails with a message saying how to start it
(`make test` starts both); nothing is skipped.
"""

from __future__ import annotations

import contextlib
import os
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


class DatabaseStock:
    """PostgreSQL databases for one test each (copies of ``template``, else empty), made one ahead and
    dropped after their test on a thread of their own: CREATE and DROP DATABASE mostly wait for the disk,
    and the tests need not wait with them. ``take`` hands out a database no one else has used."""

    def __init__(self, template: str | None = None) -> None:
        self.template = template
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="postgres-stock")
        self._ahead: Future[str] | None = None

    def take(self) -> str:
        ahead = self._ahead or self._thread.submit(_create_database, self.template)
        self._ahead = self._thread.submit(_create_database, self.template)
        return ahead.result()

    def give_back(self, name: str) -> None:
        self._thread.submit(_drop_database, name)

    def close(self) -> None:
        """Drop the database made ahead, and wait for every drop."""
        if self._ahead is not None:
            with contextlib.suppress(Exception):  # its creation failed: there is nothing to drop
                self.give_back(self._ahead.result())
        self._thread.shutdown(wait=True)


@contextlib.contextmanager
def _stock(template: str | None = None) -> Iterator[DatabaseStock]:
    stock = DatabaseStock(template)
    try:
        yield stock
    finally:
        stock.close()


@contextlib.contextmanager
def _taken(stock: DatabaseStock) -> Iterator[str]:
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
    with _taken(empty_postgres) as url:
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


@pytest.fixture(params=["sqlite", "postgresql"])
def migrated_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test runs on both backends, from a database at the newest schema (copied from a template
    migrated once, not migrated again per test)."""
    from tests.world import migrated_database

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'wapipe.db'}"
        migrated_database(url)
        yield url
        return
    with _taken(request.getfixturevalue("migrated_postgres")) as url:
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


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings in test mode, pointed at a temporary directory, with overrides."""

    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "mode": Mode.TEST,
            "var_dir": tmp_path,
            "media_dir": tmp_path / "media",
            "log_format": "text",
        }
        values.update(overrides)
        return load_settings(**values)

    return make


@pytest.fixture
def migrated_sqlite(sqlite_url: str) -> str:
    from tests.world import migrated_database

    migrated_database(sqlite_url)
    return sqlite_url
