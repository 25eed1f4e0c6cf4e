"""The attachments' bucket is checked before anything depends on it: a process starting with
``WAPIPE_MEDIA_S3_BUCKET`` writes, reads back and deletes an object of its own there, and a missing bucket or
refused credentials stop ``wapipe serve`` with the setting to check; a bucket that does not answer only warns.
The web process's ``/healthz`` and the worker's name a bucket that stopped answering (``media``)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from server.domain.clock import ControlledClock
from server.domain.errors import Permanent, Transient
from server.jobs.liveness import Liveness
from server.jobs.worker_health import worker_health
from server.media_store import bucket_probe, check_media_store, open_media_files
from server.settings import Settings
from server.storage.engine import make_async_engine
from server.storage.heartbeats import SqlHeartbeatStore
from server.storage.migrate import upgrade
from tests.media.s3_server import S3Server
from tests.media.test_shared_bucket import PREFIX, bucket_settings
from tests.web.conftest import running_app


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Recording(httpx.AsyncBaseTransport):
    """The network, with each request's method and path written down."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.requests: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_the_start_check_writes_reads_and_deletes_an_object_of_its_own_and_leaves_nothing(
    make_settings: Callable[..., Settings], s3_server: S3Server
) -> None:
    bucket = s3_server.new_bucket()
    recording = Recording()
    await check_media_store(make_settings(**bucket_settings(s3_server, bucket)), transport=recording)
    assert [method for method, _ in recording.requests] == ["PUT", "GET", "DELETE"]
    paths = {path for _, path in recording.requests}
    assert len(paths) == 1  # one object, written, read and deleted
    assert paths.pop().startswith(f"/{bucket}/{PREFIX}wapipe-check/")
    assert s3_server.objects(bucket) == {}


async def test_a_missing_bucket_wrong_credentials_and_no_answer_are_named(
    make_settings: Callable[..., Settings], s3_server: S3Server
) -> None:
    with pytest.raises(Permanent) as missing:
        await check_media_store(make_settings(**bucket_settings(s3_server, "wapipe-nobody-made-this")))
    assert missing.value.reason == "media_bucket_missing"
    assert "wapipe-nobody-made-this" in str(missing.value) and "WAPIPE_MEDIA_S3_BUCKET" in str(missing.value)

    bucket = s3_server.new_bucket()
    wrong = {**bucket_settings(s3_server, bucket), "media_s3_secret_access_key": "not-the-secret"}
    with pytest.raises(Permanent) as refused:
        await check_media_store(make_settings(**wrong))
    assert refused.value.reason == "media_store_refused"
    assert "WAPIPE_MEDIA_S3_SECRET_ACCESS_KEY" in str(refused.value)
    assert "not-the-secret" not in str(refused.value) and s3_server.secret_access_key not in str(
        refused.value
    )
    assert s3_server.objects(bucket) == {}

    away = {**bucket_settings(s3_server, bucket), "media_s3_endpoint": f"http://127.0.0.1:{_closed_port()}"}
    with pytest.raises(Transient) as unanswered:
        await check_media_store(make_settings(**away))
    assert unanswered.value.reason == "media_store_unavailable"


def test_serve_stops_on_a_missing_bucket_naming_the_setting(tmp_path: Path, s3_server: S3Server) -> None:
    env = {
        "WAPIPE_MODE": "test",
        "WAPIPE_VAR_DIR": str(tmp_path),
        "WAPIPE_MEDIA_S3_BUCKET": "wapipe-nobody-made-this",
        "WAPIPE_MEDIA_S3_ENDPOINT": s3_server.endpoint,
        "WAPIPE_MEDIA_S3_REGION": "eu-central-1",
        "WAPIPE_MEDIA_S3_ACCESS_KEY_ID": s3_server.access_key_id,
        "WAPIPE_MEDIA_S3_SECRET_ACCESS_KEY": s3_server.secret_access_key,
    }
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WAPIPE_")}

    def wapipe(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "server.cli", *args]
        return subprocess.run(command, capture_output=True, text=True, env={**clean, **env}, timeout=60)

    assert wapipe("migrate").returncode == 0
    served = wapipe("serve", "--port", str(_closed_port()))
    assert served.returncode != 0
    assert served.stderr.strip().splitlines()[-1] == (
        "wapipe: the attachments' bucket cannot be used (media_bucket_missing): "
        "The bucket wapipe-nobody-made-this does not exist; check WAPIPE_MEDIA_S3_BUCKET"
    )
    assert s3_server.secret_access_key not in served.stderr


async def test_healthz_and_the_status_page_name_a_bucket_that_went_away(
    make_settings: Callable[..., Settings], s3_server: S3Server
) -> None:
    bucket = s3_server.new_bucket()
    settings = make_settings(**bucket_settings(s3_server, bucket))
    upgrade(settings.effective_database_url)
    async with running_app(settings) as (_, client):
        healthy = await client.get("/healthz")
        assert healthy.json() == {"status": "ok", "checks": {"database": "ok", "queue": "ok", "media": "ok"}}
        s3_server.client().delete_bucket(Bucket=bucket)  # the bucket goes away under the running app
        failing = await client.get("/healthz")
        status_page = await client.get("/")
    assert failing.status_code == 503
    assert failing.json()["failing"] == ["media"]
    assert failing.json()["checks"]["media"] == "unreachable (media_bucket_missing)"
    assert "attachments&#39; bucket" in status_page.text and "media_bucket_missing" in status_page.text


async def test_healthz_has_no_bucket_check_on_the_disk(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    upgrade(settings.effective_database_url)
    async with running_app(settings) as (_, client):
        assert set((await client.get("/healthz")).json()["checks"]) == {"database", "queue"}


async def test_the_worker_s_health_names_a_missing_bucket(
    make_settings: Callable[..., Settings], migrated_sqlite: str, redis_url: str, s3_server: S3Server
) -> None:
    bucket = s3_server.new_bucket()
    engine = make_async_engine(migrated_sqlite)
    redis = Redis.from_url(redis_url)
    liveness = Liveness(
        SqlHeartbeatStore(engine), "worker:test:1", every=timedelta(seconds=60), clock=ControlledClock()
    )
    try:
        await liveness.beat()
        async with open_media_files(make_settings(**bucket_settings(s3_server, bucket))) as files:
            probe = bucket_probe(files)
            assert probe is not None
            healthy = await worker_health(engine, redis, liveness, probe)
            assert json.loads(healthy.body)["checks"]["media"] == "ok"
            s3_server.client().delete_bucket(Bucket=bucket)
            gone = await worker_health(engine, redis, liveness, probe)
        body = json.loads(gone.body)
        assert (gone.status, body["failing"], body["checks"]["media"]) == (
            503,
            ["media"],
            "media_bucket_missing",
        )
    finally:
        await redis.aclose()
        await engine.dispose()
