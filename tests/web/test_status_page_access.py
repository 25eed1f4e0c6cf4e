"""The public status page says whether WaPipe is up and when each kind of job runner last beat, never
which host or process runs it; the settings page shows those to an admin of an installed company only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from server.settings import Settings
from server.storage.engine import make_async_engine
from server.storage.heartbeats import SqlHeartbeatStore
from server.storage.migrate import upgrade
from tests.web.conftest import running_app

HOST = "db-node-secret-7"
RUNNERS = {
    f"worker:{HOST}:4242": datetime(2026, 3, 1, 12, 0, 1, tzinfo=UTC),
    f"worker:{HOST}:4243": datetime(2026, 3, 1, 12, 0, 7, tzinfo=UTC),
    f"web:{HOST}:9911": datetime(2026, 3, 1, 12, 0, 3, tzinfo=UTC),
}


async def beat(url: str) -> None:
    engine = make_async_engine(url)
    try:
        for name, at in RUNNERS.items():
            await SqlHeartbeatStore(engine).beat(name, at)
    finally:
        await engine.dispose()


async def test_the_public_page_names_runners_by_kind_only(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    upgrade(settings.effective_database_url)
    await beat(settings.effective_database_url)
    async with running_app(settings) as (_, client):
        page = await client.get("/")
        fragment = await client.get("/status", headers={"HX-Request": "true"})
    for answer in (page, fragment):
        assert answer.status_code == 200
        assert "All systems working" in answer.text
        assert HOST not in answer.text
        assert not any(pid in answer.text for pid in ("4242", "4243", "9911"))
        assert '<span data-runner="worker">worker (2) at 12:00:07</span>' in answer.text
        assert '<span data-runner="web">web (2) at ' in answer.text  # ours, and this process's own
