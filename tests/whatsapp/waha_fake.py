"""A scripted WAHA for ``httpx.MockTransport``: canned answers per route, every request recorded."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

API_KEY = "test-waha-api-key"
BASE_URL = "http://waha.test:3000"

Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeWaha:
    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def on(self, method: str, raw_path: str, body: object = None, *, status: int = 200) -> None:
        """Answer ``method raw_path`` (percent-encoded path, no query) with ``body`` as JSON."""
        self.routes[(method, raw_path)] = lambda _request: httpx.Response(status, json=body)

    def on_call(self, method: str, raw_path: str, handler: Handler) -> None:
        self.routes[(method, raw_path)] = handler

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("x-api-key") != API_KEY:
            return httpx.Response(401, json={"message": "Unauthorized"})
        path = request.url.raw_path.decode().split("?", 1)[0]
        handler = self.routes.get((request.method, path))
        if handler is None:
            return httpx.Response(404, json={"message": f"no route {request.method} {path}"})
        return handler(request)

    def last(self, method: str, raw_path: str) -> httpx.Request:
        for request in reversed(self.requests):
            if request.method == method and request.url.raw_path.decode().split("?", 1)[0] == raw_path:
                return request
        raise AssertionError(f"{method} {raw_path} was never called; calls: {self.calls()}")

    def calls(self) -> list[str]:
        return [f"{r.method} {r.url.raw_path.decode().split('?', 1)[0]}" for r in self.requests]


def body_of(request: httpx.Request) -> dict[str, object]:
    value = json.loads(request.content)
    assert isinstance(value, dict)
    return value
