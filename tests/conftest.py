"""Fixtures shared by every test: real SQLite and PostgreSQL databases, real Redis.

The services are required: a test that needs one fails with a message saying how to start it
(`make test` starts both); nothing is skipped.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
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


@contextlib.contextmanager
def _postgres_database(template: str | None = None) -> Iterator[str]:
    name = f"wapipe_test_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    with _postgres_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"{copy}')
    yield _database_url(name)
    with _postgres_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    with _postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A PostgreSQL database migrated once per run (per worker when parallel), copied by each test that
    wants a migrated one."""
    from server.storage.migrate import upgrade

    with _postgres_database() as url:
        upgrade(url)
        yield make_url(url).database or ""


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
    with _postgres_database(template=request.getfixturevalue("postgres_template")) as url:
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
