"""Deployment benchmark: WaPipe as the Procfile runs it, in real processes, for several shapes.

Per shape (``--shapes 1x1,2x2,2x4``: web processes × workers) on a fresh database: the Pipedrive and WAHA
sandboxes in a process of their own (``bench.sandboxes``), a PostgreSQL cluster and a Redis server of the
benchmark's own (started once, so restarting them touches nothing else), ``wapipe migrate``, N
``wapipe serve`` on their own ports behind a small round-robin balancer (``bench.balancer``, the address
WaPipe registers as its webhook URL, so the gateway's webhooks are spread over the web processes), and M
``wapipe worker``, all in demo mode pointed at the sandboxes and installed and linked over HTTP as a user
does (``server.demo_bootstrap``). A supervisor starts any WaPipe process again that exits.

The sync scenario of ``bench.sync_bench`` is then played (bursts across 200 chats, 10,000 Persons, 150 ms
added per Pipedrive call, the Lite plan's limits) and the same JSON printed, measured from outside: the
latency from a message reaching the gateway to its text being in an activity Pipedrive accepted,
Pipedrive's own counts of requests and tokens, and the sandbox's activities, Persons and files reconciled
against every message sent; beside them the CPU time of every process.

``--faults``: during the traffic, a worker is killed with SIGKILL mid Pipedrive write, mid media download
and mid send (panel sends made for it; the gateway holds its answers so the kill falls inside), a web
process is restarted while webhooks arrive, Redis is restarted (losing its queue) and PostgreSQL is
restarted; afterwards every message, Person, activity, file and send is reconciled and the jobs left over
are counted.

``--ingest``: webhooks accepted per second and the p99 acknowledgement time of two web processes, driven
with correctly signed WAHA deliveries at growing concurrency, with the CPU of each process, to say which
limit was reached.

    .venv/bin/python -m bench.deploy_bench --shapes 1x1,2x2 --seconds 20
    .venv/bin/python -m bench.deploy_bench --shapes 2x2 --faults
    .venv/bin/python -m bench.deploy_bench --ingest
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import psycopg
from redis.asyncio import Redis

from bench.campaign_processes import cpu_s
from bench.deploy_processes import Cluster, Fleet, RedisServer, machine_busy_s, run_to_end
from bench.sandboxes import free_port
from bench.sync_bench import _by_window_of, _percentiles
from server.demo import APP_NAME
from server.demo_bootstrap import bootstrap_demo
from server.jobs.arq_queue import QUEUE_NAME
from server.jobs.reaper import RUNNING_PREFIX
from server.settings import Mode, Settings, load_settings
from server.web.frame_auth import TOKEN_HEADER

WARM_UP_NUMBER = "4930999000001"
SEND_MARKER = "DEPLOYSEND"
HOLD_WAIT_S = 120.0  # a send's job may wait behind the traffic's backlog before it runs
GAP_S = 25.0  # between two faults: a killed worker's jobs are freed within about 20 s (the reaper)


@dataclass
class World:
    """One shape's running deployment."""

    args: argparse.Namespace
    where: dict[str, Any]
    settings: Settings
    fleet: Fleet
    cluster: Cluster
    redis: RedisServer
    database: str  # the SQLAlchemy URL of this shape's database
    balancer: str
    balancer_stats: Path
    http: httpx.AsyncClient
    session: str = ""
    company_id: int = 0
    admin_id: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    sends: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def note(self, what: str, **details: Any) -> None:
        self.events.append({"at_s": round(time.monotonic() - self.started, 1), "what": what, **details})


async def ok(response: Any) -> httpx.Response:
    answer: httpx.Response = await response
    answer.raise_for_status()
    return answer


@contextlib.asynccontextmanager
async def sandboxes(args: argparse.Namespace, api_key: str) -> AsyncIterator[dict[str, Any]]:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.sandboxes",
        "--chats",
        str(args.chats),
        "--persons",
        str(args.persons),
        "--unknown",
        str(args.unknown),
        "--waha-api-key",
        api_key,
        "--fresh-connections",
        stdout=asyncio.subprocess.PIPE,
        limit=1 << 24,
    )
    assert child.stdout is not None
    try:
        line = await asyncio.wait_for(child.stdout.readline(), timeout=180)
        if not line:
            raise SystemExit(f"bench.sandboxes exited with {await child.wait()} before it was ready")
        yield {**json.loads(line), "pid": child.pid}
    finally:
        with contextlib.suppress(httpx.HTTPError):
            async with httpx.AsyncClient(timeout=5) as http:
                await http.post(f"{json.loads(line)['control']}/stop")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(child.wait(), timeout=10)
        if child.returncode is None:
            child.kill()
            await child.wait()


