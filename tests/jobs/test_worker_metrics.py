"""A worker's own listener (``WAPIPE_METRICS_PORT``): a real ``wapipe worker`` process answers Prometheus's
scrape (the token rule of ``/metrics``, its own job counts, the queue read from Redis) and a health check
on a real port; the health check names what fails. The process test waits real seconds for the worker to
start and run a job (conditions with a deadline for a loaded machine, not figures)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from server.domain.clock import ControlledClock
from server.jobs.arq_queue import ArqQueue
from server.jobs.liveness import Liveness
from server.jobs.worker_health import worker_health
from server.metrics.listener import Answer, MetricsListener, json_answer
from server.settings import Settings
from server.storage.engine import make_async_engine
from server.storage.heartbeats import SqlHeartbeatStore
from tests.world import migrated_database

TOKEN = "worker-metrics-token-0123456789abcdefgh"
DEADLINE_S = 40.0
EVERY = timedelta(seconds=15)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def until(check: Callable[[], Awaitable[bool]], deadline: float, why: Callable[[], str]) -> None:
    while not await check():
        assert time.monotonic() < deadline, why()
        await asyncio.sleep(0.2)


async def test_a_worker_answers_scrapes_and_health_checks_on_its_port(
    make_settings: Callable[..., Settings], redis_url: str, tmp_path: Path
) -> None:
    settings = make_settings(redis_url=redis_url)
    migrated_database(settings.effective_database_url)
    port = free_port()
    queue = ArqQueue.from_url(redis_url)
    await queue.enqueue("sweep_inbound", job_id="sweep-later", defer_by=timedelta(hours=1))
    await queue.enqueue("sweep_inbound", job_id="sweep-now")  # a job the worker runs and times
    env = {
        **os.environ,
        "WAPIPE_MODE": "test",
        "WAPIPE_DATABASE_URL": settings.effective_database_url,
        "WAPIPE_REDIS_URL": redis_url,
        "WAPIPE_VAR_DIR": str(tmp_path / "worker"),
        "WAPIPE_METRICS_PORT": str(port),
        "WAPIPE_METRICS_TOKEN": TOKEN,
        "WAPIPE_LOG_FORMAT": "text",
    }
    log_path = tmp_path / "worker.log"
    log = log_path.open("w")
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli", "worker", env=env, stdout=log, stderr=subprocess.STDOUT
    )
    address = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=address, timeout=5) as client:
            deadline = time.monotonic() + DEADLINE_S

            async def healthy() -> bool:
                assert worker.returncode is None, log_path.read_text()[-3000:]
                try:
                    return (await client.get("/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await until(healthy, deadline, lambda: log_path.read_text()[-3000:])
            health = await client.get("/healthz")
            assert health.json() == {
                "status": "ok",
                "checks": {"database": "ok", "redis": "ok", "heartbeat": "ok"},
            }
            missing = await client.get("/metrics")
            assert missing.status_code == 401 and missing.json()["error"] == "metrics_token_required"
            assert missing.headers["www-authenticate"] == 'Bearer realm="wapipe-metrics"'
            wrong = await client.get("/metrics", headers={"Authorization": "Bearer " + "x" * len(TOKEN)})
            assert wrong.status_code == 403 and wrong.json()["error"] == "bad_metrics_token"
            assert "wapipe_" not in missing.text + wrong.text
            bearer = {"Authorization": f"Bearer {TOKEN}"}
            ran = (
                "wapipe_job_duration_seconds_count",
                frozenset({("job", "sweep_inbound"), ("outcome", "complete")}),
            )

            async def sweep_ran() -> bool:
                return samples((await client.get("/metrics", headers=bearer)).text).get(ran, 0) >= 1

            await until(sweep_ran, deadline, lambda: log_path.read_text()[-3000:])
            scrape = await client.get("/metrics", headers=bearer)
            assert scrape.status_code == 200
            assert scrape.headers["content-type"].startswith("text/plain; version=0.0.4")
            found = samples(scrape.text)
            assert found[ran] == 1
            assert found[("wapipe_job_wait_seconds_count", frozenset({("job", "sweep_inbound")}))] == 1
            later = frozenset({("job", "sweep_inbound"), ("state", "deferred")})
            assert found[("wapipe_queue_jobs", later)] == 1  # read from Redis, as every process reads it
            for source in ("queue", "sessions", "outbox"):
                assert found[("wapipe_state_readable", frozenset({("source", source)}))] == 1
            assert (await client.post("/metrics", headers=bearer)).status_code == 405
            assert (await client.get("/", headers=bearer)).status_code == 404
    finally:
        await queue.close()
        if worker.returncode is None:
            worker.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(worker.wait(), timeout=20)
        finally:
            if worker.returncode is None:
                worker.kill()
            log.close()
    assert worker.returncode == 0, log_path.read_text()[-3000:]


async def test_worker_health_names_what_fails(migrated_sqlite: str, redis_url: str) -> None:
    engine = make_async_engine(migrated_sqlite)
    away = make_async_engine(f"postgresql://wapipe@127.0.0.1:{free_port()}/gone")
    redis = Redis.from_url(redis_url)
    closed = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    clock = ControlledClock()
    liveness = Liveness(SqlHeartbeatStore(engine), "worker:test:1", every=EVERY, clock=clock)
    try:
        never_beat = await worker_health(engine, redis, liveness)
        assert never_beat.status == 503
        assert _json(never_beat)["failing"] == ["heartbeat"]
        await liveness.beat()
        assert (await worker_health(engine, redis, liveness)).status == 200
        clock.advance(EVERY.total_seconds() * 3 - 1)  # a beat late, not yet three
        assert (await worker_health(engine, redis, liveness)).status == 200
        clock.advance(2)
        silent = await worker_health(engine, redis, liveness)
        assert (silent.status, _json(silent)["failing"]) == (503, ["heartbeat"])
        await liveness.beat()
        unreachable = await worker_health(away, closed, liveness)
        body = _json(unreachable)
        assert (unreachable.status, body["failing"]) == (503, ["database", "redis"])
        assert body["checks"]["heartbeat"] == "ok"
    finally:
        await redis.aclose()
        await closed.aclose()
        await away.dispose()
        await engine.dispose()


def _json(answer: Answer) -> dict[str, object]:
    body: dict[str, object] = json.loads(answer.body)
    return body


async def test_the_listener_drops_what_is_not_a_request_and_keeps_listening() -> None:
    async def metrics() -> bytes:
        return b"wapipe_up 1\n"

    async def health() -> Answer:
        return json_answer(200, {"status": "ok"})

    listener = MetricsListener(token=TOKEN, metrics=metrics, health=health, read_timeout=0.5)
    await listener.start("127.0.0.1", 0)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        writer.write(b"GET /metrics HTTP/1.1\r\n" + b"X-Padding: " + b"a" * 9000 + b"\r\n\r\n")
        await writer.drain()
        # a head too long: the connection is closed without an answer (reset, as the rest is unread)
        with contextlib.suppress(ConnectionResetError):
            assert await asyncio.wait_for(reader.read(), timeout=5) == b""
        writer.close()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{listener.port}", timeout=5) as client:
            answer = await client.get("/metrics?x=1", headers={"Authorization": f"Bearer {TOKEN}"})
            assert (answer.status_code, answer.text) == (200, "wapipe_up 1\n")
            assert (await client.get("/healthz")).json() == {"status": "ok"}
    finally:
        await listener.stop()
