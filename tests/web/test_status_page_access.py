"""The public status page says whether WaPipe is up, when each kind of process last beat and how many
stopped beating, never which host or process runs it; ``/healthz/workers`` fails while no worker beats."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from server.settings import Settings
from server.storage.engine import make_async_engine
from server.storage.heartbeats import SqlHeartbeatStore
from server.storage.migrate import upgrade
from tests.web.conftest import running_app

HOST = "db-node-secret-7"
EVERY = 15  # WAPIPE_HEARTBEAT_EVERY: a process silent for three beats (45 s) is not beating


def runners(now: datetime) -> dict[str, datetime]:
    return {
        f"worker:{HOST}:4242": now - timedelta(seconds=20),  # beating
        f"worker:{HOST}:4243": now - timedelta(seconds=5),  # beating
        f"worker:{HOST}:4244": now - timedelta(seconds=50),  # killed a few beats ago
        f"web:{HOST}:9911": now - timedelta(seconds=3),
    }


async def beat(url: str, runners: dict[str, datetime]) -> None:
    engine = make_async_engine(url)
    try:
        for name, at in runners.items():
            await SqlHeartbeatStore(engine).beat(name, at)
    finally:
        await engine.dispose()


async def test_the_public_page_names_runners_by_kind_only(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(heartbeat_every=EVERY)
    upgrade(settings.effective_database_url)
    now = datetime.now(UTC).replace(microsecond=0)
    await beat(settings.effective_database_url, runners(now))
    async with running_app(settings) as (_, client):
        page = await client.get("/")
        fragment = await client.get("/status", headers={"HX-Request": "true"})
    for answer in (page, fragment):
        assert answer.status_code == 200
        assert "All systems working" in answer.text
        assert HOST not in answer.text
        assert not any(pid in answer.text for pid in ("4242", "4243", "4244", "9911"))
        newest = (now - timedelta(seconds=5)).strftime("%H:%M:%S")
        assert (
            f'<span data-runner="worker">worker (2) at {newest} <span class="failing" data-silent="1">'
            "(1 not beating)</span></span>"
        ) in answer.text
        assert '<span data-runner="web">web (2) at ' in answer.text  # that one, and this process's own


async def test_the_workers_health_check_fails_while_no_worker_beats(
    make_settings: Callable[..., Settings], redis_url: str
) -> None:
    settings = make_settings(heartbeat_every=EVERY, redis_url="")
    upgrade(settings.effective_database_url)
    killed_at = datetime.now(UTC) - timedelta(seconds=50)
    await beat(settings.effective_database_url, {f"worker:{HOST}:4244": killed_at})
    async with running_app(settings) as (_, client):
        # without Redis this process runs the jobs: its own beat is the one that counts
        alone = await client.get("/healthz/workers")
        assert (alone.status_code, alone.json()["beating"]) == (200, 1)
    with_redis = make_settings(heartbeat_every=EVERY, redis_url=redis_url)
    async with running_app(with_redis) as (_, client):
        silent = await client.get("/healthz/workers")
        assert silent.status_code == 503
        assert silent.json() == {"status": "failing", "beating": 0, "not_beating": 1, "failing": ["workers"]}
        await beat(settings.effective_database_url, {f"worker:{HOST}:4245": datetime.now(UTC)})
        back = await client.get("/healthz/workers")
        assert (back.status_code, back.json()["beating"]) == (200, 1)
