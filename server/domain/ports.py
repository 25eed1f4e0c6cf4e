"""Ports: the Protocols services depend on; adapters implement them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from server.domain.models import Company


class JobQueue(Protocol):
    """Puts work on the queue the workers (arq) or the in-process runner take it from.

    Semantics shared by both implementations (arq's):
    - ``job_id`` dedupes: while a job with that id is queued, running, or its result is kept, enqueueing
      the same id again returns ``False`` and changes nothing.
    - ``defer_by`` runs the job no earlier than that delay from now.
    - A job function asks for a retry by raising ``arq.Retry(defer=...)``; it runs again up to its
      ``max_tries``; ``ctx["job_try"]`` counts attempts from 1.
    """

    async def enqueue(
        self, function: str, *args: Any, job_id: str | None = None, defer_by: timedelta | None = None
    ) -> bool:
        """Queue ``function(ctx, *args)``; ``False`` when ``job_id`` is already taken."""
        ...

    async def ping(self) -> None:
        """Raise when the queue cannot take work (e.g. Redis unreachable)."""
        ...


class CompanyStore(Protocol):
    """Companies by their Pipedrive id."""

    async def upsert(
        self, pipedrive_company_id: int, *, name: str, api_domain: str, timezone: str
    ) -> Company:
        """Create the company or update its details; safe to call concurrently and repeatedly."""
        ...

    async def get(self, pipedrive_company_id: int) -> Company | None: ...


class HeartbeatStore(Protocol):
    """When each job runner last proved it was alive."""

    async def beat(self, name: str, at: datetime | None = None) -> None: ...

    async def last_seen(self) -> dict[str, datetime]: ...
