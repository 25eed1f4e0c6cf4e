"""Ports on the storage side: the database stores and the media files on disk (``server.storage``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Protocol

from server.domain.installations import Installation, StoredTokens
from server.domain.link_recheck import MatchedLink
from server.domain.matching import PersonPhones
from server.domain.message_changes import (
    AppliedChange,
    MessageChanged,
    PendingChange,
    Reacted,
    ReactionLine,
)
from server.domain.models import Account, AccountRef, Company, OutboxEntry
from server.domain.sync import (
    ChatLink,
    CrmPerson,
    DayPart,
    IntentClaim,
    MediaRetry,
    MessageMedia,
    SyncChat,
    SyncMessage,
    SyncProblem,
    SyncSettings,
)
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
        ``True`` when it was applied. ``at=None``: observed just now from the gateway, always applied."""
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


class AccountStore(Protocol):
    """Connected numbers; every lookup a person can trigger is scoped by company."""

    async def create(
        self, *, company_id: int, owner_user_id: int, transport: str, session_name: str
    ) -> Account:
        """``InvalidInput`` (reason ``session_exists``) when the session name is taken."""
        ...

    async def get(self, company_id: int, account_id: int) -> Account | None: ...

    async def for_company(self, company_id: int) -> list[Account]: ...

    async def set_status(self, account_id: int, status: str, detail: str = "") -> None: ...


class MediaFiles(Protocol):
    """Downloaded WhatsApp media on disk (``WAPIPE_MEDIA_DIR``), stored once by content hash."""

    async def save(self, chunks: AsyncIterator[bytes]) -> tuple[str, int, str]:
        """Store the stream; ``(sha256, size, path)``."""
        ...

    async def read(self, path: str) -> bytes: ...


class PhoneIndexStore(Protocol):
    """The persisted phone index: a company's Persons and their phones, with the ``updated_since`` mark."""

    async def is_built(self, company_id: int) -> bool: ...

    async def watermark(self, company_id: int) -> datetime | None: ...

    async def set_watermark(self, company_id: int, watermark: datetime | None) -> None:
        """Record the newest ``update_time`` applied (and that the index has been built)."""
        ...

    async def persons(self, company_id: int) -> list[PersonPhones]: ...

    async def save_persons(self, company_id: int, persons: Iterable[CrmPerson]) -> None: ...

    async def person_name(self, company_id: int, person_id: int) -> str | None: ...

    async def link_value(self, company_id: int, person_id: int) -> str | None: ...

    async def set_link_value(self, company_id: int, person_id: int, value: str) -> None: ...


class PhoneIndexReader(Protocol):
    """The stored phone index as the settings page reads it (matching preview, re-check list)."""

    async def is_built(self, company_id: int) -> bool: ...

    async def persons(self, company_id: int) -> list[PersonPhones]: ...

    async def person_name(self, company_id: int, person_id: int) -> str | None: ...


class ContactCardIndex(Protocol):
    """The stored phone index as shared contact cards read it and add the Persons they create to it."""

    async def persons(self, company_id: int) -> list[PersonPhones]: ...

    async def person_name(self, company_id: int, person_id: int) -> str | None: ...

    async def save_persons(self, company_id: int, persons: Sequence[CrmPerson]) -> None: ...


class MatchedLinks(Protocol):
    """Chat links made by matching, a page at a time in chat-id order (the settings page's re-check list)."""

    async def matched_links(self, company_id: int, *, after: int, limit: int) -> list[MatchedLink]: ...


class IntentStore(Protocol):
    """The write-ahead intents of creates in Pipedrive, shared with the sync engine (``SyncStore``)."""

    async def claim_intent(
        self, company_id: int, key: str, *, owner: str, lease: timedelta, now: datetime
    ) -> IntentClaim | None: ...

    async def complete_intent(self, key: str, result: str, *, now: datetime) -> None: ...

    async def release_intent(self, key: str) -> None: ...


class SyncChatStore(Protocol):
    """Chats as the sync engine sees them, with their account and company."""

    async def chat(self, chat_id: int) -> SyncChat | None: ...

    async def chat_by_key(self, account_id: int, chat_key: str) -> SyncChat | None: ...

    async def successor_chat(self, chat_id: int) -> int | None:
        """The chat a merged-away ``@lid`` chat now lives in."""
        ...


class ChatLinkStore(Protocol):
    """Each chat's link to Pipedrive and how far the engine has read the chat."""

    async def link(self, chat: SyncChat) -> ChatLink:
        """The chat's link, created on first use; adopts what was synced for a merged ``@lid`` chat."""
        ...

    async def save_link(self, link: ChatLink) -> None: ...

    async def chats_linked_to(self, company_id: int, person_id: int) -> list[int]:
        """The company's chats whose link names the Person."""
        ...


class ChatLeaseStore(Protocol):
    """One sync run at a time per chat."""

    async def acquire_chat(self, chat: SyncChat, *, owner: str, lease: timedelta, now: datetime) -> bool:
        """Take the chat's lease (``False`` while another owner holds it)."""
        ...

    async def release_chat(self, chat_id: int, *, owner: str) -> None: ...


