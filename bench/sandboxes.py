"""The sync benchmark's Pipedrive and WhatsApp sandboxes, in a process of their own.

In production Pipedrive and the WhatsApp gateway are other machines: their work does not take WaPipe's CPU.
``bench.sync_bench`` starts this module, reads the one JSON line it prints once everything answers (the
addresses, the company, a token, the chat numbers), and drives it over HTTP:

- the Pipedrive sandbox and its ``/_sandbox/...`` controls (fault switches: the added latency);
- the WAHA sandbox and its ``/_sim/...`` controls (the clock, the phone scanning the QR code);
- this module's own controls:

      POST /traffic {seconds, rate, media, seed, first_burst, chats?, session?}
                                    bursts on the phone; the tokens sent and when each reached the gateway
      GET  /data                    activities, phones and files; when each token was first in a note
      GET  /usage                   the company's Pipedrive usage: requests, tokens, 429s, by operation
      POST /hold {path, seconds}    the WAHA sandbox answers requests whose path holds ``path`` that
                                    late (after doing what they ask: a send is made, a file read);
                                    ``seconds`` 0 ends it
      GET  /held                    how many requests are held now and were in all
      GET  /sent?marker=M           how many sends of the linked number hold M, by their text
      GET  /webhooks                deliveries: attempts, failed attempts, and the last message ones'
                                    bodies and headers (templates for ``bench.deploy_bench --ingest``)
      POST /stop                    stop serving

``bench.deploy_bench`` starts it with ``--fresh-connections``: every webhook on a new connection, so a
balancer that spreads connections spreads webhooks.

    .venv/bin/python -m bench.sandboxes --chats 200 --persons 10000 --unknown 0.2
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import re
import socket
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.pipedrive.app import create_app as create_pipedrive
from sandbox.pipedrive.seed import ALL_SCOPES, seed_person
from sandbox.pipedrive.state import Clock as PdClock
from sandbox.pipedrive.state import SandboxState as PdState
from sandbox.waha.app import create_app as create_waha
from sandbox.waha.clock import Clock as WahaClock
from sandbox.waha.state import SandboxState as WahaState

SESSION = "wp-bench"
TOKEN = re.compile(rb"B\d+M\d+X")  # a message's token in the traffic's texts
FORMATS = ("+{cc} {a} {b}", "00{cc}{a}-{b}", "+{cc}{a}{b}", "{cc}{a}{b}")
Plan = list[tuple[float, str, str, bool]]  # (seconds after the start, number, token, with media)


def numbers(chats: int, unknown_share: float) -> tuple[list[str], set[str]]:
    """The chats' numbers; the first ``unknown_share`` of them belong to no Person."""
    rng = random.Random(7)
    chat_numbers = [f"49176{rng.randrange(10**7, 10**8)}" for _ in range(chats)]
    unknown = set(chat_numbers[: round(chats * unknown_share)])
    return chat_numbers, unknown


def seed_pipedrive(pd: PdState, company_id: int, persons: int, known: list[str]) -> dict[str, list[Any]]:
    """The Persons a company gathered over a year: phones in assorted formats, changed at spread times;
    for each known number, its Person's id and the phone as Pipedrive holds it."""
    rng = random.Random(11)
    now = pd.clock.now()
    found: dict[str, list[Any]] = {}
    for i in range(persons):
        if i < len(known):
            digits = known[i]
            cc, a, b = digits[:2], digits[2:5], digits[5:]
            phone = rng.choice(FORMATS).format(cc=cc, a=a, b=b)
        else:
            phone = f"+4930{10**7 + i}"  # unique: a duplicate phone in the report is ours
        person = seed_person(pd, company_id, f"Person {i}", phones=[phone])
        changed = now - timedelta(seconds=rng.uniform(60, 365 * 86400))
        person.update(add_time=changed, update_time=changed)
        if i < len(known):
            found[known[i]] = [person["id"], phone]
    return found


def plan(seconds: float, rate: float, media: float, chats: list[str], *, seed: int, first_burst: int) -> Plan:
    """Bursts of 1–6 messages (0.2–0.8 s apart) on random chats, starting anywhere in the run; in order."""
    rng = random.Random(seed)
    total = int(seconds * rate)
    messages: Plan = []
    burst = first_burst
    while len(messages) < total:
        burst += 1
        number = rng.choice(chats)
        start = rng.uniform(0, seconds)
        for i in range(min(rng.randint(1, 6), total - len(messages))):
            messages.append(
                (start + i * rng.uniform(0.2, 0.8), number, f"B{burst}M{i}X", rng.random() < media)
            )
    return sorted(messages)


