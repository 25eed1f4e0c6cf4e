"""The production WAHA adapter wired to the WAHA sandbox: one gateway, one recorded webhook receiver.

``WahaTransport`` talks to ``sandbox.waha.create_app`` through ``httpx.ASGITransport``; ``world.received``
lists every request the sandbox received (method, path as sent, the API key it carried). The sandbox
delivers its signed webhooks to a ``MockTransport`` that records the raw body and headers of every
attempt (and can answer non-2xx on purpose); ``world.events()`` feeds the new deliveries to
``WahaTransport.parse_webhook`` with the transport's own HMAC key and the sandbox clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox.waha import SandboxState, create_app
from server.domain.whatsapp import (
    IdentityLearned,
    InboundMessage,
    MessageReceived,
    SessionChanged,
    StatusChanged,
    TransportEvent,
)
from server.whatsapp.waha import WahaTransport

API_KEY = "sandbox-api-key"
HMAC_KEY = "sandbox-hmac-key"
HOOK_URL = "https://wapipe.test/webhooks/waha"
GATEWAY = "http://127.0.0.1:3000"  # the sandbox's default public URL: media links point here
ACCOUNT = "acct-7"
OWNER = "4915155501234"
ANA = "5511987654321"  # a seeded customer: Ana Souza
JONAS = "4915112345678"  # a seeded customer: Jonas Weber

E = TypeVar("E")


@dataclass
class Recorded:
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Received:
    method: str
    path: str  # as sent: percent-encoding kept, with the query
    api_key: str | None


def recording(app: ASGIApp, received: list[Received]) -> ASGIApp:
    """``app``, noting each HTTP request before it answers."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            query = scope.get("query_string", b"")
            path = scope.get("raw_path") or scope["path"].encode()
            key = headers.get(b"x-api-key")
            received.append(
                Received(
                    scope["method"],
                    (path + (b"?" + query if query and b"?" not in path else b"")).decode("latin-1"),
                    key.decode("latin-1") if key is not None else None,
                )
            )
        await app(scope, receive, send)

    return wrapped


@dataclass
class Receiver:
    """Our webhook endpoint as the sandbox sees it: records every attempt, fails on request."""

    requests: list[Recorded] = field(default_factory=list)
    fail_next: int = 0
    fail_status: int = 503

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(Recorded(dict(request.headers), request.content))
        if self.fail_next:
            self.fail_next -= 1
            return httpx.Response(self.fail_status)
        return httpx.Response(200, json={})


class ClientTimeout(httpx.AsyncBaseTransport):
    """A read timeout on the client side: ``ASGITransport`` itself never times out."""

    def __init__(self, inner: httpx.AsyncBaseTransport, seconds: float) -> None:
        self.inner = inner
        self.seconds = seconds

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await asyncio.wait_for(self.inner.handle_async_request(request), self.seconds)
        except TimeoutError as error:
            raise httpx.ReadTimeout("the gateway did not answer in time", request=request) from error


@dataclass
class World:
    sim: SandboxState
    waha: WahaTransport
    receiver: Receiver
    received: list[Received] = field(default_factory=list)
    seen: int = 0

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.sim.clock.now_ms() / 1000, UTC)

    @property
    def unseen(self) -> list[Recorded]:
        """Deliveries recorded since the last ``events()``."""
        return self.receiver.requests[self.seen :]

    async def events(self) -> list[TransportEvent]:
        """Settle the sandbox and parse every delivery recorded since the last call, in order."""
        await self.sim.settle()
        fresh = self.unseen
        self.seen = len(self.receiver.requests)
        parsed: list[TransportEvent] = []
        for delivery in fresh:
            parsed.extend(self.waha.parse_webhook(delivery.headers, delivery.body))
        return parsed

    async def messages(self) -> list[InboundMessage]:
        return [event.message for event in await self.events() if isinstance(event, MessageReceived)]

    async def link(self, phone: str = OWNER, push_name: str = "Mia") -> None:
        """Connect the account, scan the QR on the phone, and drop the linking events."""
        await self.waha.connect(ACCOUNT)
        await self.sim.settle()
        self.sim.scan(ACCOUNT, phone, push_name)
        await self.events()


def of_type(events: Sequence[TransportEvent], kind: type[E]) -> list[E]:
    return [event for event in events if isinstance(event, kind)]


def statuses(events: Sequence[TransportEvent]) -> list[StatusChanged]:
    return of_type(events, StatusChanged)


def sessions(events: Sequence[TransportEvent]) -> list[SessionChanged]:
    return of_type(events, SessionChanged)


def identities(events: Sequence[TransportEvent]) -> list[IdentityLearned]:
    return of_type(events, IdentityLearned)


async def open_world(
    sim: SandboxState | None = None,
    *,
    base_url: str = GATEWAY,
    client_timeout: float | None = None,
    max_media_bytes: int = 1024 * 1024,
) -> AsyncIterator[World]:
    """Yield a world; the clients close afterwards."""
    state = sim or SandboxState()
    receiver = Receiver()
    async with httpx.AsyncClient(transport=httpx.MockTransport(receiver.handle)) as hooks:
        app = create_app(state, api_key=API_KEY, webhook_client=hooks)
        received: list[Received] = []
        transport: httpx.AsyncBaseTransport = httpx.ASGITransport(app=recording(app, received))
        if client_timeout is not None:
            transport = ClientTimeout(transport, client_timeout)
        async with httpx.AsyncClient(
            transport=transport, base_url=base_url, headers={"X-Api-Key": API_KEY}
        ) as http:
            waha = WahaTransport(
                http,
                webhook_url=HOOK_URL,
                hmac_key=HMAC_KEY,
                clock=lambda: datetime.fromtimestamp(state.clock.now_ms() / 1000, UTC),
                max_media_bytes=max_media_bytes,
            )
            yield World(state, waha, receiver, received)
