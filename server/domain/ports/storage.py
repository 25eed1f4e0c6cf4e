"""Ports on the storage side: the database stores and the attachments' files (``server.storage``); the sync
engine's state and the stored phone index are in ``sync_store``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from server.domain.installations import Installation, StoredTokens
from server.domain.message_changes import (
    AppliedChange,
    MessageChanged,
    Reacted,
)
from server.domain.models import Account, AccountRef, Company, OutboxEntry
from server.domain.whatsapp import Delivery, InboundMessage, Peer, SessionStatus


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
        self, account_id: int, status: SessionStatus, detail: str, me: Peer | None, at: datetime | None
    ) -> bool:
        """Store the session's status (and its number once known) unless a later one is already stored;
        ``True`` when it was applied. ``at=None``: observed just now from the gateway, always applied. A
        status other than connected, applied, lowers the account's ``caught_up_until`` to its newest stored
        message: what the session misses from then on is later."""
        ...

    async def upsert_chat(self, account_id: int, peer: Peer, at: datetime) -> int:
        """The chat's id, created on first sight; names and numbers filled in as they become known."""
        ...

    async def add_message(
        self, account_id: int, chat_id: int, message: InboundMessage, *, received_at: datetime | None = None
    ) -> bool:
        """Store the message under its logical key; ``False`` when it was already stored. ``received_at``:
        when it reached WaPipe (its webhook arrived; by default now)."""
        ...

    async def advance_status(self, account_id: int, message_key: str, status: Delivery) -> Delivery | None:
        """Move the message's status forward (never back); the stored status, ``None`` if no such message."""
        ...

    async def claim_send(self, account_id: int, client_ref: str, wa_message_id: str) -> bool:
        """A status webhook that carries our ``client_ref`` (Cloud API) names the message a send became:
        store its id on the outbox entry still on its way, so a retry after an uncertain failure finds it
        sent instead of sending it again. ``False`` when no such entry waits."""
        ...

    async def record_send_failure(self, account_id: int, message_key: str, reason: str, detail: str) -> bool:
        """A message we sent was refused after the gateway took it (the Cloud API reports most refusals,
        131047 among them, by webhook): its outbox entry becomes failed with the named reason."""
        ...

    async def learn_identity(
        self, account_id: int, lid_chat_key: str, pn_chat_key: str, e164: str | None
    ) -> None:
        """A ``@lid`` chat is this phone number's chat: merge the two into the phone one."""
        ...

    async def adopt_replies(self, account_id: int, message: InboundMessage) -> list[tuple[int, int]]:
        """``message`` was just stored: replies to it stored earlier now quote it; their (id, chat id)."""
        ...

    async def apply_change(self, account_id: int, change: MessageChanged) -> AppliedChange | None:
        """Apply an edit or a deletion by the sender to the stored message; ``None`` if it is not stored
        (the change then waits for it)."""
        ...

    async def apply_waiting_changes(self, account_id: int, message_key: str) -> list[AppliedChange]:
        """The message ``message_key`` was just stored: apply the changes and reactions that waited for it."""
        ...

    async def apply_reaction(self, account_id: int, reaction: Reacted) -> AppliedChange | None:
        """Store a reaction (or its removal) on the stored message; ``None`` if it is not stored (then it
        waits for that message: ``apply_waiting_changes``)."""
        ...

    async def last_message_at(self, account_id: int) -> datetime | None:
        """When the newest stored message of the account was sent (``None``: none stored yet)."""
        ...


