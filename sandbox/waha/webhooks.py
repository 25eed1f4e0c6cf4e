"""Signed webhook delivery with WAHA's envelope, headers and retry policies.

Each delivery runs in a background task; a failed one (non-2xx, timeout or connection error) schedules
its retry on the sandbox clock, so tests move the clock to see retries happen. As in WAHA, the headers are
made once per event and every retry resends them with the same bytes: one `X-Webhook-Request-Id`, and
`X-Webhook-Timestamp` is the event's own time (the envelope's `timestamp`), not the attempt's.
`settle()` waits for the deliveries in flight; the log keeps every attempt with the exact bytes sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

import httpx

from sandbox.waha.clock import Clock, Scheduler
from sandbox.waha.ids import IdFactory
from sandbox.waha.models import WebhookTarget


def sign(body: bytes, key: str) -> str:
    """`X-Webhook-Hmac`: hex HMAC-SHA512 of the raw body."""
    return hmac.new(key.encode(), body, hashlib.sha512).hexdigest()


def encode_body(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass
class Delivery:
    """One HTTP attempt."""

    event_id: str
    event: str
    session: str
    url: str
    attempt: int
    request_id: str
    at_ms: int  # when this attempt was made; its headers carry the event's own time
    body: bytes
    headers: dict[str, str]
    status: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def envelope(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded

    def summary(self) -> dict[str, Any]:
        return {
            "eventId": self.event_id,
            "event": self.event,
            "session": self.session,
            "url": self.url,
            "attempt": self.attempt,
            "requestId": self.request_id,
            "timestamp": self.at_ms,
            "status": self.status,
            "error": self.error,
            "ok": self.ok,
        }


@dataclass
class _Job:
    target: WebhookTarget
    event_id: str
    event: str
    session: str
    body: bytes
    headers: dict[str, str]
    attempt: int = 1

    def jitter_seed(self) -> int:
        """WAHA draws each retry's jitter at random; here it is fixed by the bytes and the attempt."""
        return int(hashlib.sha256(self.body + b"#%d" % self.attempt).hexdigest()[:6], 16)


class WebhookDispatcher:
    def __init__(
        self,
        clock: Clock,
        scheduler: Scheduler,
        ids: IdFactory,
        client: httpx.AsyncClient | None = None,
        *,
        timeout: float = 10.0,
    ) -> None:
        self.clock = clock
        self.scheduler = scheduler
        self.ids = ids
        self.client = client
        self.timeout = timeout
        self.log: list[Delivery] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._waiting: list[_Job] = []

    def deliver(self, target: WebhookTarget, envelope: dict[str, Any]) -> None:
        """Send `envelope` to `target` (the same bytes and headers on every attempt and retry)."""
        body = encode_body(envelope)
        stamp = envelope.get("timestamp")
        event_ms = stamp if isinstance(stamp, int) and not isinstance(stamp, bool) else self.clock.now_ms()
        headers = {
            "Content-Type": "application/json",
            "X-Webhook-Request-Id": self.ids.request_id(),
            "X-Webhook-Timestamp": str(event_ms),
        }
        if target.hmac_key:
            headers["X-Webhook-Hmac"] = sign(body, target.hmac_key)
            headers["X-Webhook-Hmac-Algorithm"] = "sha512"
        for name, value in target.custom_headers:
            headers[name] = value
        event_id, event, session = str(envelope["id"]), str(envelope["event"]), str(envelope["session"])
        self._start(_Job(target, event_id, event, session, body, headers))

    @property
    def busy(self) -> bool:
        return bool(self._tasks or self._waiting)

    def pump(self) -> None:
        """Start deliveries queued while no event loop was running."""
        waiting, self._waiting = self._waiting, []
        for job in waiting:
            self._start(job)

    async def settle(self) -> None:
        """Wait until no delivery is in flight (retries scheduled for later stay scheduled)."""
        while self.busy:
            self.pump()
            if self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def reset(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        self._waiting.clear()
        self.log.clear()

    def _start(self, job: _Job) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._waiting.append(job)
            return
        task = loop.create_task(self._attempt(job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def http(self) -> httpx.AsyncClient:
        """The client for webhooks and for downloading `file.url` of sends."""
        if self.client is None:
            self.client = httpx.AsyncClient(timeout=self.timeout)
        return self.client

    async def _attempt(self, job: _Job) -> None:
        now = self.clock.now_ms()
        headers = dict(job.headers)
        delivery = Delivery(
            event_id=job.event_id,
            event=job.event,
            session=job.session,
            url=job.target.url,
            attempt=job.attempt,
            request_id=headers["X-Webhook-Request-Id"],
            at_ms=now,
            body=job.body,
            headers=headers,
        )
        self.log.append(delivery)
        try:
            response = await asyncio.wait_for(
                self.http().post(job.target.url, content=job.body, headers=headers), self.timeout
            )
            delivery.status = response.status_code
        except TimeoutError:
            delivery.error = "timeout"
        except Exception as exc:  # a crashing receiver is a failed delivery, like a 500
            delivery.error = f"{type(exc).__name__}: {exc}"
        if delivery.ok or job.attempt > job.target.retries.attempts:
            return
        retry = _Job(job.target, job.event_id, job.event, job.session, job.body, job.headers, job.attempt + 1)
        delay = job.target.retries.delay(job.attempt, job.jitter_seed())
        self.scheduler.after(delay, lambda: self._start(retry), f"webhook retry {job.event_id}")
