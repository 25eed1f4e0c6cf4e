"""The sync benchmark's Pipedrive and WhatsApp sandboxes, in a process of their own.

In production Pipedrive and the WhatsApp gateway are other machines: their work does not take WaPipe's CPU.
``bench.sync_bench`` starts this module, reads the one JSON line it prints once everything answers (the
addresses, the company, a token, the chat numbers), and drives it over HTTP:

- the Pipedrive sandbox and its ``/_sandbox/...`` controls (fault switches: the added latency);
- the WAHA sandbox and its ``/_sim/...`` controls (the clock, the phone scanning the QR code);
- this module's own controls:

      POST /traffic {seconds, rate, media, seed, first_burst, chats?}   bursts on the phone; tokens sent
      GET  /data                                                        activities, phones and files
      POST /stop                                                        stop serving

    .venv/bin/python -m bench.sandboxes --chats 200 --persons 10000 --unknown 0.2
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import socket
import time
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
FORMATS = ("+{cc} {a} {b}", "00{cc}{a}-{b}", "+{cc}{a}{b}", "{cc}{a}{b}")
Plan = list[tuple[float, str, str, bool]]  # (seconds after the start, number, token, with media)


def numbers(chats: int, unknown_share: float) -> tuple[list[str], set[str]]:
    """The chats' numbers; the first ``unknown_share`` of them belong to no Person."""
    rng = random.Random(7)
    chat_numbers = [f"49176{rng.randrange(10**7, 10**8)}" for _ in range(chats)]
    unknown = set(chat_numbers[: round(chats * unknown_share)])
    return chat_numbers, unknown


def seed_pipedrive(pd: PdState, company_id: int, persons: int, known: list[str]) -> None:
    """The Persons a company gathered over a year: phones in assorted formats, changed at spread times."""
    rng = random.Random(11)
    now = pd.clock.now()
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


async def play(waha: WahaState, messages: Plan) -> list[str]:
    """Each message reaches the linked phone at its time; the gateway sends its webhook."""
    began = time.monotonic()
    sent = []
    for at, number, token, with_media in messages:
        delay = began + at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        options: dict[str, Any] = {"push_name": f"Kunde {number[-4:]}"}
        if with_media:
            options["kind"] = "image"
        waha.receive(SESSION, number, f"hello {token}", **options)
        sent.append(token)
    return sent


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
    pd: PdState, waha: WahaState, company_id: int, chat_numbers: list[str], servers: list[uvicorn.Server]
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
        sent = await play(waha, messages)
        return JSONResponse({"sent": sent, "used": sorted({number for _, number, _, _ in messages})})

    async def data(request: Request) -> Response:
        return JSONResponse(company_snapshot(pd, company_id))

    return Starlette(
        routes=[
            Route("/traffic", traffic, methods=["POST"]),
            Route("/data", data, methods=["GET"]),
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
    seed_pipedrive(pd, company.id, args.persons, [n for n in chat_numbers if n not in unknown])
    token = pd.token_for(company.id, admin.id, list(ALL_SCOPES))
    waha = WahaState(
        clock=WahaClock(follow_wall_clock=True),
        seed_history=False,
        public_url=f"http://127.0.0.1:{waha_port}",
    )
    servers: list[uvicorn.Server] = []
    async with httpx.AsyncClient(timeout=60) as webhooks:
        control = control_app(pd, waha, company.id, chat_numbers, servers)
        apps = [
            (create_pipedrive(pd), pd_port),
            (create_waha(waha, api_key=args.waha_api_key, webhook_client=webhooks), waha_port),
            (control, control_port),
        ]
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
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
