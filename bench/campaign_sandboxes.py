"""The campaign benchmark's Pipedrive and WhatsApp sandboxes, in a process of their own.

``bench.campaign_bench`` starts this module and reads the one JSON line it prints once everything answers
(the addresses, the company, a token, the saved filter, the Persons and their numbers). Pipedrive holds
``--persons`` Persons with distinct German mobile numbers (a saved filter "phone starts with +49176"
matches them) and ``--others`` with landline numbers the filter leaves out. The company is on the Premium
plan (400 requests per 2 s) with a daily budget of ``--budget`` tokens: a company that writes to thousands
of people a day has many seats.

Controls of this module (the gateway's side of the reconciliation is read here, where the gateway is):

    GET  /usage                      the company's Pipedrive usage: requests, tokens, by operation
    GET  /sent?marker=M[&full=1]     API sends whose text holds M: count; with full, each one's number
                                     and the gateway's time of acceptance (ms)
    POST /kill {pid, marker, after}  SIGKILL ``pid`` as the gateway accepts the ``after``-th send holding
                                     ``marker``, before WaPipe hears the answer
    GET  /killed                     whether and when that happened
    POST /stop                       stop serving
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import time
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.sandboxes import SESSION, free_port, start_servers, stop_route
from sandbox.pipedrive.app import create_app as create_pipedrive
from sandbox.pipedrive.seed import ALL_SCOPES, condition, seed_filter, seed_person
from sandbox.pipedrive.state import Clock as PdClock
from sandbox.pipedrive.state import SandboxState as PdState
from sandbox.waha.app import create_app as create_waha
from sandbox.waha.clock import Clock as WahaClock
from sandbox.waha.state import SandboxState as WahaState

FILTER_PREFIX = "+49176"
SEND_PATH = "/api/sendText"


def mobile(i: int) -> str:
    """The ``i``-th Person's mobile number, as stored in Pipedrive: distinct, valid, German."""
    return f"{FILTER_PREFIX}{10_000_000 + i * 7919 % 90_000_000:08d}"


def seed(pd: PdState, company_id: int, persons: int, others: int) -> tuple[int, dict[int, str]]:
    """The Persons (their ids and numbers) and the saved filter that finds them; its id."""
    numbers: dict[int, str] = {}
    first_names = ("Anna", "Ben", "Clara", "David", "Emma", "Felix", "Greta", "Hugo")
    for i in range(persons):
        name = f"{first_names[i % len(first_names)]} Kunde{i}"
        person = seed_person(pd, company_id, name, phones=[mobile(i)])
        numbers[int(person["id"])] = mobile(i).lstrip("+")
    for i in range(others):
        seed_person(pd, company_id, f"Festnetz {i}", phones=[f"+4930{20_000_000 + i}"])
    saved = seed_filter(
        pd,
        company_id,
        "Mobile customers",
        "people",
        [condition(pd, company_id, "person", "phone", "LIKE '$%'", FILTER_PREFIX)],
    )
    return int(saved["id"]), numbers


class KillSwitch:
    """Kills WaPipe's job runner as the gateway accepts a chosen send, before the answer goes back."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.marker = ""
        self.after = 0
        self.seen = 0
        self.killed_at: float | None = None

    def arm(self, pid: int, marker: str, after: int) -> None:
        self.pid, self.marker, self.after, self.seen, self.killed_at = pid, marker, after, 0, None

    def accepted(self, body: bytes) -> None:
        if self.pid is None or self.marker.encode() not in body:
            return
        self.seen += 1
        if self.seen >= self.after:
            os.kill(self.pid, signal.SIGKILL)
            self.pid, self.killed_at = None, time.time()


class Guarded:
    """The WAHA sandbox's ASGI app; a send the kill switch is waiting for kills before it is answered."""

    def __init__(self, app: Any, switch: KillSwitch) -> None:
        self.app, self.switch = app, switch

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].endswith(SEND_PATH):
            await self.app(scope, receive, send)
            return
        body = bytearray()

        async def reading() -> Any:
            message = await receive()
            body.extend(message.get("body", b""))
            return message

        async def answering(message: Any) -> None:
            if message["type"] == "http.response.start" and message["status"] < 300:
                self.switch.accepted(bytes(body))
            await send(message)

        await self.app(scope, reading, answering)