@contextlib.asynccontextmanager
async def balancer(port: int, backends: list[int], stats: Path) -> AsyncIterator[int]:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.balancer",
        "--port",
        str(port),
        "--backends",
        ",".join(f"127.0.0.1:{p}" for p in backends),
        "--stats",
        str(stats),
        stdout=asyncio.subprocess.PIPE,
        stderr=stats.with_suffix(".log").open("ab"),
    )
    assert child.stdout is not None
    try:
        await asyncio.wait_for(child.stdout.readline(), timeout=30)
        yield child.pid
    finally:
        child.terminate()
        await child.wait()


def env_for(settings: Settings, folder: Path, database: str, redis: str) -> dict[str, str]:
    """Demo mode pointed at the sandboxes, on PostgreSQL and Redis; every other setting is the default."""
    values = {
        "WAPIPE_MODE": "demo",
        "WAPIPE_VAR_DIR": str(folder),
        "WAPIPE_DATABASE_URL": database,
        "WAPIPE_REDIS_URL": redis,
        "WAPIPE_PUBLIC_URL": settings.public_url,
        "WAPIPE_PIPEDRIVE_OAUTH_URL": settings.pipedrive_oauth_url,
        "WAPIPE_PIPEDRIVE_API_URL": settings.pipedrive_api_url,
        "WAPIPE_WAHA_URL": settings.waha_url,
        "WAPIPE_LOG_FORMAT": "text",
        "WAPIPE_LOG_LEVEL": "WARNING",
    }
    return {**os.environ, **values}


async def register_app(http: httpx.AsyncClient, settings: Settings, pipedrive: str) -> None:
    """WaPipe as an app of the Pipedrive sandbox, at the balancer's address (``build_pipedrive_sandbox``)."""
    wapipe = settings.public_url
    await ok(
        http.post(
            f"{pipedrive}/_sandbox/clients",
            json={
                "client_id": settings.pipedrive_client_id,
                "client_secret": settings.pipedrive_client_secret.get_secret_value(),
                "redirect_uri": f"{wapipe}/oauth/callback",
                "jwt_secret": settings.pipedrive_jwt_secret.get_secret_value(),
                "name": APP_NAME,
            },
        )
    )
    await ok(
        http.post(
            f"{pipedrive}/_sandbox/host/apps",
            json={
                "client_id": settings.pipedrive_client_id,
                "panel_url": f"{wapipe}/panel",
                "settings_url": f"{wapipe}/settings",
                "modal_url": f"{wapipe}/campaigns/modal",
            },
        )
    )


