"""What every job finds in ``ctx``: built once per worker (or per in-process runner) by a composition root."""

from __future__ import annotations

import os
import socket
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.whatsapp import WhatsAppTransport
from server.storage.accounts import SqlAccountStore
from server.storage.companies import SqlCompanyStore
from server.storage.heartbeats import SqlHeartbeatStore
from server.storage.inbound_events import SqlInboundEventStore
from server.storage.inbox import SqlInboxStore


def runner_name(kind: str) -> str:
    return f"{kind}:{socket.gethostname()}:{os.getpid()}"


def job_context(
    engine: AsyncEngine, *, kind: str, transports: dict[str, WhatsAppTransport] | None = None
) -> dict[str, Any]:
    """Stores and transports for jobs; the composition root adds ``queue`` once the queue exists."""
    return {
        "engine": engine,
        "runner_name": runner_name(kind),
        "companies": SqlCompanyStore(engine),
        "heartbeats": SqlHeartbeatStore(engine),
        "accounts": SqlAccountStore(engine),
        "inbound_events": SqlInboundEventStore(engine),
        "inbox": SqlInboxStore(engine),
        "transports": transports or {},
    }