async def play(
    waha: WahaState, messages: Plan, session: str = SESSION, at: dict[str, float] | None = None
) -> list[str]:
    """Each message reaches the linked phone at its time; the gateway sends its webhook. ``at``: when
    each token reached the gateway (wall clock)."""
    began = time.monotonic()
    sent = []
    for offset, number, token, with_media in messages:
        delay = began + offset - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        options: dict[str, Any] = {"push_name": f"Kunde {number[-4:]}"}
        if with_media:
            options["kind"] = "image"
        waha.receive(session, number, f"hello {token}", **options)
        sent.append(token)
        if at is not None:
            at[token] = time.time()
    return sent


class NoteWatch:
    """The Pipedrive sandbox's app, noting when each token was first in an activity it accepted."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.in_note: dict[str, float] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("POST", "PATCH")
            or "/activities" not in scope["path"]
        ):
            await self.app(scope, receive, send)
            return
        body = bytearray()

        async def reading() -> Any:
            message = await receive()
            body.extend(message.get("body", b""))
            return message

        async def answering(message: Any) -> None:
            if message["type"] == "http.response.start" and message["status"] < 300:
                now = time.time()
                for token in TOKEN.findall(bytes(body)):
                    self.in_note.setdefault(token.decode(), now)
            await send(message)

        await self.app(scope, reading, answering)


class Holding:
    """The WAHA sandbox's app; requests whose path holds a held part are answered late, after the
    sandbox did what they ask (a send is made, a file is read), as a slow gateway or network does."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.held: dict[str, float] = {}  # a part of the path → seconds
        self.now = 0
        self.total = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        delay = next((seconds for part, seconds in self.held.items() if part in path), 0.0)
        if not delay:
            await self.app(scope, receive, send)
            return
        self.now += 1
        self.total += 1

        async def answering(message: Any) -> None:
            if message["type"] == "http.response.start":
                await asyncio.sleep(delay)
            await send(message)

        try:
            await self.app(scope, receive, answering)
        finally:
            self.now -= 1


def company_snapshot(pd: PdState, company_id: int) -> dict[str, Any]:
    """What the reconciliation reads: live activities, every Person's phones, files by content."""
    data = pd.company_data(company_id)
    return {
        "activities": [
            {
                "note": a["note"] or "",
                "person_id": a["participants"][0]["person_id"] if a["participants"] else None,
                "due_date": str(a["due_date"]),
                "subject": a["subject"],
            }
            for a in data.activities.values()
            if not a["is_deleted"]
        ],
        "phones": [ph["value"] for p in data.persons.values() if not p["is_deleted"] for ph in p["phones"]],
        "files": [
            [f.record.get("person_id"), f.record.get("deal_id"), hashlib.sha256(f.content).hexdigest()]
            for f in data.files.values()
        ],
    }


def control_app(
    pd: PdState,
    waha: WahaState,
    company_id: int,
    chat_numbers: list[str],
    servers: list[uvicorn.Server],
    watch: NoteWatch | None = None,
    holding: Holding | None = None,
) -> Starlette:
    """``servers``: the three servers of this process (filled once built), for ``/stop``."""

    async def traffic(request: Request) -> Response:
        body = await request.json()
        messages = plan(
            float(body["seconds"]),
            float(body["rate"]),
            float(body["media"]),
            list(body.get("chats") or chat_numbers),
            seed=int(body["seed"]),
            first_burst=int(body["first_burst"]),
        )
        at: dict[str, float] = {}
        sent = await play(waha, messages, str(body.get("session") or SESSION), at)
        used = sorted({number for _, number, _, _ in messages})
        return JSONResponse({"sent": sent, "used": used, "at": at})

    async def data(request: Request) -> Response:
        snapshot = company_snapshot(pd, company_id)
        if watch is not None:
            snapshot["in_note"] = watch.in_note
        return JSONResponse(snapshot)

    async def usage(request: Request) -> Response:
        counted = pd.limiter.usage_for(company_id)
        return JSONResponse(
            {
                "requests": counted.requests_total,
                "tokens": counted.tokens_total,
                "rejected": counted.rejected,
                "by_operation": dict(counted.per_operation),
            }
        )

    async def hold(request: Request) -> Response:
        body = await request.json()
        if holding is None:
            return JSONResponse({"error": "no hold switch"}, status_code=400)
        if float(body["seconds"]) > 0:
            holding.held[str(body["path"])] = float(body["seconds"])
        else:
            holding.held.pop(str(body["path"]), None)
        return JSONResponse({"held": holding.held})

    async def held(request: Request) -> Response:
        return JSONResponse({"now": holding.now if holding else 0, "total": holding.total if holding else 0})

    async def sent(request: Request) -> Response:
        marker = request.query_params.get("marker", "")
        texts = Counter(
            e.text
            for session in waha.sessions.values()
            for e in session.outbox
            if marker and marker in e.text
        )
        return JSONResponse({"count": sum(texts.values()), "texts": texts})

    async def webhooks(request: Request) -> Response:
        log = waha.webhooks.log
        messages = [d for d in log if d.event == "message.any" and d.ok][-50:]
        return JSONResponse(
            {
                "attempts": len(log),
                "failed_attempts": sum(1 for d in log if not d.ok),
                "failed_by_error": Counter(str(d.error or d.status) for d in log if not d.ok),
                "templates": [{"body": d.body.decode(), "headers": d.headers} for d in messages],
            }
        )

    return Starlette(
        routes=[
            Route("/traffic", traffic, methods=["POST"]),
            Route("/data", data, methods=["GET"]),
            Route("/usage", usage, methods=["GET"]),
            Route("/hold", hold, methods=["POST"]),
            Route("/held", held, methods=["GET"]),
            Route("/sent", sent, methods=["GET"]),
            Route("/webhooks", webhooks, methods=["GET"]),
            stop_route(servers),
        ]
    )


