"""The Procfile deployment with real processes: `wapipe migrate`, one `wapipe serve` and two `wapipe worker`
on PostgreSQL and Redis, against the Pipedrive and WAHA sandboxes served by the test (Pipedrive answering
each call 150 ms late, as a far-away API does). Customers write on the simulated phones; while a worker
holds a chat's sync, it is killed with SIGKILL (no clean-up of any kind). The other worker picks the chat up
once its lease runs out, and every message is reconciled in Pipedrive: each logged exactly once, one
Person per number, one activity per chat and day.

This test waits real seconds, as it runs real processes; its deadline is a bound for a loaded machine, not a
figure (a chat of a killed worker used to wait for the dead job's 600 s timeout). The pick-up time is
printed for the record; ``bench/`` measures the deployment."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.deploy_bench import env_for as deployment_env
from server.demo import DemoAddresses
from server.demo_bootstrap import bootstrap_demo
from server.settings import Mode, Settings, load_settings
from tests.e2e.demo_world import DemoSandboxes, address_of, listening_socket, running_sandboxes

CHATS = 8
MESSAGES = 3  # per chat, written one after the other
LEASE_S = 3  # WAPIPE_SYNC_LEASE: how soon a killed worker's chat is free
DEADLINE_S = 120.0


def numbers() -> list[str]:
    return [f"4917{6543210 + i * 7919:08d}" for i in range(CHATS)]


def text(number: str, index: int) -> str:
    return f"Nachricht {index} von {number}"


def env_for(settings: Settings, folder: Path, database: str, redis: str) -> dict[str, str]:
    """The deployment benchmark's processes (demo mode pointed at the sandboxes, on PostgreSQL and Redis),
    with the quick waits and a short sync lease, and their logs at INFO for a failure's tails."""
    quick = {
        "WAPIPE_SYNC_BURST_WINDOW": "0.3",
        "WAPIPE_BUSY_RETRY": "0.2",
        "WAPIPE_RETRY_BASE": "0.5",
        "WAPIPE_SYNC_LEASE": str(LEASE_S),
        "WAPIPE_HEARTBEAT_EVERY": "1",
        "WAPIPE_LOG_LEVEL": "INFO",
    }
    return {**deployment_env(settings, folder, database, redis), **quick}


