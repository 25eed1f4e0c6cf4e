"""Sync engine benchmark: the sandboxes end to end (WAHA webhooks → our route → jobs → Pipedrive).

WaPipe runs in this process, served over HTTP on loopback; the Pipedrive and WAHA sandboxes run in another
(``bench.sandboxes``), as they are other machines in production, so their CPU is not counted as WaPipe's.

Scenario (issue 5), scaled by flags: Pipedrive with added latency per call and an 80-requests-per-2-s
plan, N Persons, bursty inbound traffic (1–6 messages per burst) across the chats, a share of unknown
numbers and of media. Reports p50/p99 from webhook receipt to the text being in a Pipedrive note,
requests and tokens per message, searches per new chat and for known numbers, lost/duplicated messages;
for our engine in real time, for a naive one-write-per-message strategy, and for the 24 h mode.

    .venv/bin/python -m bench.sync_bench                    # scaled run (about 2 minutes)
    .venv/bin/python -m bench.sync_bench --seconds 60       # the full 60 s × 20 msg/s scenario
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from arq.worker import func
from sqlalchemy import insert
from sqlalchemy.engine import make_url

from bench.sandboxes import SESSION, free_port
from server.domain.clock import ControlledClock
from server.jobs.context import sync_wiring
from server.jobs.deps import job_ctx, job_deps
from server.jobs.functions import MAX_JOBS
from server.jobs.sync import flush_batched
from server.jobs.timing import JobTimings
from server.pipedrive.client import PipedriveClient
from server.pipedrive.metering import MemoryUsageMeter
from server.pipedrive.oauth import TokenSet
from server.pipedrive.ratelimit import MemoryRateLimiter, RateScope
from server.settings import Mode, load_settings
from server.storage.accounts import SqlAccountStore
from server.storage.companies import SqlCompanyStore
from server.storage.migrate import upgrade
from server.storage.tables import CompanySettings, Installation
from server.web.app import create_app
from server.web.resources import Resources, Upstreams

OUR_NUMBER = "4915100000001"
TOKEN = re.compile(r"B\d+M\d+X")
NAIVE_SEEN: dict[int, int] = {}  # the naive strategy's last written message per chat


@dataclass
class Probe:
    """Timestamps of each message token: when its webhook reached us, when a note first held it."""

    received: dict[str, float] = field(default_factory=dict)
    in_note: dict[str, float] = field(default_factory=dict)
    searches: list[str] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    loop_lags: list[float] = field(default_factory=list)  # how late a 50 ms timer fired, during traffic

    async def watch_loop(self) -> None:
        """WaPipe's web routes and jobs share one event loop here: when it is saturated every latency
        grows, whatever the engine does, so how late a timer fires is reported beside the latencies."""
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.05)
            self.loop_lags.append(time.monotonic() - before - 0.05)

    def saw_webhook(self, body: bytes) -> None:
        now = time.monotonic()
        for token in TOKEN.findall(body.decode(errors="replace")):
            self.received.setdefault(token, now)

    def saw_request(self, request: httpx.Request, status: int) -> None:
        path = request.url.path
        self.statuses[status] += 1
        if path.endswith("/persons/search"):
            self.searches.append(request.url.params.get("term", ""))
        if status < 300 and request.method in ("POST", "PATCH") and "/activities" in path:
            now = time.monotonic()
            for token in TOKEN.findall(request.content.decode(errors="replace")):
                self.in_note.setdefault(token, now)


class Watched(httpx.AsyncBaseTransport):
    """WaPipe's requests to Pipedrive, seen as they come back."""

    def __init__(self, inner: httpx.AsyncBaseTransport, probe: Probe) -> None:
        self.inner, self.probe = inner, probe

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        self.probe.saw_request(request, response.status_code)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


class Received:
    """WaPipe's ASGI app, noting when each POST body (a webhook) has fully arrived."""

    def __init__(self, app: Any, probe: Probe) -> None:
        self.app, self.probe = app, probe

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body = bytearray()

        async def watched() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                body.extend(message.get("body", b""))
                if not message.get("more_body"):
                    self.probe.saw_webhook(bytes(body))
            return message

        await self.app(scope, watched, send)


class Connector:
    def __init__(self, client: PipedriveClient) -> None:
        self.client = client

    async def for_company(self, company_id: int) -> PipedriveClient:
        return self.client


