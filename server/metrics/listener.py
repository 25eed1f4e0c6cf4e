"""A worker's own small HTTP listener (``WAPIPE_METRICS_PORT`` on ``WAPIPE_METRICS_HOST``): workers serve no
web pages, so Prometheus and a health monitor reach them here.

- ``GET /metrics``: the scrape, under the token rule of ``server.metrics.access``;
- ``GET /healthz``: the worker's own health (200 or 503, JSON);
- any other path: 404 ``not_found``; any other method: 405 ``method_not_allowed``.

HTTP/1.1, one request per connection. A request whose head is not complete within ``read_timeout`` seconds
or is longer than ``MAX_HEAD_BYTES`` is dropped without an answer; nothing but the head is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from server.metrics.access import refusal
from server.metrics.exposition import CONTENT_TYPE

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 8192  # a scrape's request line and headers: a few hundred bytes
READ_TIMEOUT_S = 5.0
JSON = "application/json"
REASONS = {200: "OK", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed"}


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes
    content_type: str = JSON
    headers: tuple[tuple[str, str], ...] = ()


def json_answer(status: int, body: dict[str, object], headers: tuple[tuple[str, str], ...] = ()) -> Answer:
    return Answer(status, json.dumps(body).encode(), headers=headers)


class MetricsListener:
    """Serves ``metrics`` and ``health`` until ``stop``; ``token`` is ``WAPIPE_METRICS_TOKEN``."""

    def __init__(
        self,
        *,
        token: str,
        metrics: Callable[[], Awaitable[bytes]],
        health: Callable[[], Awaitable[Answer]],
        read_timeout: float = READ_TIMEOUT_S,
    ) -> None:
        self._token = token
        self._metrics = metrics
        self._health = health
        self._read_timeout = read_timeout
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> None:
        """Listen on ``host:port`` (``OSError`` when it cannot, e.g. the port is taken)."""
        self._server = await asyncio.start_server(self._serve, host, port, limit=MAX_HEAD_BYTES)

    @property
    def port(self) -> int:
        """The port listened on (the one the system chose, for port 0)."""
        assert self._server is not None, "the listener has not started"
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self._read_timeout)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
                return
            answer = await self._answer(head)
            writer.write(_response(answer))
            await writer.drain()
        except Exception:  # one broken scrape must not stop the listener
            log.exception("the metrics listener could not answer a request")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(self, head: bytes) -> Answer:
        lines = head.decode("latin-1").split("\r\n")
        method, _, rest = lines[0].partition(" ")
        target = rest.partition(" ")[0].partition("?")[0]
        headers = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip().lower()] = value.strip()
        if target not in ("/metrics", "/healthz"):
            return json_answer(404, {"error": "not_found", "message": "only /metrics and /healthz are here"})
        if method != "GET":
            return json_answer(405, {"error": "method_not_allowed", "message": f"{target} answers GET only"})
        if target == "/healthz":
            return await self._health()
        refused = refusal(self._token, headers.get("authorization"))
        if refused is not None:
            challenge = (
                (("WWW-Authenticate", 'Bearer realm="wapipe-metrics"'),) if refused.status == 401 else ()
            )
            return json_answer(
                refused.status, {"error": refused.reason, "message": refused.message}, challenge
            )
        return Answer(200, await self._metrics(), CONTENT_TYPE)


def _response(answer: Answer) -> bytes:
    reason = REASONS.get(answer.status, "Service Unavailable" if answer.status == 503 else "")
    head = (
        f"HTTP/1.1 {answer.status} {reason}\r\n"
        f"Content-Type: {answer.content_type}\r\n"
        f"Content-Length: {len(answer.body)}\r\n"
        "Cache-Control: no-store\r\n"
        + "".join(f"{name}: {value}\r\n" for name, value in answer.headers)
        + "Connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + answer.body