@contextlib.contextmanager
def processes() -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    running: dict[str, subprocess.Popen[bytes]] = {}
    try:
        yield running
    finally:
        for process in running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in running.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def start(
    running: dict[str, subprocess.Popen[bytes]], name: str, args: list[str], env: dict[str, str], logs: Path
) -> subprocess.Popen[bytes]:
    log = (logs / f"{name}.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "server.cli", *args], env=env, stdout=log, stderr=log)
    running[name] = process
    return process


def lease_holder(database: str) -> tuple[int, str] | None:
    """A chat whose sync run holds it now, and the run's owner (``worker:<host>:<pid>:<job id>``)."""
    with psycopg.connect(database.replace("+psycopg", ""), autocommit=True) as connection:
        row = connection.execute(
            "SELECT chat_id, lease_owner FROM sync_chat_link WHERE lease_owner LIKE 'worker:%' LIMIT 1"
        ).fetchone()
    return (int(row[0]), str(row[1])) if row else None


def logged_texts(company: dict[str, Any]) -> Counter[str]:
    """How often each message's text appears across the company's "WhatsApp chat" activities."""
    found: Counter[str] = Counter()
    for activity in company["activities"]:
        note = str(activity.get("note") or "")
        for number in numbers():
            for index in range(MESSAGES):
                found[text(number, index)] += note.count(text(number, index))
    return found


async def reconciled(http: httpx.AsyncClient, pipedrive: str) -> dict[str, Any] | None:
    company = (await http.get(f"{pipedrive}/_sandbox/state")).json()["companies"][0]
    expected = {text(number, index) for number in numbers() for index in range(MESSAGES)}
    counts = logged_texts(company)
    if any(counts[t] == 0 for t in expected):
        return None
    return dict(company)


async def test_a_worker_killed_mid_sync_loses_and_doubles_nothing(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    with running_sandboxes() as sandboxes, processes() as running:
        web_socket = listening_socket()
        wapipe = address_of(web_socket)
        port = int(wapipe.rsplit(":", 1)[1])
        web_socket.close()  # `wapipe serve` binds it
        addresses = DemoAddresses(wapipe, sandboxes.pipedrive, sandboxes.waha)
        settings = load_settings(
            mode=Mode.DEMO,
            var_dir=tmp_path,
            public_url=wapipe,
            pipedrive_oauth_url=sandboxes.pipedrive,
            pipedrive_api_url=sandboxes.pipedrive,
            waha_url=sandboxes.waha,
        )
        sandboxes.reset_for(settings, addresses)
        env = env_for(settings, tmp_path, postgres_url, redis_url)
        migrate = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "server.cli", "migrate", env=env, stderr=asyncio.subprocess.PIPE
        )  # the Procfile's release step
        _, errors = await asyncio.wait_for(migrate.communicate(), timeout=120)
        assert migrate.returncode == 0, errors.decode()[-2000:]
        start(running, "web", ["serve", "--port", str(port)], env, tmp_path)
        for name in ("one", "two"):
            start(running, name, ["worker"], env, tmp_path)

        ready = await bootstrap_demo(settings, wapipe, sandboxes.pipedrive, sandboxes.waha)
        await _run(sandboxes, ready.session, postgres_url, running, tmp_path)


async def _run(
    sandboxes: DemoSandboxes,
    session: str,
    database: str,
    running: dict[str, subprocess.Popen[bytes]],
    logs: Path,
) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        await http.post(f"{sandboxes.pipedrive}/_sandbox/faults", json={"latency_ms": 150})
        for index in range(MESSAGES):
            for number in numbers():
                sent = await http.post(
                    f"{sandboxes.waha}/_sim/{session}/inbound",
                    json={"from": f"+{number}", "text": text(number, index), "name": f"Kunde {number[-4:]}"},
                )
                assert sent.status_code == 201, sent.text

        deadline = time.monotonic() + DEADLINE_S
        while (held := lease_holder(database)) is None:
            assert time.monotonic() < deadline, "no worker ever held a chat's sync"
            await asyncio.sleep(0.05)
        chat_id, owner = held
        pid = int(owner.split(":")[2])
        victim = next(name for name, process in running.items() if process.pid == pid)
        running[
            victim
        ].kill()  # SIGKILL: the run's lease, its job and its creates in flight stay as they were
        killed_at = time.monotonic()
        assert running[victim].wait(timeout=15) == -signal.SIGKILL

        while (company := await reconciled(http, sandboxes.pipedrive)) is None:
            if time.monotonic() > deadline:
                tails = {name: (logs / f"{name}.log").read_text(errors="replace")[-3000:] for name in running}
                raise AssertionError(f"messages still missing after the kill of {victim}: {tails}")
            await asyncio.sleep(0.2)
        took = time.monotonic() - killed_at
        print(f"chat {chat_id} of the killed worker: all messages logged {took:.1f} s after the kill")

    counts = logged_texts(company)
    doubled = {t: n for t, n in counts.items() if n > 1}
    assert doubled == {}, doubled  # nothing logged twice
    phones = Counter(
        "".join(ch for ch in phone["value"] if ch.isdigit())
        for person in company["persons"]
        for phone in person.get("phones") or []
        if phone.get("value")
    )
    assert all(phones[number] == 1 for number in numbers()), phones  # one Person per number
    days = Counter(
        (activity.get("person_id"), activity.get("due_date"))
        for activity in company["activities"]
        if any(text(number, 0) in str(activity.get("note") or "") for number in numbers())
    )
    assert len(days) == CHATS and set(days.values()) == {1}, days  # one activity per chat and day
