"""Webhook deliveries v2, as Pipedrive sends them to the hooks stored by `POST /api/v1/webhooks`.

A hook matches an event when its `event_object` is the entity or `*` and its `event_action` the action or
`*`; hooks of version "1.0" are stored but get nothing here (only the v2 format is sent). Each event is
POSTed as JSON `{"meta": {...}, "data": ..., "previous": ...}` with the meta fields of Pipedrive's guide
for webhooks v2: ids as strings, `timestamp` RFC 3339 with milliseconds, `attempt` counting from 1, and
`merged_to_id` / `merged_from_id` on the delete and the change a merge sends. A hook with
`http_auth_user` gets HTTP Basic auth with `http_auth_user:http_auth_password`.

Delivery follows Pipedrive's policy: any 2xx is a success; a non-2xx answer, a timeout (10 s) or a
connection error is a failure, retried 3 more times after 3, 30 and 150 s on the sandbox clock (tests
move the clock, then `run_due()` or `settle()` starts what is due). Every failed first attempt adds one
to the hook's ban counter; at 10 the hook is banned for 30 minutes and the counter starts over; while
banned, new events and pending retries are lost (logged with `error="banned"`, never sent). Each
attempt updates the hook's `last_delivery_time` and `last_http_status`. Deleting a hook with no success
for 3 days is not modelled.

Retries start when something calls `run_due()`: `settle()`, each new event, every API request and the
sandbox's delivery controls; a clock that follows the wall clock still needs one of those to fire them.
The log keeps every attempt with the exact bytes and headers sent.
"""

from __future__ import annotations

import asyncio
import base64
import json
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from sandbox.pipedrive.outbound import outbound_client
from sandbox.pipedrive.state import Record, SandboxState

RETRY_DELAYS = (3, 30, 150)
TIMEOUT_SECONDS = 10.0
BAN_AFTER_FAILED_FIRST_ATTEMPTS = 10
BAN_DURATION = timedelta(minutes=30)


def encode_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def basic_auth(user: str, password: str | None) -> str:
    token = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
    return f"Basic {token}"


@dataclass
class Event:
    """One change to one entity, before it is addressed to a hook."""

    company_id: int
    entity: str
    action: str
    entity_id: int
    user_id: int
    change_source: str
    data: dict[str, Any] | None
    previous: dict[str, Any] | None
    event_id: str
    correlation_id: str
    timestamp: datetime
    merged_to_id: int | None = None
    merged_from_id: int | None = None


