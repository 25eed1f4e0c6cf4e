"""The embedded WhatsApp sessions inside a WaPipe process: the ``ConnectionFactory`` the session host starts
each number's connection with (``server.whatsapp.embedded_connection``), and where a connection's events
and statuses go (``JobsSink``): stored as inbound deliveries and queued for the inbound jobs, exactly as a
webhook is (a delivery whose enqueue is lost is queued again by the sweeper), and the number's status
recorded at once.

``start_embedded_sessions`` runs the host in the background of a worker or of ``wapipe serve`` / ``wapipe
demo`` (without Redis), until its ``stop`` is awaited.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from server.crypto import SecretBox
from server.domain.clock import Clock, Sleep
from server.domain.models import Account
from server.domain.ports.queue import JobQueue
from server.domain.ports.sessions import Connection, SessionLease, SessionLeases
from server.domain.ports.storage import InboxStore
from server.domain.whatsapp import SessionStatus
from server.jobs.deps import JobDeps
from server.jobs.inbound import keep_delivery
from server.jobs.session_calls_redis import RedisSessionCalls
from server.jobs.session_host import SessionHost, WatchedAccounts, accounts_on
from server.jobs.session_leases_redis import RedisSessionLeases
from server.jobs.timing import JobTimings
from server.settings import Settings
from server.storage.embedded_sessions import SqlEmbeddedSessions
from server.storage.inbound_events import SqlInboundEventStore
from server.storage.session_leases import SqlSessionLeases
from server.whatsapp.embedded import EmbeddedTransport, LiveSessions
from server.whatsapp.embedded_bodies import EMBEDDED
from server.whatsapp.embedded_client import NeonizeClient, SessionClient
from server.whatsapp.embedded_connection import EmbeddedConnection, SessionState, SessionTimings
from server.whatsapp.embedded_remote import answer_call

log = logging.getLogger(__name__)

ClientFor = Callable[[Path], SessionClient]


class JobsSink:
    """``SessionSink``: a session's events become stored inbound deliveries, queued; its statuses are
    recorded on its number."""

    def __init__(
        self, events: SqlInboundEventStore, inbox: InboxStore, queue: JobQueue, clock: Clock
    ) -> None:
        self._events = events
        self._inbox = inbox
        self._queue = queue
        self._clock = clock

    async def keep(self, session_name: str, event_key: str, body: bytes) -> None:
        await keep_delivery(
            self._events,
            self._queue,
            transport=EMBEDDED,
            event_key=event_key,
            session_name=session_name,
            body=body,
            received_at=self._clock.now(),
        )

    async def status(self, session_name: str, status: SessionStatus, detail: str) -> None:
        account = await self._inbox.account_for_session(EMBEDDED, session_name)
        if account is not None:
            await self._inbox.record_session(account.id, status, detail, None, self._clock.now())


class EmbeddedConnections:
    """``ConnectionFactory``: opens a number's session here and lists it among this process's live ones."""

    def __init__(
        self,
        live: LiveSessions,
        state: SessionState,
        sink: JobsSink,
        *,
        client_for: ClientFor,
        store_dir: Path,
        timings: SessionTimings,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._live = live
        self._state = state
        self._sink = sink
        self._client_for = client_for
        self._store_dir = store_dir
        self._timings = timings
        self._sleep = sleep

    async def start(self, account: Account, lease: SessionLease) -> Connection:
        connection = EmbeddedConnection(
            account.session_name,
            lease.token,
            client_for=self._client_for,
            state=self._state,
            sink=self._sink,
            store_dir=self._store_dir,
            timings=self._timings,
            sleep=self._sleep,
        )
        await connection.start()
        self._live.add(connection)
        return _Running(connection, self._live)


class _Running:
    def __init__(self, connection: EmbeddedConnection, live: LiveSessions) -> None:
        self._connection = connection
        self._live = live

    async def stop(self) -> None:
        self._live.remove(self._connection)
        await self._connection.stop()


def session_timings(timings: JobTimings) -> SessionTimings:
    return SessionTimings(
        retry_base=timings.retry_base, retry_max=timings.session_retry_max, poll=timings.session_lease_poll
    )


@dataclass
class RunningHost:
    """A session host running in the background of this process."""

    host: SessionHost
    stopping: asyncio.Event
    task: asyncio.Task[None]
    helpers: list[asyncio.Task[None]] = field(default_factory=list)  # answering other workers' calls

    async def stop(self) -> None:
        """Stop every session (its device store saved, its lease released) and the host."""
        self.stopping.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(self.task, *self.helpers)


def start_session_host(
    transport: EmbeddedTransport,
    *,
    leases: SessionLeases,
    accounts: WatchedAccounts,
    connections: EmbeddedConnections,
    owner: str,
    timings: JobTimings,
    clock: Clock,
) -> RunningHost:
    """Run the session host for the embedded numbers in the background."""
    host = SessionHost(
        leases, accounts_on(accounts, transport.kind), connections, owner=owner, timings=timings, clock=clock
    )
    stopping = asyncio.Event()
    task = asyncio.create_task(host.run(stopping), name="session host")
    log.info("the session host runs the embedded WhatsApp sessions", extra={"runner": owner})
    return RunningHost(host, stopping, task)


def neonize_clients(proxy: str) -> ClientFor:
    """Sessions on neonize's client, through ``proxy`` when one is set (``WAPIPE_WHATSAPP_PROXY``)."""

    def client_for(store_path: Path) -> SessionClient:
        return NeonizeClient(str(store_path), proxy=proxy)

    return client_for


def start_embedded_sessions(
    settings: Settings,
    deps: JobDeps,
    redis: Redis | None = None,
    *,
    client_for: ClientFor | None = None,
    relay: RedisSessionCalls | None = None,
) -> RunningHost | None:
    """With ``WAPIPE_WHATSAPP=embedded``: run this process's session host (leases on ``redis`` when the
    deployment has it, else in the database), its sessions on neonize unless ``client_for`` says otherwise
    (a test's stand-in for WhatsApp); otherwise ``None``."""
    transport = deps.transports.get(EMBEDDED)
    if not isinstance(transport, EmbeddedTransport):
        return None
    box = SecretBox.from_setting(settings.encryption_keys.get_secret_value())
    leases: SessionLeases = (
        RedisSessionLeases(redis) if redis is not None else SqlSessionLeases(deps.engine, deps.clock)
    )
    connections = EmbeddedConnections(
        transport.live,
        SqlEmbeddedSessions(deps.engine, box, deps.clock),
        JobsSink(deps.inbound_events, deps.inbox, deps.queue, deps.clock),
        client_for=client_for or neonize_clients(settings.whatsapp_proxy),
        store_dir=settings.var_dir / "sessions",
        timings=session_timings(deps.timings),
    )
    running = start_session_host(
        transport,
        leases=leases,
        accounts=deps.accounts,
        connections=connections,
        owner=deps.runner_name,
        timings=deps.timings,
        clock=deps.clock,
    )
    if relay is not None:  # other workers' jobs reach the sessions this one runs
        live = transport.live

        async def answer(session: str, method: str, args: dict[str, Any]) -> dict[str, Any]:
            return await answer_call(live, session, method, args)

        running.helpers.append(
            asyncio.create_task(relay.serve(live.names, answer, running.stopping), name="session calls")
        )
    return running