def control_app(
    pd: PdState, waha: WahaState, company_id: int, switch: KillSwitch, servers: list[uvicorn.Server]
) -> Starlette:
    async def usage(request: Request) -> Response:
        counted = pd.limiter.usage_for(company_id)
        return JSONResponse(
            {
                "requests": counted.requests_total,
                "tokens": counted.tokens_total,
                "rejected": counted.rejected,
                "by_operation": dict(counted.per_operation),
                "activities": sum(
                    1 for a in pd.company_data(company_id).activities.values() if not a["is_deleted"]
                ),
            }
        )

    async def sent(request: Request) -> Response:
        marker = request.query_params.get("marker", "")
        entries = [e for e in waha.session(SESSION).outbox if marker in e.text]
        answer: dict[str, Any] = {"count": len(entries)}
        if request.query_params.get("full"):
            answer["sends"] = [[e.chat_id.split("@")[0], e.timestamp_ms] for e in entries]
        return JSONResponse(answer)

    async def kill(request: Request) -> Response:
        body = await request.json()
        switch.arm(int(body["pid"]), str(body["marker"]), int(body["after"]))
        return JSONResponse({"armed": True})

    async def killed(request: Request) -> Response:
        return JSONResponse({"killed_at": switch.killed_at, "seen": switch.seen})

    return Starlette(
        routes=[
            Route("/usage", usage, methods=["GET"]),
            Route("/sent", sent, methods=["GET"]),
            Route("/kill", kill, methods=["POST"]),
            Route("/killed", killed, methods=["GET"]),
            stop_route(servers),
        ]
    )


async def serve(args: argparse.Namespace) -> None:
    pd_port, waha_port, control_port = free_port(), free_port(), free_port()
    pd = PdState(clock=PdClock(follow_wall_clock=True), base_url=f"http://127.0.0.1:{pd_port}")
    company = pd.add_company("Campaign GmbH", domain="campaign", plan="premium", timezone="Europe/Berlin")
    admin = pd.add_user(company.id, "Admin", "admin@campaign.test", is_admin=True)
    pd.limiter.set_daily_budget(company.id, args.budget)
    filter_id, numbers = seed(pd, company.id, args.persons, args.others)
    token = pd.token_for(company.id, admin.id, list(ALL_SCOPES))
    waha = WahaState(
        clock=WahaClock(follow_wall_clock=True),
        seed_history=False,
        public_url=f"http://127.0.0.1:{waha_port}",
    )
    switch = KillSwitch()
    servers: list[uvicorn.Server] = []
    async with httpx.AsyncClient(timeout=60) as webhooks:
        apps = [
            (create_pipedrive(pd), pd_port),
            (
                Guarded(create_waha(waha, api_key=args.waha_api_key, webhook_client=webhooks), switch),
                waha_port,
            ),
            (control_app(pd, waha, company.id, switch, servers), control_port),
        ]
        serving = await start_servers(apps, servers, "bench.campaign_sandboxes")
        ready = {
            "pipedrive": f"http://127.0.0.1:{pd_port}",
            "waha": f"http://127.0.0.1:{waha_port}",
            "control": f"http://127.0.0.1:{control_port}",
            "company": company.id,
            "admin": admin.id,
            "admin_email": "admin@campaign.test",
            "token": token,
            "scopes": list(ALL_SCOPES),
            "filter_id": filter_id,
            "numbers": {str(k): v for k, v in numbers.items()},
        }
        print(json.dumps(ready), flush=True)
        while not all(task.done() for task in serving):
            await waha.settle()  # webhook deliveries and the gateway's scheduled jobs (acks)
            await asyncio.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, default=5000)
    parser.add_argument("--others", type=int, default=1000, help="Persons the filter leaves out")
    parser.add_argument("--budget", type=int, default=3_000_000, help="the company's daily token budget")
    parser.add_argument("--waha-api-key", default="")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