@dataclass
class Delivery:
    """One attempt (or, with `sent` False, one event lost to a ban)."""

    company_id: int
    webhook_id: int
    event_id: str
    action: str
    entity: str
    entity_id: int
    url: str
    attempt: int
    at: datetime
    body: bytes
    headers: dict[str, str]
    status: int | None = None
    error: str | None = None
    sent: bool = True

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def payload(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded

    def summary(self) -> dict[str, Any]:
        return {
            "company_id": self.company_id,
            "webhook_id": self.webhook_id,
            "event_id": self.event_id,
            "action": self.action,
            "entity": self.entity,
            "entity_id": self.entity_id,
            "url": self.url,
            "attempt": self.attempt,
            "at": self.at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "sent": self.sent,
            "status": self.status,
            "error": self.error,
            "ok": self.ok,
            "headers": dict(self.headers),
            "payload": self.payload(),
        }


@dataclass
class _Job:
    event: Event
    webhook_id: int
    attempt: int = 1


@dataclass
class _HookHealth:
    failed_first_attempts: int = 0
    banned_until: datetime | None = None


@dataclass
class WebhookDispatcher:
    """Per-state delivery of webhooks. Set `http` to inject the client (tests: `httpx.ASGITransport`)."""

    state: SandboxState
    http: httpx.AsyncClient | None = None
    timeout: float = TIMEOUT_SECONDS
    log: list[Delivery] = field(default_factory=list)
    _health: dict[tuple[int, int], _HookHealth] = field(default_factory=dict)
    _retries: list[tuple[datetime, int, _Job]] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _waiting: list[_Job] = field(default_factory=list)
    _seq: int = 0

    def forget(self) -> None:
        """Drop the log, pending retries, bans and deliveries in flight (the HTTP client stays)."""
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        self._waiting.clear()
        self._retries.clear()
        self._health.clear()
        self.log.clear()

    # events ----------------------------------------------------------------------------------------
    def new_ids(self) -> tuple[str, str]:
        """A fresh event id and correlation id (a merge's two events share one correlation id)."""
        return self.state.next_uuid("webhook_event"), self.state.next_uuid("webhook_correlation")

    def emit(self, event: Event) -> None:
        """Address `event` to every matching v2 hook of its company and start the first attempts."""
        self.run_due()
        hooks = (
            self.state.company_data(event.company_id).webhooks if event.company_id in self.state.data else {}
        )
        for hook in sorted(hooks.values(), key=lambda h: h["id"]):
            if hook_matches(hook, event.entity, event.action):
                job = _Job(event, hook["id"])
                if self._banned(job, hook):
                    continue
                self._start(job)

    # scheduling ------------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return bool(self._tasks or self._waiting)

    def pending_retries(self) -> list[dict[str, Any]]:
        return [
            {"due": self.state.rfc3339(due), "webhook_id": job.webhook_id, "attempt": job.attempt}
            for due, _, job in sorted(self._retries, key=lambda r: (r[0], r[1]))
        ]

    def run_due(self) -> int:
        """Start every retry due by the sandbox clock's now; return how many started."""
        now = self.state.clock.now()
        due = sorted((r for r in self._retries if r[0] <= now), key=lambda r: (r[0], r[1]))
        self._retries = [r for r in self._retries if r[0] > now]
        for _, _, job in due:
            hook = self._hook(job)
            if hook is not None and not self._banned(job, hook):
                self._start(job)
        return len(due)

    async def settle(self) -> None:
        """Start what is due and wait until no delivery is in flight (later retries stay scheduled)."""
        self.run_due()
        while self.busy:
            waiting, self._waiting = self._waiting, []
            for job in waiting:
                self._start(job)
            if self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)
            self.run_due()

    def _start(self, job: _Job) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._waiting.append(job)
            return
        task = loop.create_task(self._attempt(job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # one attempt -----------------------------------------------------------------------------------
    def _hook(self, job: _Job) -> Record | None:
        data = self.state.data.get(job.event.company_id)
        return data.webhooks.get(job.webhook_id) if data is not None else None

    def _banned(self, job: _Job, hook: Record) -> bool:
        health = self._health.setdefault((job.event.company_id, job.webhook_id), _HookHealth())
        now = self.state.clock.now()
        if health.banned_until is not None and now >= health.banned_until:
            health.banned_until = None
        if health.banned_until is None:
            return False
        body = encode_body(self.payload(job, hook))
        self.log.append(self._delivery(job, hook, body, {}, sent=False, error="banned"))
        return True

    def payload(self, job: _Job, hook: Record) -> dict[str, Any]:
        event = job.event
        company = self.state.companies[event.company_id]
        permitted = [str(u.id) for u in self.state.company_users(company.id) if u.active]
        meta: dict[str, Any] = {
            "action": event.action,
            "entity": event.entity,
            "company_id": str(company.id),
            "correlation_id": event.correlation_id,
            "entity_id": str(event.entity_id),
            "id": event.event_id,
            "is_bulk_edit": False,
            "timestamp": event.timestamp.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "type": hook["type"],
            "user_id": str(event.user_id),
            "version": "2.0",
            "webhook_id": str(hook["id"]),
            "webhook_owner_id": str(hook["owner_id"]),
            "change_source": event.change_source,
            "attempt": job.attempt,
            "host": f"{company.domain}.pipedrive.com",
            "permitted_user_ids": permitted,
        }
        if event.merged_to_id is not None:
            meta["merged_to_id"] = str(event.merged_to_id)
        if event.merged_from_id is not None:
            meta["merged_from_id"] = str(event.merged_from_id)
        return {"meta": meta, "data": event.data, "previous": event.previous}

    def _delivery(
        self,
        job: _Job,
        hook: Record,
        body: bytes,
        headers: dict[str, str],
        *,
        sent: bool = True,
        error: str | None = None,
    ) -> Delivery:
        event = job.event
        return Delivery(
            company_id=event.company_id,
            webhook_id=job.webhook_id,
            event_id=event.event_id,
            action=event.action,
            entity=event.entity,
            entity_id=event.entity_id,
            url=hook["subscription_url"],
            attempt=job.attempt,
            at=self.state.clock.now(),
            body=body,
            headers=headers,
            sent=sent,
            error=error,
        )

    async def _attempt(self, job: _Job) -> None:
        hook = self._hook(job)
        if hook is None:
            return
        body = encode_body(self.payload(job, hook))
        headers = {"Content-Type": "application/json"}
        if hook.get("http_auth_user"):
            headers["Authorization"] = basic_auth(hook["http_auth_user"], hook.get("http_auth_password"))
        delivery = self._delivery(job, hook, body, headers)
        self.log.append(delivery)
        try:
            delivery.status = await asyncio.wait_for(
                self._post(hook["subscription_url"], body, headers), self.timeout
            )
        except (TimeoutError, httpx.TimeoutException):
            delivery.error = "timeout"
        except Exception as exc:  # a crashing or unreachable receiver is a failed delivery
            delivery.error = f"{type(exc).__name__}: {exc}"
        hook["last_delivery_time"] = delivery.at
        hook["last_http_status"] = delivery.status
        if delivery.ok:
            return
        if job.attempt == 1:
            self._count_failed_first_attempt(job)
        if job.attempt > len(RETRY_DELAYS):
            return
        due = self.state.clock.now() + timedelta(seconds=RETRY_DELAYS[job.attempt - 1])
        self._seq += 1
        self._retries.append((due, self._seq, _Job(job.event, job.webhook_id, job.attempt + 1)))

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        if self.http is not None:
            response = await self.http.post(url, content=body, headers=headers)
        else:
            async with outbound_client(self.timeout) as http:
                response = await http.post(url, content=body, headers=headers)
        return response.status_code

    def _count_failed_first_attempt(self, job: _Job) -> None:
        health = self._health.setdefault((job.event.company_id, job.webhook_id), _HookHealth())
        health.failed_first_attempts += 1
        if health.failed_first_attempts >= BAN_AFTER_FAILED_FIRST_ATTEMPTS:
            health.failed_first_attempts = 0
            health.banned_until = self.state.clock.now() + BAN_DURATION


def hook_matches(hook: Record, entity: str, action: str) -> bool:
    return (
        str(hook.get("version")) == "2.0"
        and hook.get("event_object") in (entity, "*")
        and hook.get("event_action") in (action, "*")
    )


_DISPATCHERS: weakref.WeakKeyDictionary[SandboxState, WebhookDispatcher] = weakref.WeakKeyDictionary()


def webhooks_for(state: SandboxState) -> WebhookDispatcher:
    """The one `WebhookDispatcher` of this state (created on first use)."""
    dispatcher = _DISPATCHERS.get(state)
    if dispatcher is None:
        dispatcher = _DISPATCHERS[state] = WebhookDispatcher(state)
    return dispatcher