def stop_route(servers: list[uvicorn.Server]) -> Route:
    """``POST /stop``: every server of the process stops (the bench's way to end a sandbox process)."""

    async def stop(request: Request) -> Response:
        for server in servers:
            server.should_exit = True
        return JSONResponse({"stopping": True})

    return Route("/stop", stop, methods=["POST"])


async def start_servers(
    apps: list[tuple[Any, int]], servers: list[uvicorn.Server], name: str
) -> list[asyncio.Task[None]]:
    """Serve each app on its loopback port (the servers go into ``servers``, for a ``/stop``); returns once
    all answer, and stops the process, naming ``name``, when one stops before it started."""
    for app, port in apps:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
        servers.append(uvicorn.Server(config))
    serving = [asyncio.create_task(server.serve()) for server in servers]
    while not all(server.started for server in servers):
        if any(task.done() for task in serving):
            raise SystemExit(f"{name}: a server stopped before it started")
        await asyncio.sleep(0.02)
    return serving


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def serve(args: argparse.Namespace) -> None:
    pd_port, waha_port, control_port = free_port(), free_port(), free_port()
    pd = PdState(clock=PdClock(follow_wall_clock=True), base_url=f"http://127.0.0.1:{pd_port}")
    company = pd.add_company("Bench GmbH", domain="bench", plan="lite", timezone="Europe/Berlin")
    admin = pd.add_user(company.id, "Admin", "admin@bench.test", is_admin=True)
    chat_numbers, unknown = numbers(args.chats, args.unknown)
    known = seed_pipedrive(pd, company.id, args.persons, [n for n in chat_numbers if n not in unknown])
    token = pd.token_for(company.id, admin.id, list(ALL_SCOPES))
    waha = WahaState(
        clock=WahaClock(follow_wall_clock=True),
        seed_history=False,
        public_url=f"http://127.0.0.1:{waha_port}",
    )
    servers: list[uvicorn.Server] = []
    # Without keep-alive every webhook opens its own connection (what a connection-spreading balancer needs).
    limits = httpx.Limits(max_keepalive_connections=0) if args.fresh_connections else httpx.Limits()
    async with httpx.AsyncClient(timeout=60, limits=limits) as webhooks:
        watch = NoteWatch(create_pipedrive(pd))
        holding = Holding(create_waha(waha, api_key=args.waha_api_key, webhook_client=webhooks))
        control = control_app(pd, waha, company.id, chat_numbers, servers, watch, holding)
        apps = [(watch, pd_port), (holding, waha_port), (control, control_port)]
        serving = await start_servers(apps, servers, "bench.sandboxes")
        ready = {
            "pipedrive": f"http://127.0.0.1:{pd_port}",
            "waha": f"http://127.0.0.1:{waha_port}",
            "control": f"http://127.0.0.1:{control_port}",
            "company": company.id,
            "admin": admin.id,
            "admin_email": "admin@bench.test",
            "token": token,
            "scopes": list(ALL_SCOPES),
            "numbers": chat_numbers,
            "unknown": sorted(unknown),
            "known": known,
        }
        print(json.dumps(ready), flush=True)
        while not all(task.done() for task in serving):
            await waha.settle()  # webhook deliveries and the gateway's scheduled jobs
            await asyncio.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--persons", type=int, default=10_000)
    parser.add_argument("--unknown", type=float, default=0.2, help="share of chats from unknown numbers")
    parser.add_argument("--waha-api-key", default="", help="the key WaPipe sends as X-Api-Key")
    parser.add_argument(
        "--fresh-connections", action="store_true", help="deliver every webhook on a connection of its own"
    )
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