class StaticTokens:
    """The sandbox company's token, valid for the whole run (the bench measures sync, not refresh)."""

    def __init__(self, tokens: TokenSet) -> None:
        self.tokens = tokens

    @classmethod
    def of(cls, where: dict[str, Any]) -> StaticTokens:
        """From the sandboxes' hand-over: the token, its scopes and the company's API domain."""
        expires = datetime.now(UTC) + timedelta(days=1)
        return cls(TokenSet(where["token"], "r", expires, frozenset(where["scopes"]), where["pipedrive"]))

    async def current(self) -> TokenSet:
        return self.tokens

    async def refresh_rejected(self, rejected: TokenSet) -> TokenSet:
        return self.tokens


def database_url(args: argparse.Namespace, workdir: Path) -> str:
    """SQLite in the run's directory, or a fresh database on the PostgreSQL server of ``--postgres``."""
    if not args.postgres:
        return f"sqlite:///{workdir / 'bench.db'}"
    import psycopg

    name = f"wapipe_bench_{workdir.name.lower().replace('-', '_')}"
    with psycopg.connect(args.postgres, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return str(make_url(args.postgres).set(drivername="postgresql+psycopg", database=name))


@contextlib.asynccontextmanager
async def sandboxes(args: argparse.Namespace, api_key: str) -> AsyncIterator[dict[str, Any]]:
    """``bench.sandboxes`` in a process of its own (as Pipedrive and WAHA are other machines); where it is."""
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
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdout is not None
    try:
        line = await asyncio.wait_for(child.stdout.readline(), timeout=120)
        if not line:
            raise SystemExit(f"bench.sandboxes exited with {await child.wait()} before it was ready")
        yield json.loads(line)
    finally:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(child.wait(), timeout=10)  # it stops by itself after POST /stop
        if child.returncode is None:
            child.kill()
            await child.wait()


@contextlib.asynccontextmanager
async def serving(app: Any, port: int) -> AsyncIterator[None]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise SystemExit("WaPipe's server stopped before it started")
        await asyncio.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def world(
    args: argparse.Namespace, mode: str, probe: Probe, workdir: Path
) -> AsyncIterator[dict[str, Any]]:
    """WaPipe served on a port of this process, the sandboxes in theirs, a number linked, Pipedrive set
    up; the 150 ms latency is switched on last."""
    port = free_port()
    api_key = "bench-waha-key"
    async with sandboxes(args, api_key) as where:
        settings = load_settings(
            mode=Mode.TEST,
            var_dir=workdir,
            media_dir=workdir / "media",
            log_format="text",
            log_level="WARNING",
            database_url=database_url(args, workdir),
            public_url=f"http://127.0.0.1:{port}",
            waha_url=where["waha"],
            waha_api_key=api_key,
            sync_burst_window=args.coalesce,
        )
        upgrade(settings.effective_database_url)
        clock = ControlledClock()  # the wall clock, until the 24 h mode moves it a day on
        app = create_app(settings, Upstreams(clock=clock))
        meter = MemoryUsageMeter()
        async with (  # closed in reverse: the app stops its jobs before the clients they use go
            httpx.AsyncClient(timeout=60) as control,
            httpx.AsyncClient(
                transport=Watched(httpx.AsyncHTTPTransport(), probe), base_url=where["pipedrive"], timeout=60
            ) as http,
            serving(Received(app, probe), port),
        ):
            resources: Resources = app.state.resources
            ours = await SqlCompanyStore(resources.engine).upsert(
                where["company"], name="Bench", api_domain=where["pipedrive"], timezone="Europe/Berlin"
            )
            await SqlAccountStore(resources.engine).create(
                company_id=ours.id, owner_user_id=where["admin"], transport="waha", session_name=SESSION
            )
            await _install(resources, ours.id, where, mode)
            client = PipedriveClient(
                http,
                StaticTokens.of(where),
                RateScope("admin", str(where["company"])),
                limiter=MemoryRateLimiter(),
                meter=meter,
            )
            queue: Any = resources.queue
            queue._slots = asyncio.Semaphore(args.workers)  # --workers: concurrent jobs (default: WaPipe's)
            ctx = queue.ctx
            sync = sync_wiring(settings.public_url, resources.media)
            deps = replace(
                job_deps(ctx),
                sync_config=sync.config,
                media_files=sync.media_files,
                pipedrive=Connector(client),
            )
            ctx.update(job_ctx(deps))
            if mode == "naive":
                NAIVE_SEEN.clear()  # this world's chats start from nothing
                queue._functions["sync_chat"] = func(
                    naive_sync, name="sync_chat", keep_result=0, max_tries=30
                )
            await resources.transports["waha"].connect(SESSION)
            await _ok(control.post(f"{where['waha']}/_sim/clock", json={"advance": 2}))
            await _ok(
                control.post(
                    f"{where['waha']}/_sim/{SESSION}/scan", json={"phone": OUR_NUMBER, "pushName": "Bench"}
                )
            )
            await asyncio.sleep(0.5)
            await _ok(
                control.post(f"{where['pipedrive']}/_sandbox/faults", json={"latency_ms": args.latency_ms})
            )
            await _warm_up(ctx, ours.id, mode)
            yield {
                "where": where,
                "control": control,
                "company": where["company"],
                "meter": meter,
                "queue": queue,
                "ctx": ctx,
                "clock": clock,
                "numbers": where["numbers"],
                "unknown": set(where["unknown"]),
            }
            await _ok(control.post(f"{where['control']}/stop"))


async def _ok(request: Awaitable[httpx.Response]) -> httpx.Response:
    response = await request
    response.raise_for_status()
    return response


async def _install(resources: Resources, company_id: int, where: dict[str, Any], mode: str) -> None:
    """The admin's installation and the company's settings, as install and the settings page leave them."""
    now = datetime.now(UTC)
    async with resources.engine.begin() as connection:
        await connection.execute(
            insert(Installation.__table__).values(  # type: ignore[attr-defined]
                company_id=company_id,
                pipedrive_user_id=where["admin"],
                email=where["admin_email"],
                is_admin=True,
                status="active",
                name="Admin",
                scopes="",
                api_domain=where["pipedrive"],
                status_detail="",
                access_token_encrypted="",
                refresh_token_encrypted="",
                created_at=now,
                updated_at=now,
            )
        )
        await connection.execute(
            insert(CompanySettings.__table__).values(  # type: ignore[attr-defined]
                company_id=company_id,
                import_frequency="24h" if mode == "24h" else "realtime",
                auto_add_persons=True,
                new_chat_action="nothing",
                import_groups=False,
                excluded_numbers="",
                activity_type_key="",
                person_link_field_key="",
                deal_link_field_key="",
                updated_at=now,
            )
        )


async def _warm_up(ctx: dict[str, Any], company_id: int, mode: str) -> None:
    """First use: the activity type, fields and the phone index are set up before traffic starts."""
    if mode == "naive":
        return
    from server.jobs.sync import company_context
    from server.services.sync.phone_index import company_index
    from server.services.sync.setup import ensure_setup

    sync = await company_context(ctx, company_id)
    settings = await ensure_setup(sync, await sync.store.settings(company_id))
    await company_index(sync, company_id, region="DE", link_field_key=settings.person_link_field_key)


async def naive_sync(ctx: dict[str, Any], chat_id: int) -> str:
    """The strategy the engine is compared with: every message is its own write, found by a search."""
    deps = job_deps(ctx)
    store = deps.sync_store
    chat = await store.chat(chat_id)
    assert chat is not None and deps.pipedrive is not None
    client: PipedriveClient = await deps.pipedrive.for_company(chat.company_id)
    seen = NAIVE_SEEN
    messages = await store.messages_after(chat_id, seen.get(chat_id, 0))
    for message in messages:
        hits = await client.persons.search(chat.e164 or "", exact_match=True)
        person_id = (
            hits.items[0].id
            if hits.items
            else (
                await client.persons.create(
                    {
                        "name": chat.display_name or chat.e164 or "?",
                        "phones": [{"value": chat.e164 or "", "primary": True}],
                    }
                )
            ).id
        )
        await client.activities.create(
            {
                "subject": "WhatsApp message",
                "type": "call",
                "done": True,
                "note": f"<p>{message.text}</p>",
                "participants": [{"person_id": person_id, "primary": True}],
            }
        )
        seen[chat_id] = message.id
    return f"{len(messages)} written"


async def traffic(
    env: dict[str, Any],
    args: argparse.Namespace,
    *,
    seed: int = 3,
    first_burst: int = 0,
    chats: list[str] | None = None,
) -> tuple[list[str], set[str]]:
    """The sandboxes' phone receives bursts of 1–6 messages per chat over the run; the tokens sent, in order,
    and the numbers that wrote."""
    body = {
        "seconds": args.seconds,
        "rate": args.rate,
        "media": args.media,
        "seed": seed,
        "first_burst": first_burst,
        "chats": chats or [],
    }
    played = await _ok(
        env["control"].post(f"{env['where']['control']}/traffic", json=body, timeout=args.seconds + 120)
    )
    result = played.json()
    return list(result["sent"]), set(result["used"])


async def settle(env: dict[str, Any], args: argparse.Namespace, probe: Probe, sent: list[str]) -> None:
    """Wait until every sent token is in a note (or the drain time is over) and the queue is idle."""
    deadline = time.monotonic() + args.drain
    for _ in range(int(args.drain * 5)):
        if time.monotonic() >= deadline or all(t in probe.in_note for t in sent):
            break
        await asyncio.sleep(0.2)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(30):
            await env["queue"].drain()


async def run_mode(args: argparse.Namespace, mode: str) -> dict[str, Any]:
    probe = Probe()
    with tempfile.TemporaryDirectory() as tmp:
        async with world(args, mode, probe, Path(tmp)) as env:
            setup = env["meter"].usage(str(env["company"]))
            probe.searches.clear()
            probe.statuses.clear()
            watcher = asyncio.create_task(probe.watch_loop())
            sent, used = await traffic(env, args)
            watcher.cancel()
            if mode == "24h":
                await asyncio.sleep(3)  # the bursts are folded into dirty days; nothing is written yet
                env["clock"].advance(timedelta(hours=24, minutes=1).total_seconds())
                await flush_batched(env["ctx"])
            await settle(env, args, probe, sent)
            result = measure(env, probe, await company_data(env), setup, sent, used)
            if mode == "realtime" and args.later:
                # The same chats write again later the same day: the Persons are linked, their link
                # fields set and each chat's day activity exists, so every burst is one append.
                before = env["meter"].usage(str(env["company"]))
                probe.searches.clear()
                probe.statuses.clear()
                probe.loop_lags.clear()
                watcher = asyncio.create_task(probe.watch_loop())
                later, later_used = await traffic(
                    env, args, seed=5, first_burst=1_000_000, chats=sorted(used)
                )
                watcher.cancel()
                await settle(env, args, probe, later)
                snapshot = await company_data(env)
                again = measure(env, probe, snapshot, before, later, later_used, totals=False)
                for key in ("new_chats", "searches_per_new_chat"):  # no chat is new any more
                    again.pop(key)
                result["later_the_same_day"] = again
                both = measure(env, probe, snapshot, before, sent + later, used | later_used)
                result["both_phases"] = {k: both[k] for k in ("lost", "duplicated", "duplicate_activities")}
    if mode == "24h":
        result["note"] = "latency here is the batch wait (writes happen at the 24 h flush, forced at run end)"
    return result


async def company_data(env: dict[str, Any]) -> dict[str, Any]:
    """The Pipedrive sandbox's activities, phones and files of the company (``bench.sandboxes``)."""
    response = await _ok(env["control"].get(f"{env['where']['control']}/data"))
    return dict(response.json())


def measure(
    env: dict[str, Any],
    probe: Probe,
    snapshot: dict[str, Any],
    before: Any,
    sent: list[str],
    used: set[str],
    *,
    totals: bool = True,
) -> dict[str, Any]:
    """The figures of one traffic phase: requests since ``before``, and the sandbox's ``snapshot`` reconciled
    against every token sent so far."""
    usage = env["meter"].usage(str(env["company"]))
    live = snapshot["activities"]
    counts = Counter(TOKEN.findall("\n".join(a["note"] for a in live)))
    slots = Counter((a["person_id"], a["due_date"], a["subject"]) for a in live)
    phones = Counter(snapshot["phones"])
    latencies = sorted(
        probe.in_note[t] - probe.received[t] for t in set(sent) if t in probe.in_note and t in probe.received
    )
    unknown, numbers_known = env["unknown"], set(env["numbers"]) - env["unknown"]
    searched = [re.sub(r"\D", "", term) for term in probe.searches]
    known_searches = sum(
        1 for term in searched if any(n.endswith(term) or term.endswith(n[-9:]) for n in numbers_known)
    )
    new_chats = len(unknown & used)
    messages = len(sent)
    requests = usage.requests - before.requests
    tokens = usage.tokens - before.tokens

    def ops(name: str) -> int:
        return int(usage.by_operation.get(name, 0) - before.by_operation.get(name, 0))

    uploads = ops("POST /api/v1/files")
    overall = _percentiles(latencies)
    operations = Counter({k: v - before.by_operation.get(k, 0) for k, v in usage.by_operation.items()})
    result: dict[str, Any] = {
        "messages": messages,
        "latency_p50_s": overall[0] if overall else None,
        "latency_p99_s": overall[1] if overall else None,
        "latency_p50_p99_by_10s_of_traffic": _by_window(probe, sent),
        "event_loop_lag_p50_p99_s": _percentiles(probe.loop_lags),
        "requests": requests,
        "requests_per_message": round(requests / messages, 3),
        "tokens_per_message": round(tokens / messages, 2),
        "searches": len(searched),
        "new_chats": new_chats,
        "searches_per_new_chat": round((len(searched) - known_searches) / max(1, new_chats), 2),
        "searches_for_known_numbers": known_searches,
        "lost": sum(1 for t in set(sent) if counts[t] == 0),
        "duplicated": sum(1 for t in set(sent) if counts[t] > 1),
        "upload_requests": uploads,
        "requests_per_message_without_uploads": round((requests - uploads) / messages, 3),
        "person_link_writes": ops("PATCH /api/v2/persons/{id}"),
        "responses_by_status": {str(k): v for k, v in sorted(probe.statuses.items())},
        "operations": {k: v for k, v in sorted(operations.items()) if v},
    }
    if totals:  # the whole sandbox, reconciled: structure written so far
        files = {tuple(f) for f in snapshot["files"]}
        result.update(
            activities=len(live),
            duplicate_activities=sum(n - 1 for n in slots.values()),
            duplicate_persons=sum(n - 1 for n in phones.values()),
            files=len(snapshot["files"]),
            duplicate_files=len(snapshot["files"]) - len(files),
            chat_days=len(live),
            requests_per_chat_day=round(requests / max(1, len(live)), 2),
        )
    return result


def _percentiles(values: list[float]) -> list[float] | None:
    """[p50, p99], rounded to the millisecond; ``None`` without values."""
    if not values:
        return None
    ordered = sorted(values)
    return [
        round(statistics.median(ordered), 3),
        round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3),
    ]