def new_database(cluster: Cluster, name: str) -> str:
    with psycopg.connect(cluster.admin_url(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://wapipe@127.0.0.1:{cluster.port}/{name}"


def sql(database: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(database.replace("+psycopg", ""), autocommit=True, connect_timeout=5) as connection:
        return list(connection.execute(query).fetchall())


@contextlib.asynccontextmanager
async def deployment(
    args: argparse.Namespace, cluster: Cluster, redis: RedisServer, webs: int, workers: int, label: str
) -> AsyncIterator[World]:
    """Sandboxes, a fresh database and Redis, migrate, the web processes behind the balancer, the workers,
    WaPipe installed and a number linked; the supervisor runs until the block ends."""
    workdir = Path(tempfile.mkdtemp(prefix=f"deploy-{label}-", dir=args.workdir))
    database = new_database(cluster, f"wapipe_deploy_{label}")
    flush = await asyncio.create_subprocess_exec(
        "redis-cli", "-p", str(redis.port), "flushall", stdout=asyncio.subprocess.DEVNULL
    )
    await flush.wait()
    front = free_port()
    ports = [free_port() for _ in range(webs)]
    settings = load_settings(mode=Mode.DEMO, var_dir=workdir, public_url=f"http://127.0.0.1:{front}")
    async with sandboxes(args, settings.waha_api_key.get_secret_value()) as where:
        settings = load_settings(
            mode=Mode.DEMO,
            var_dir=workdir,
            public_url=f"http://127.0.0.1:{front}",
            pipedrive_oauth_url=where["pipedrive"],
            pipedrive_api_url=where["pipedrive"],
            waha_url=where["waha"],
        )
        env = env_for(settings, workdir, database, redis.url)
        fleet = Fleet(env, workdir)
        stats = workdir / "balancer.json"
        async with (
            httpx.AsyncClient(timeout=120) as http,
            balancer(front, ports, stats) as balancer_pid,
        ):
            await register_app(http, settings, where["pipedrive"])
            await run_to_end(["migrate"], env)  # the Procfile's release step
            for index, port in enumerate(ports, 1):
                fleet.start(f"web{index}", ["serve", "--port", str(port)])
            for index in range(1, workers + 1):
                fleet.start(f"worker{index}", ["worker"])
            supervisor = asyncio.create_task(fleet.supervise())
            world = World(
                args, where, settings, fleet, cluster, redis, database, settings.public_url, stats, http
            )
            world.where["balancer_pid"] = balancer_pid
            try:
                ready = await bootstrap_demo(settings, settings.public_url, where["pipedrive"], where["waha"])
                world.session, world.company_id, world.admin_id = (
                    ready.session,
                    ready.company_id,
                    ready.admin_id,
                )
                yield world
            finally:
                supervisor.cancel()
                fleet.stop_all()


async def traffic(
    world: World, *, seconds: float, seed: int, first_burst: int, chats: list[str]
) -> dict[str, Any]:
    body = {
        "seconds": seconds,
        "rate": world.args.rate,
        "media": world.args.media,
        "seed": seed,
        "first_burst": first_burst,
        "chats": chats,
        "session": world.session,
    }
    answer = await ok(world.http.post(f"{world.where['control']}/traffic", json=body, timeout=seconds + 300))
    return dict(answer.json())


async def data(world: World) -> dict[str, Any]:
    return dict((await ok(world.http.get(f"{world.where['control']}/data"))).json())


async def usage(world: World) -> dict[str, Any]:
    return dict((await ok(world.http.get(f"{world.where['control']}/usage"))).json())


async def warm_up(world: World) -> None:
    """One message from a number of no chat: the company's phone index is built before the traffic, as
    ``bench.sync_bench`` builds it (its Person and activity are not counted)."""
    played = await traffic(world, seconds=0.1, seed=1, first_burst=900_000, chats=[WARM_UP_NUMBER])
    deadline = time.monotonic() + 180
    while not set(played["sent"]) <= set((await data(world))["in_note"]):
        if time.monotonic() > deadline:
            raise SystemExit(f"the warm-up message never reached Pipedrive; logs in {world.fleet.logs}")
        await asyncio.sleep(1)


async def queue_state(redis: RedisServer) -> dict[str, int]:
    """Jobs on the queue: due now (not started), deferred to later, and running on a worker now."""
    client = Redis.from_url(redis.url, decode_responses=True)
    try:
        now_ms = time.time() * 1000
        due_ids = await client.zrangebyscore(QUEUE_NAME, "-inf", now_ms)
        total = await client.zcard(QUEUE_NAME)
        started = 0
        for job_id in due_ids:
            started += int(await client.exists(f"arq:in-progress:{job_id}"))
        running = 0
        async for key in client.scan_iter(f"{RUNNING_PREFIX}*"):
            running += int(await client.scard(key))
        return {"due": len(due_ids) - started, "deferred": int(total) - len(due_ids), "running": running}
    finally:
        await client.aclose()


async def running_jobs(redis: RedisServer) -> dict[int, list[str]]:
    """By worker pid, the ids of the jobs it is running now (``wapipe:running:worker:<host>:<pid>``)."""
    client = Redis.from_url(redis.url, decode_responses=True)
    try:
        found: dict[int, list[str]] = {}
        async for key in client.scan_iter(f"{RUNNING_PREFIX}worker:*"):
            pid = int(str(key).rsplit(":", 1)[1])
            found[pid] = sorted(await client.smembers(key))
        return found
    finally:
        await client.aclose()


async def settle(world: World, sent: list[str], drain: float) -> float:
    """Wait until every token is in a note, the queue has nothing due or running, and the database no
    webhook to process, no send queued or in flight (or ``drain`` is over); the seconds it took."""
    began = time.monotonic()
    while time.monotonic() - began < drain:
        notes = (await data(world))["in_note"]
        if all(t in notes for t in sent):
            with contextlib.suppress(Exception):
                state = await queue_state(world.redis)
                left = leftovers(world)
                unfinished = left["inbound_events_by_state"].get("pending", 0) + sum(
                    n for status, n in left["outbox_by_status"].items() if status in ("queued", "sending")
                )
                if state["due"] == 0 and state["running"] == 0 and unfinished == 0:
                    break
        await asyncio.sleep(2)
    return time.monotonic() - began


# faults --------------------------------------------------------------------------------------------------


def worker_named(world: World, pid: int) -> str | None:
    return next(
        (
            name
            for name, proc in world.fleet.procs.items()
            if name.startswith("worker") and proc.process.pid == pid
        ),
        None,
    )


async def kill_mid_pipedrive_write(world: World) -> None:
    """SIGKILL the worker holding a chat's sync lease (its run is writing to Pipedrive, 150 ms a call)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with contextlib.suppress(psycopg.Error):
            rows = sql(
                world.database, "SELECT lease_owner FROM sync_chat_link WHERE lease_owner LIKE 'worker:%'"
            )
            for (owner,) in rows:
                name = worker_named(world, int(str(owner).split(":")[2]))
                if name:
                    world.fleet.kill(name)
                    world.note("kill -9 mid Pipedrive write", worker=name, lease_owner=owner)
                    return
        await asyncio.sleep(0.05)
    world.note("kill -9 mid Pipedrive write: no worker held a sync lease within 20 s")


async def kill_holding(world: World, path: str, prefix: str, what: str, before: Any = None) -> None:
    """The gateway holds its answers to ``path`` (the work is done, the answer late); the worker running a
    job whose id starts with ``prefix`` is killed while its request waits."""
    control = world.where["control"]
    await ok(world.http.post(f"{control}/hold", json={"path": path, "seconds": 8}))
    try:
        if before is not None:
            await before
        deadline = time.monotonic() + HOLD_WAIT_S
        while time.monotonic() < deadline:
            held = (await ok(world.http.get(f"{control}/held"))).json()
            if held["now"] > 0:
                for pid, jobs in (await running_jobs(world.redis)).items():
                    name = worker_named(world, pid)
                    if name and any(job.startswith(prefix) for job in jobs):
                        world.fleet.kill(name)
                        world.note(f"kill -9 {what}", worker=name, jobs=jobs)
                        return
            await asyncio.sleep(0.05)
        world.note(f"kill -9 {what}: no worker was running a {prefix} job while the gateway held it")
    finally:
        await ok(world.http.post(f"{control}/hold", json={"path": path, "seconds": 0}))


async def panel_sends(world: World, count: int) -> None:
    """``count`` messages sent from the panel of known Persons (through the balancer, as a user's browser)."""
    now = int(time.time())
    claims = {"companyId": world.company_id, "userId": world.admin_id, "iat": now, "exp": now + 600}
    token = jwt.encode(claims, world.settings.pipedrive_jwt_secret.get_secret_value(), algorithm="HS256")
    account = sql(world.database, "SELECT id FROM whatsapp_account ORDER BY id LIMIT 1")[0][0]
    # Phones written with their country code ("+49 …", "0049…"): the panel offers them as they are.
    known = [(n, v) for n, v in world.where["known"].items() if str(v[1]).startswith(("+", "00"))][:count]
    for index, (_, (person_id, phone)) in enumerate(known):
        text = f"{SEND_MARKER}{index}X from the panel"
        answer = await world.http.post(
            f"{world.balancer}/panel/send",
            headers={TOKEN_HEADER: token},
            data={
                "person_id": str(person_id),
                "to": phone,
                "account_id": str(account),
                "text": text,
                "client_ref": f"deploy-bench-{index}",
            },
        )
        world.sends.append(text)
        if answer.status_code >= 300:
            page = world.fleet.logs / f"panel-send-{index}.html"
            page.write_text(answer.text)
            world.note("a panel send was refused", status=answer.status_code, page=str(page))


async def fault_schedule(world: World, seconds: float) -> None:
    """The faults, spread over the traffic's ``seconds``."""
    began = time.monotonic()
    last = [began - GAP_S]

    async def at(share: float) -> None:
        """At this share of the traffic, and at least ``GAP_S`` after the previous fault ended (so each
        fault's effects can be told apart)."""
        await asyncio.sleep(
            max(0.0, began + share * seconds - time.monotonic(), last[0] + GAP_S - time.monotonic())
        )

    await at(0.1)
    await kill_mid_pipedrive_write(world)
    last[0] = time.monotonic()
    await at(0.25)
    await kill_holding(world, "/api/files/", "media:", "mid media download")
    last[0] = time.monotonic()
    await at(0.4)
    await kill_holding(world, "/api/sendText", "send:", "mid send", panel_sends(world, world.args.sends))
    last[0] = time.monotonic()
    await at(0.55)
    restart = time.monotonic()
    await asyncio.to_thread(world.fleet.restart, "web1")
    world.note("web1 restarted (SIGTERM, started again)", took_s=round(time.monotonic() - restart, 1))
    last[0] = time.monotonic()
    await at(0.7)
    took = await asyncio.to_thread(world.redis.restart)
    world.note("Redis restarted (no persistence: its queue is lost)", took_s=round(took, 1))
    last[0] = time.monotonic()
    await at(0.85)
    took = await asyncio.to_thread(world.cluster.restart)
    world.note("PostgreSQL restarted (pg_ctl restart -m fast)", took_s=round(took, 1))


# measuring -----------------------------------------------------------------------------------------------


def process_cpu(world: World) -> dict[str, float]:
    cpu = {name: round(world.fleet.cpu(name), 1) for name in sorted(world.fleet.procs)}
    cpu["postgresql"] = round(world.cluster.cpu_s(), 1)
    cpu["machine, every process"] = round(machine_busy_s(), 1)
    cpu["redis"] = round(sum(_cpu_or_zero(pid) for pid in world.redis.pids()), 1)
    cpu["balancer"] = round(_cpu_or_zero(int(world.where["balancer_pid"])), 1)
    cpu["sandboxes"] = round(_cpu_or_zero(int(world.where["pid"])), 1)
    return cpu


def _cpu_or_zero(pid: int) -> float:
    try:
        return cpu_s(pid)
    except (OSError, IndexError, ValueError):
        return 0.0


def leftovers(world: World) -> dict[str, Any]:
    """What is not finished in the database: inbound events, chats' leases, attachments, the outbox."""
    db = world.database
    return {
        "inbound_events_by_state": dict(sql(db, "SELECT state, count(*) FROM inbound_event GROUP BY state")),
        "sync_leases_held": sql(
            db, "SELECT count(*) FROM sync_chat_link WHERE lease_owner <> '' AND lease_until > now()"
        )[0][0],
        "attachments_by_state": dict(sql(db, "SELECT state, count(*) FROM message_media GROUP BY state")),
        "outbox_by_status": dict(sql(db, "SELECT status, count(*) FROM outbox GROUP BY status")),
    }


def measure(
    snapshot: dict[str, Any], played: dict[str, Any], before: dict[str, Any], after: dict[str, Any]
) -> dict[str, Any]:
    """The sync bench's figures, from the sandboxes' side: ``played`` is the traffic's answer (tokens and
    when they reached the gateway), ``before``/``after`` Pipedrive's usage around it."""
    sent: list[str] = played["sent"]
    at: dict[str, float] = played["at"]
    notes: dict[str, float] = snapshot["in_note"]
    live = [a for a in snapshot["activities"] if "B900001M" not in a["note"]]  # not the warm-up's
    token = re.compile(r"B\d+M\d+X")
    counts = Counter(token.findall("\n".join(a["note"] for a in live)))
    slots = Counter((a["person_id"], a["due_date"], a["subject"]) for a in live)
    digits = Counter(re.sub(r"\D", "", phone)[-10:] for phone in snapshot["phones"])
    pairs = [(at[t], notes[t]) for t in set(sent) if t in at and t in notes]
    latencies = sorted(noted - received for received, noted in pairs)
    requests = after["requests"] - before["requests"]
    tokens = after["tokens"] - before["tokens"]
    operations = {k: v - before["by_operation"].get(k, 0) for k, v in after["by_operation"].items()}
    operations = {k: v for k, v in sorted(operations.items()) if v}
    uploads = sum(v for k, v in operations.items() if k.endswith("/files"))
    searches = sum(v for k, v in operations.items() if "search" in k)
    messages = len(sent)
    overall = _percentiles(latencies)
    files = snapshot["files"]
    return {
        "messages": messages,
        "latency_p50_s": overall[0] if overall else None,
        "latency_p99_s": overall[1] if overall else None,
        "latency_p50_p99_by_10s_of_traffic": _by_window_of(pairs),
        "requests": requests,
        "requests_per_message": round(requests / max(1, messages), 3),
        "tokens_per_message": round(tokens / max(1, messages), 2),
        "searches": searches,
        "rate_limited_429": after["rejected"] - before["rejected"],
        "lost": sum(1 for t in set(sent) if counts[t] == 0),
        "duplicated": sum(1 for t in set(sent) if counts[t] > 1),
        "upload_requests": uploads,
        "requests_per_message_without_uploads": round((requests - uploads) / max(1, messages), 3),
        "activities": len(live),
        "duplicate_activities": sum(n - 1 for n in slots.values()),
        "duplicate_persons": sum(n - 1 for n in digits.values()),
        "files": len(files),
        "duplicate_files": len(files) - len({tuple(f) for f in files}),
        "requests_per_chat_day": round(requests / max(1, len(live)), 2),
        "operations": operations,
    }


async def run_shape(
    args: argparse.Namespace, cluster: Cluster, redis: RedisServer, webs: int, workers: int, faults: bool
) -> dict[str, Any]:
    label = f"{webs}x{workers}" + ("_faults" if faults else "")
    async with deployment(args, cluster, redis, webs, workers, label) as world:
        await ok(
            world.http.post(
                f"{world.where['pipedrive']}/_sandbox/faults", json={"latency_ms": args.latency_ms}
            )
        )
        await warm_up(world)
        before = await usage(world)
        cpu_before = process_cpu(world)
        spread_before = json.loads(world.balancer_stats.read_text())
        world.started = time.monotonic()
        schedule = asyncio.create_task(fault_schedule(world, args.seconds)) if faults else None
        played = await traffic(world, seconds=args.seconds, seed=3, first_burst=0, chats=[])
        if schedule is not None:
            await schedule
        traffic_s = time.monotonic() - world.started
        settled_s = await settle(world, played["sent"], args.drain)
        after = await usage(world)
        snapshot = await data(world)
        cpu_after = process_cpu(world)
        result = measure(snapshot, played, before, after)
        wall = time.monotonic() - world.started
        result["wall_s"] = round(wall, 1)
        result["traffic_s"] = round(traffic_s, 1)
        result["settled_after_traffic_s"] = round(settled_s, 1)
        result["messages_per_second_written"] = round(
            (result["messages"] - result["lost"]) / max(0.1, traffic_s + settled_s), 2
        )
        result["cpu_s"] = {k: round(v - cpu_before.get(k, 0.0), 1) for k, v in cpu_after.items()}
        spread = json.loads(world.balancer_stats.read_text())
        result["balancer_during_run"] = {
            "connections": [
                a - b for a, b in zip(spread["connections"], spread_before["connections"], strict=True)
            ],
            "skipped_refused": spread["skipped_refused"] - spread_before["skipped_refused"],
            "failed": spread["failed"] - spread_before["failed"],
        }
        webhooks = (await ok(world.http.get(f"{world.where['control']}/webhooks"))).json()
        result["webhook_attempts"] = webhooks["attempts"]
        result["webhook_failed_attempts"] = webhooks["failed_attempts"]
        result["webhook_failures_by_error"] = webhooks["failed_by_error"]
        result["queue_left"] = await queue_state(redis)
        result["left_in_database"] = leftovers(world)
        result["supervisor_restarts"] = dict(world.fleet.restarts)
        if faults:
            result["faults"] = world.events
            sent = (
                await ok(world.http.get(f"{world.where['control']}/sent", params={"marker": SEND_MARKER}))
            ).json()
            texts = Counter(sent["texts"])
            result["sends"] = {
                "requested": len(world.sends),
                "delivered": sum(1 for t in world.sends if texts[t] >= 1),
                "lost": sum(1 for t in world.sends if texts[t] == 0),
                "duplicated": sum(1 for t in world.sends if texts[t] > 1),
            }
        result["logs"] = str(world.fleet.logs)
        return result


# ingest --------------------------------------------------------------------------------------------------


async def drive(
    ports: list[int],
    templates: list[dict[str, Any]],
    key: str,
    concurrency: int,
    stop_at: float,
    acks: list[float],
    statuses: Counter[str],
    serial: int,
) -> int:
    """``concurrency`` senders, each posting one signed webhook after the other to a web process (lanes
    alternate between them) until ``stop_at``; the acknowledgement times of 2xx answers go to ``acks``.
    Returns the last serial used."""
    counter = [serial]

    async def sender(lane: int, client: httpx.AsyncClient) -> None:
        port = ports[lane % len(ports)]
        while time.monotonic() < stop_at:
            counter[0] += 1
            body, headers = signed(templates[counter[0] % len(templates)], counter[0], key)
            began = time.monotonic()
            try:
                answer = await client.post(
                    f"http://127.0.0.1:{port}/webhooks/waha", content=body, headers=headers
                )
                statuses[str(answer.status_code)] += 1
                if answer.status_code < 300:
                    acks.append(time.monotonic() - began)
            except httpx.HTTPError as error:
                statuses[type(error).__name__] += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        await asyncio.gather(*(sender(lane, client) for lane in range(concurrency)))
    return counter[0]


def signed(template: dict[str, Any], serial: int, key: str) -> tuple[bytes, dict[str, str]]:
    """A new message from a captured delivery: its ids made unique, stamped now, signed with ``key``."""
    envelope = json.loads(template["body"])
    message_id = str(envelope["payload"]["id"])
    unique = f"{serial:012X}"
    text = template["body"].replace(message_id, message_id[: -len(unique)] + unique)
    envelope = json.loads(text)
    now_ms = int(time.time() * 1000)
    envelope["id"] = f"evt_{unique}_{now_ms}"
    envelope["timestamp"] = now_ms
    body = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Webhook-Request-Id": f"req_{unique}",
        "X-Webhook-Timestamp": str(now_ms),
        "X-Webhook-Hmac": hmac.new(key.encode(), body, hashlib.sha512).hexdigest(),
        "X-Webhook-Hmac-Algorithm": "sha512",
    }
    return body, headers


async def ingest(args: argparse.Namespace, cluster: Cluster, redis: RedisServer) -> dict[str, Any]:
    """Two web processes, no worker during the drive (a worker links the number and plays the warm-up
    first): signed webhooks straight to their ports, at each concurrency for ``--ingest-seconds``."""
    async with deployment(args, cluster, redis, 2, 1, "ingest") as world:
        await warm_up(world)
        await traffic(world, seconds=2, seed=9, first_burst=800_000, chats=[])
        templates = (await ok(world.http.get(f"{world.where['control']}/webhooks"))).json()["templates"]
        templates = [t for t in templates if json.loads(t["body"])["payload"].get("fromMe") is False]
        if not templates:
            raise SystemExit("the gateway delivered no inbound message to copy")
        world.fleet.stop("worker1")
        ports = [
            int(proc.args[-1]) for name, proc in sorted(world.fleet.procs.items()) if name.startswith("web")
        ]
        key = world.settings.waha_webhook_hmac_key.get_secret_value()
        serial = 0
        levels = []
        for concurrency in [int(c) for c in args.ingest_concurrency.split(",")]:
            acks: list[float] = []
            statuses: Counter[str] = Counter()
            cpu_before = process_cpu(world)
            driver_before = cpu_s(os.getpid())
            stop_at = time.monotonic() + args.ingest_seconds

            began = time.monotonic()
            serial = await drive(ports, templates, key, concurrency, stop_at, acks, statuses, serial)
            wall = time.monotonic() - began
            cpu_after = process_cpu(world)
            used = {k: round((v - cpu_before.get(k, 0.0)) / wall, 2) for k, v in cpu_after.items()}
            used["driver"] = round((cpu_s(os.getpid()) - driver_before) / wall, 2)
            measured = _percentiles(acks)
            percentiles: list[float | None] = [measured[0], measured[1]] if measured else [None, None]
            levels.append(
                {
                    "concurrency": concurrency,
                    "accepted_per_s": round(len(acks) / wall, 1),
                    "ack_p50_s": percentiles[0],
                    "ack_p99_s": percentiles[1],
                    "statuses": dict(statuses),
                    "cpu_cores_used": {k: v for k, v in used.items() if v >= 0.01},
                    "queue": await queue_state(redis),
                }
            )
        stored = sql(world.database, "SELECT count(*) FROM inbound_event")[0][0]
        return {"levels": levels, "inbound_events_stored": stored, "logs": str(world.fleet.logs)}


def load_average() -> list[str]:
    with open("/proc/loadavg") as loadavg:
        return loadavg.read().split()[:3]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shapes", default="1x1,2x2,2x4", help="web processes × workers, comma-separated")
    parser.add_argument("--seconds", type=float, default=60.0, help="traffic duration")
    parser.add_argument("--rate", type=float, default=20.0, help="messages per second")
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--persons", type=int, default=10_000)
    parser.add_argument("--unknown", type=float, default=0.2, help="share of chats from unknown numbers")
    parser.add_argument("--media", type=float, default=0.1, help="share of messages with media")
    parser.add_argument("--latency-ms", type=int, default=150, help="added latency per Pipedrive call")
    parser.add_argument("--drain", type=float, default=240.0, help="seconds to wait for the last writes")
    parser.add_argument("--faults", action="store_true", help="run the fault schedule (on the first shape)")
    parser.add_argument("--sends", type=int, default=5, help="panel sends made during a faults run")
    parser.add_argument("--ingest", action="store_true", help="measure webhook ingest on two web processes")
    parser.add_argument("--ingest-seconds", type=float, default=10.0)
    parser.add_argument("--ingest-concurrency", default="4,16,64")
    parser.add_argument(
        "--workdir", default=None, help="where logs and the clusters go (default: a temp dir)"
    )
    args = parser.parse_args()

    async def run() -> dict[str, Any]:
        root = Path(args.workdir or tempfile.mkdtemp(prefix="deploy-bench-"))
        if os.geteuid() == 0:  # the PostgreSQL cluster below runs as the postgres user: it must pass through
            shutil.chown(root, "postgres")
        args.workdir = str(root)
        cluster = Cluster(root / "postgres")
        redis = RedisServer(root)
        cluster.start()
        redis.start()
        report: dict[str, Any] = {
            "scenario": {
                "seconds": args.seconds,
                "messages_per_second": args.rate,
                "chats": args.chats,
                "persons": args.persons,
                "unknown_share": args.unknown,
                "media_share": args.media,
                "pipedrive_latency_ms": args.latency_ms,
                "pipedrive_plan": "lite (80 requests / 2 s)",
                "load_average_at_start": load_average(),
            }
        }
        try:
            if args.ingest:
                report["ingest"] = await ingest(args, cluster, redis)
            else:
                for shape in args.shapes.split(","):
                    webs, workers = (int(n) for n in shape.split("x"))
                    started = time.monotonic()
                    key = shape + (" faults" if args.faults else "")
                    report[key] = await run_shape(args, cluster, redis, webs, workers, args.faults)
                    report[key]["shape_wall_s"] = round(time.monotonic() - started, 1)
                    print(json.dumps({key: report[key]}), file=sys.stderr, flush=True)
        finally:
            redis.stop()
            cluster.stop()
        report["load_average_at_end"] = load_average()
        return report

    print(json.dumps(asyncio.run(run()), indent=2))


if __name__ == "__main__":
    main()
