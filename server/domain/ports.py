"""Ports: the Protocols services depend on; adapters implement them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from server.domain.models import AccountRef, Company
from server.domain.whatsapp import Delivery, InboundMessage, Peer, SessionStatus


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


class InboxStore(Protocol):
    """Where inbound WhatsApp events land: accounts, chats, messages and their delivery statuses.

    Every method is idempotent: the same event applied twice leaves the same rows.
    """

    async def account_for_session(self, transport: str, session_name: str) -> AccountRef | None: ...

    async def record_session(
        self, account_id: int, status: SessionStatus, detail: str, me: Peer | None, at: datetime
    ) -> bool:
        """Store the session's status (and its number once known) unless a later one is already stored;
        ``True`` when it was applied."""
        ...

    async def upsert_chat(self, account_id: int, peer: Peer, at: datetime) -> int:
        """The chat's id, created on first sight; names and numbers filled in as they become known."""
        ...

    async def add_message(self, account_id: int, chat_id: int, message: InboundMessage) -> bool:
        """Store the message under its logical key; ``False`` when it was already stored."""
        ...

    async def advance_status(self, account_id: int, message_key: str, status: Delivery) -> Delivery | None:
        """Move the message's status forward (never back); the stored status, ``None`` if no such message."""
        ...

    async def learn_identity(
        self, account_id: int, lid_chat_key: str, pn_chat_key: str, e164: str | None
    ) -> None:
        """A ``@lid`` chat is this phone number's chat: merge the two into the phone one."""
        ...
