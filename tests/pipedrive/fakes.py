"""A scriptable stand-in for Pipedrive behind ``httpx.MockTransport``, and a controllable clock."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from server.pipedrive.client import PipedriveClient
from server.pipedrive.metering import UsageMeter
from server.pipedrive.oauth import PipedriveOAuth, TokenSet
from server.pipedrive.ratelimit import MemoryRateLimiter, RateLimiter, RateScope
from server.pipedrive.tokens import InstallationTokens, LocalRefreshLocks

API_DOMAIN = "https://acme.pipedrive.com"
OAUTH_URL = "https://oauth.pipedrive.com"
CLIENT_ID = "client-123"
CLIENT_SECRET = "client-secret-456"
REDIRECT_URI = "https://wapipe.example/oauth/callback"
START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

Handler = Callable[[httpx.Request], httpx.Response]


class FakeClock:
    """Wall clock, monotonic clock and ``sleep`` that move together, instantly."""

    def __init__(self, start: datetime = START) -> None:
        self.start = start
        self.elapsed = 0.0
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed)

    def monotonic(self) -> float:
        return 1000.0 + self.elapsed

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.elapsed += max(0.0, seconds)
        await asyncio.sleep(0)


def envelope(
    data: Any, additional_data: dict[str, Any] | None = None, status: int = 200, **headers: str
) -> httpx.Response:
    body = {"success": True, "data": data, "additional_data": additional_data}
    return httpx.Response(status, json=body, headers={k.replace("_", "-"): v for k, v in headers.items()})


def failure(status: int, error: str, **headers: str) -> httpx.Response:
    body = {
        "success": False,
        "error": error,
        "error_info": "Please check developers.pipedrive.com",
        "data": None,
    }
    return httpx.Response(status, json=body, headers={k.replace("_", "-"): v for k, v in headers.items()})


def token_response(
    access: str = "v1u:new-access", refresh: str = "1:1:new-refresh", api_domain: str = API_DOMAIN
) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": 3599,
            "refresh_token": refresh,
            "scope": "base,contacts:full,deals:full",
            "api_domain": api_domain,
        },
    )


@dataclass
class FakePipedrive:
    """Routes ``(METHOD, path)`` to handlers or queued responses and records every request.

    Queued responses for a route are used first (one per request), then the route's handler, then
    ``fallback``, then a 404.
    """

    handlers: dict[tuple[str, str], Handler] = field(default_factory=dict)
    queued: dict[tuple[str, str], deque[httpx.Response]] = field(default_factory=lambda: defaultdict(deque))
    requests: list[httpx.Request] = field(default_factory=list)
    clock: FakeClock | None = None
    times: list[float] = field(default_factory=list)
    fallback: Handler | None = None

    def on(self, method: str, path: str, handler: Handler) -> None:
        self.handlers[(method, path)] = handler

    def queue(self, method: str, path: str, *responses: httpx.Response) -> None:
        self.queued[(method, path)].extend(responses)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        if self.clock is not None:
            self.times.append(self.clock.monotonic())
        key = (request.method, request.url.path)
        if self.queued.get(key):
            return self.queued[key].popleft()
        handler = self.handlers.get(key)
        if handler is not None:
            return handler(request)
        if self.fallback is not None:
            return self.fallback(request)
        return failure(404, f"no fake route for {request.method} {request.url.path}")

    def sent(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def form_of(request: httpx.Request) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(request.content.decode()))


def json_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


def token_set(
    *,
    access: str = "v1u:old-access",
    refresh: str = "1:1:old-refresh",
    expires_in: float = 3600,
    now: datetime = START,
) -> TokenSet:
    return TokenSet(
        access_token=access,
        refresh_token=refresh,
        expires_at=now + timedelta(seconds=expires_in),
        scopes=frozenset({"base", "contacts:full"}),
        api_domain=API_DOMAIN,
    )


@dataclass
class Harness:
    """A client for one installation wired to a fake Pipedrive, with the refresh callback recorded."""

    fake: FakePipedrive
    http: httpx.AsyncClient
    clock: FakeClock
    oauth: PipedriveOAuth
    tokens: InstallationTokens
    client: PipedriveClient
    persisted: list[TokenSet]


def make_harness(
    fake: FakePipedrive,
    http: httpx.AsyncClient,
    clock: FakeClock,
    *,
    tokens: TokenSet | None = None,
    limiter: RateLimiter | None = None,
    meter: UsageMeter | None = None,
    locks: LocalRefreshLocks | None = None,
    max_attempts: int = 4,
) -> Harness:
    persisted: list[TokenSet] = []

    async def on_refreshed(fresh: TokenSet) -> None:
        persisted.append(fresh)

    oauth = PipedriveOAuth(
        http,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri=REDIRECT_URI,
        oauth_url=OAUTH_URL,
        clock=clock.now,
    )
    installation = InstallationTokens(
        "installation-1",
        tokens or token_set(now=clock.now()),
        oauth=oauth,
        on_refreshed=on_refreshed,
        lock=locks or LocalRefreshLocks(),
        clock=clock.now,
    )
    client = PipedriveClient(
        http,
        installation,
        RateScope(token_key="installation-1", company_key="company-1"),
        limiter=limiter
        or MemoryRateLimiter(sleep=clock.sleep, monotonic=clock.monotonic, wall_clock=clock.now),
        meter=meter,
        sleep=clock.sleep,
        clock=clock.now,
        jitter=lambda: 0.0,
        max_attempts=max_attempts,
    )
    return Harness(fake, http, clock, oauth, installation, client, persisted)
