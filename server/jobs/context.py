"""What every job finds in ``ctx``: built once per worker (or per in-process runner) from the settings."""

from __future__ import annotations

import os
import socket
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from server.storage.companies import SqlCompanyStore
from server.storage.heartbeats import SqlHeartbeatStore


def runner_name(kind: str) -> str:
    return f"{kind}:{socket.gethostname()}:{os.getpid()}"


def job_context(engine: AsyncEngine, *, kind: str) -> dict[str, Any]:
    return {
        "engine": engine,
        "runner_name": runner_name(kind),
        "companies": SqlCompanyStore(engine),
        "heartbeats": SqlHeartbeatStore(engine),
    }
