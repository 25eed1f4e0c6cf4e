"""Ports on the queue side: where work waits for the job runners (``server.jobs``: arq or in-process)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Protocol


class JobQueue(Protocol):
    """Puts work on the queue the workers (arq) or the in-process runner take it from.

    Semantics shared by both implementations (arq's):
    - ``job_id`` dedupes: while a job with that id is queued, running, or its result is kept, enqueueing
      the same id again returns ``False`` and changes nothing.
    - ``defer_by`` runs the job no earlier than that delay from now.
    - A job function asks for a retry by raising ``arq.Retry(defer=...)``; it runs again up to its
      ``max_tries``; arq's ``job_try`` in the job's ``ctx`` counts attempts from 1.
    """

    async def enqueue(
        self, function: str, *args: Any, job_id: str | None = None, defer_by: timedelta | None = None
    ) -> bool:
        """Queue ``function(ctx, *args)``; ``False`` when ``job_id`` is already taken."""
        ...

    async def ping(self) -> None:
        """Raise when the queue cannot take work (e.g. Redis unreachable)."""
        ...

    async def is_running(self, job_id: str) -> bool:
        """Whether the job with this id has started and not finished (queued or deferred: ``False``)."""
        ...
