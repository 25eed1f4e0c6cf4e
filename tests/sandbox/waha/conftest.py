"""Fixtures for the WAHA sandbox: the gateway app, a recording webhook receiver, a linked session."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from sandbox.waha import SandboxState, create_app

API_KEY = "test-api-key"
HMAC_KEY = "test-hmac-key"
HOOK_URL = "http://wapipe.test/webhooks/waha"
OWNER = "4915155501234"
ANA = "5511987654321"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def envelope(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded


@dataclass
class Receiver:
    """An ASGI webhook receiver that records requests and can fail, or hang until released, on purpose."""

    requests: list[Received] = field(default_factory=list)
    fail_next: int = 0
    fail_status: int = 500
    crash_next: int = 0
    hang_next: int = 0
    released: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.requests.append(Received(headers, body))
        if self.hang_next:
            self.hang_next -= 1
            await self.released.wait()  # past the sender's timeout: it gives up on this attempt
        if self.crash_next:
            self.crash_next -= 1
            raise RuntimeError("receiver crashed")
        status = 200
        if self.fail_next:
            self.fail_next -= 1
            status = self.fail_status
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    def envelopes(self, event: str | None = None) -> list[dict[str, Any]]:
        found = [r.envelope for r in self.requests]
        return [e for e in found if event is None or e["event"] == event]

    def payloads(self, event: str) -> list[dict[str, Any]]:
        return [e["payload"] for e in self.envelopes(event)]

    def clear(self) -> None:
        self.requests.clear()


def webhook_config(**overrides: Any) -> dict[str, Any]:
    hook: dict[str, Any] = {
        "url": HOOK_URL,
        "events": ["*"],
        "hmac": {"key": HMAC_KEY},
        "retries": {"policy": "constant", "delaySeconds": 2, "attempts": 3},
    }
    hook.update(overrides)
    return {"webhooks": [hook], "metadata": {"account": "acct-1"}}


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def sim() -> SandboxState:
    return SandboxState()


@pytest.fixture
async def hooks(receiver: Receiver) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver)) as client:
        yield client


@pytest.fixture
async def api(sim: SandboxState, hooks: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(sim, api_key=API_KEY, webhook_client=hooks)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://waha.test", headers={"X-Api-Key": API_KEY}
    ) as client:
        yield client


@pytest.fixture
async def linked(api: httpx.AsyncClient, sim: SandboxState, receiver: Receiver) -> str:
    """A session named `default`, linked to OWNER, with a webhook to the receiver; the log is cleared."""
    response = await api.post("/api/sessions", json={"name": "default", "config": webhook_config()})
    assert response.status_code == 201
    await sim.settle()
    sim.scan("default", OWNER, "Mia")
    await sim.settle()
    receiver.clear()
    return "default"