class AccountStore(Protocol):
    """Connected numbers; every lookup a person can trigger is scoped by company."""

    async def create(
        self, *, company_id: int, owner_user_id: int, transport: str, session_name: str
    ) -> Account:
        """``InvalidInput`` (reason ``session_exists``) when the session name is taken."""
        ...

    async def get(self, company_id: int, account_id: int) -> Account | None: ...

    async def by_id(self, account_id: int) -> Account | None:
        """For jobs, which carry ids they were given by company-scoped code."""
        ...

    async def for_company(self, company_id: int) -> list[Account]: ...

    async def set_status(self, account_id: int, status: str, detail: str = "") -> None: ...

    async def mark_caught_up(self, account_id: int, until: datetime, *, was: datetime | None) -> bool:
        """Move ``caught_up_until`` forward to ``until`` (a catch-up that began then found no page left),
        only while the session is connected and the mark is still ``was``, the one the catch-up read from;
        ``False`` when it stays."""
        ...


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A stored attachment opened for sending on: its length in bytes (``None`` when the store did not
    say), and its bytes, read as they are consumed (never all at once)."""

    size: int | None
    chunks: AsyncIterator[bytes]


class MediaFiles(Protocol):
    """Attachments' bytes, stored once by content hash: on this machine's disk (``WAPIPE_MEDIA_DIR``) or in
    an S3-compatible bucket (``WAPIPE_MEDIA_S3_BUCKET``). A file's ``path`` is what ``save`` returned (the
    blob row keeps it), and only the store finds the file again by it."""

    async def save(self, chunks: AsyncIterator[bytes]) -> tuple[str, int, str]:
        """Store the stream; ``(sha256, size, path)``. Nothing half-written is ever found under ``path``,
        and the same bytes saved twice are one file."""
        ...

    async def read(self, path: str) -> bytes:
        """The whole file (for an upload to Pipedrive, which takes it whole); ``NotFound`` when it is gone."""
        ...

    async def open(self, path: str) -> StoredFile:
        """The file to stream (to a browser); ``NotFound`` when it is gone."""
        ...

    async def delete(self, path: str) -> None:
        """Remove the file; one already gone is no error."""
        ...


class OutboxStore(Protocol):
    """Messages users asked to send; one row per idempotency key (``client_ref``)."""

    async def create(
        self,
        *,
        client_ref: str,
        company_id: int,
        account_id: int,
        requested_by: int,
        to_chat: str,
        text: str,
        fingerprint: str,
        person_id: int | None = None,
        deal_id: int | None = None,
        file_id: int | None = None,
        file_name: str = "",
        template_name: str = "",
        template_language: str = "",
        template_parameters: str = "",
    ) -> tuple[OutboxEntry, bool]:
        """Store the request unless its ``client_ref`` is known; (entry, newly stored). A template send
        carries the template's name, language and stored parameters (``server.domain.cloud_templates``)."""
        ...


class OutboxRows(Protocol):
    """The outbox as the send job moves a row along (``SqlOutboxStore``)."""

    async def by_id(self, outbox_id: int) -> OutboxEntry | None:
        """For jobs, which carry ids company-scoped code gave them."""
        ...

    async def start_attempt(self, outbox_id: int, at: datetime) -> None:
        """The row becomes ``sending``: from now on the message may have gone out."""
        ...

    async def mark_sent(self, outbox_id: int, wa_message_id: str, message_key: str) -> None: ...

    async def mark_failed(self, outbox_id: int, reason: str, message: str) -> None: ...


class AuditLog(Protocol):
    """The company's audit log: every settings change, send, link, pin, exclusion and erasure."""

    async def record(
        self, company_id: int, actor_user_id: int, action: str, subject: str, details: Mapping[str, object]
    ) -> None: ...


class InstallationLookup(Protocol):
    """One user's installation in a company (``SqlInstallationStore``)."""

    async def get(self, company_id: int, pipedrive_user_id: int) -> Installation | None: ...


class ConnectorStore(Protocol):
    """The part of the installation store the connector needs (``SqlInstallationStore`` implements it)."""

    async def admin_installation(self, company_id: int) -> Installation | None:
        """The earliest active admin installation; else the earliest admin one needing re-auth; else None."""
        ...

    async def get(self, company_id: int, pipedrive_user_id: int) -> Installation | None: ...

    async def tokens(self, installation_id: int) -> StoredTokens | None:
        """Decrypted tokens, ``None`` once uninstalled."""
        ...

    async def save_tokens(self, installation_id: int, tokens: StoredTokens) -> bool: ...

    async def mark_needs_reauth(self, installation_id: int, detail: str) -> bool: ...


class InstallationWriter(Protocol):
    """The part of the installation store installing and uninstalling need (``SqlInstallationStore``)."""

    async def upsert(
        self,
        company_id: int,
        pipedrive_user_id: int,
        *,
        name: str,
        email: str,
        is_admin: bool,
        tokens: StoredTokens,
        language: str = "",
    ) -> Installation: ...

    async def admin_installation(self, company_id: int) -> Installation | None: ...

    async def mark_uninstalled(
        self, company_id: int, pipedrive_user_id: int, *, detail: str = ""
    ) -> Installation | None: ...


class CompanySetup(Protocol):
    """The company's settings row, created with the defaults when an admin installs."""

    async def ensure_defaults(self, company_id: int) -> None: ...


class UsedStates(Protocol):
    """The install links' states already used (``SqlUsedStates``)."""

    async def claim(self, nonce: str, *, max_age: float) -> bool:
        """``True`` the first time a state's nonce is claimed within ``max_age`` seconds."""
        ...