def _by_window(probe: Probe, sent: list[str], width: float = 10.0) -> list[list[float] | None]:
    """p50/p99 latency of the messages received in each ``width`` seconds of the traffic."""
    timed = [
        (probe.received[t], probe.in_note[t]) for t in set(sent) if t in probe.received and t in probe.in_note
    ]
    return _by_window_of(timed, width)


def _by_window_of(timed: list[tuple[float, float]], width: float = 10.0) -> list[list[float] | None]:
    """p50/p99 of (received, noted) pairs, by ``width`` seconds of when they were received."""
    if not timed:
        return []
    start = min(received for received, _ in timed)
    windows: dict[int, list[float]] = {}
    for received, noted in timed:
        windows.setdefault(int((received - start) // width), []).append(noted - received)
    return [_percentiles(windows.get(i, [])) for i in range(max(windows) + 1)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="traffic duration (issue: 60)")
    parser.add_argument("--rate", type=float, default=20.0, help="messages per second (issue: 20)")
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--persons", type=int, default=10_000)
    parser.add_argument("--unknown", type=float, default=0.2, help="share of chats from unknown numbers")
    parser.add_argument("--media", type=float, default=0.1, help="share of messages with media")
    parser.add_argument("--latency-ms", type=int, default=150, help="added latency per Pipedrive call")
    parser.add_argument(
        "--coalesce",
        type=float,
        default=JobTimings().burst_window.total_seconds(),
        help="seconds a chat waits for its burst (default: the engine's)",
    )
    parser.add_argument("--workers", type=int, default=MAX_JOBS, help="concurrent jobs")
    parser.add_argument("--drain", type=float, default=40.0, help="seconds to wait for the last writes")
    parser.add_argument("--modes", default="realtime,naive,24h")
    parser.add_argument(
        "--later",
        type=int,
        default=1,
        help="1: after real time's first traffic, send the same amount again to the same chats (0: skip)",
    )
    parser.add_argument(
        "--postgres",
        default="",
        help="admin URL of a PostgreSQL server (e.g. postgresql://wapipe:wapipe@127.0.0.1:5432/postgres) "
        "to run on a fresh database there instead of SQLite",
    )
    args = parser.parse_args()

    async def run() -> dict[str, Any]:
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
                "coalesce_s": args.coalesce,
                "workers": args.workers,
            }
        }
        for mode in args.modes.split(","):
            started = time.monotonic()
            report[mode] = await run_mode(args, mode)
            report[mode]["wall_s"] = round(time.monotonic() - started, 1)
        return report

    print(json.dumps(asyncio.run(run()), indent=2))


if __name__ == "__main__":
    main()