class SyncSettingsStore(Protocol):
    """The company's settings and the installations the engine writes as."""

    async def settings(self, company_id: int) -> SyncSettings: ...

    async def save_setup_keys(self, company_id: int, changes: dict[str, str]) -> None: ...

    async def installation_email(self, company_id: int, pipedrive_user_id: int) -> str | None: ...

    async def admin_user_id(self, company_id: int) -> int | None: ...


class SyncIntentStore(IntentStore, Protocol):
    """The intents as the sync engine also uses them: a Person deleted in Pipedrive forgets its creates."""

    async def forget_person_intents(self, company_id: int, person_id: int) -> None:
        """Drop completed Person creates whose result is ``person_id`` (a Person deleted in Pipedrive)."""
        ...


class DayStore(Protocol):
    """The chat's messages as the engine reads them, and its day activities (dirty flags, parts)."""

    async def messages_after(self, chat_id: int, cursor: int) -> list[SyncMessage]: ...

    async def has_unseen_messages(self, chat_id: int, cursor: int) -> bool: ...

    async def messages_between(self, chat_id: int, start: datetime, end: datetime) -> list[SyncMessage]: ...

    async def mark_days_dirty(
        self, chat_id: int, days: Iterable[date], *, now: datetime, cursor: int | None
    ) -> None:
        """Mark the days dirty and (atomically) advance the chat's cursor to ``cursor``."""
        ...

    async def mark_written_days_dirty(self, chat_id: int, *, now: datetime) -> None: ...

    async def has_dirty_days(self, chat_id: int, *, due_before: datetime) -> bool: ...

    async def dirty_days(self, chat_id: int, *, due_before: datetime) -> list[tuple[date, int]]: ...

    async def clear_dirty(self, chat_id: int, day: date, version: int) -> None:
        """Clear the flag only if the day is still at ``version``."""
        ...

    async def clear_all_dirty(self, chat_id: int) -> None: ...

    async def day_parts(self, chat_id: int, day: date) -> list[DayPart]: ...

    async def save_part(self, part: DayPart) -> None: ...

    async def drop_part(self, chat_id: int, day: date, part: int) -> None: ...


class ChangeStore(Protocol):
    """Edits, deletions and reactions waiting to reach the chat's day activities and files."""

    async def pending_changes(self, chat_id: int) -> list[PendingChange]:
        """The chat's messages edited or deleted since their day was last marked dirty, oldest first."""
        ...

    async def drop_changes(self, chat_id: int, change_ids: Sequence[int]) -> None: ...

    async def file_deletions(self, chat_id: int) -> list[tuple[int, int]]:
        """(entry id, Pipedrive file id) of the chat's uploaded files whose messages were deleted."""
        ...

    async def drop_file_deletion(self, entry_id: int) -> None: ...

    async def reactions_between(self, chat_id: int, start: datetime, end: datetime) -> list[ReactionLine]:
        """The chat's reactions made in [start, end), each with a quote of its message."""
        ...


class MediaStore(Protocol):
    """Attachments: their downloads (with retries) and their uploads to Pipedrive's Files."""

    async def pending_media(self, chat_id: int, *, due_at: datetime) -> list[SyncMessage]:
        """Messages whose attachment is not downloaded yet and may be tried by ``due_at``."""
        ...

    async def claim_media_attempt(self, message_id: int, *, now: datetime, retry: MediaRetry) -> int | None:
        """Take the attachment's next download: its number, or ``None`` when not due or taken."""
        ...

    async def next_media_attempt(self, chat_id: int) -> datetime | None: ...

    async def save_media(self, media: MessageMedia) -> None: ...

    async def media_of(self, message_ids: list[int]) -> dict[int, MessageMedia]: ...

    async def media_not_uploaded(
        self, chat_id: int, company_id: int, target: str, target_id: int
    ) -> list[tuple[SyncMessage, MessageMedia]]: ...

    async def save_upload(
        self, company_id: int, sha256: str, target: str, target_id: int, file_id: int
    ) -> None: ...


class ProblemStore(Protocol):
    """Failures for the company's admins."""

    async def record_problem(self, problem: SyncProblem) -> None:
        """A failure for the company's admins (the settings page lists open ones)."""
        ...


class SyncStore(
    SyncChatStore,
    ChatLinkStore,
    ChatLeaseStore,
    SyncSettingsStore,
    SyncIntentStore,
    DayStore,
    ChangeStore,
    MediaStore,
    ProblemStore,
    Protocol,
):
    """The sync engine's state, one object over the stores above (the engine receives it whole).

    Every write is idempotent; leases and compare-and-set versions keep concurrent workers apart.
    """


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
    ) -> tuple[OutboxEntry, bool]:
        """Store the request unless its ``client_ref`` is known; (entry, newly stored)."""
        ...


class AuditLog(Protocol):
    """The company's audit log: every settings change, send, link, pin, exclusion and erasure."""

    async def record(
        self, company_id: int, actor_user_id: int, action: str, subject: str, details: Mapping[str, object]
    ) -> None: ...


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
