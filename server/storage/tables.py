"""The database schema as sqlmodel tables. Alembic migrations in ``migrations/`` create them.

This module holds the shared column types and helpers and the core tables (companies, installations,
accounts, chats, messages, attachments, the outbox, the audit log); the sync engine's tables are in
``tables_sync`` and those of messages changed after they arrived in ``tables_changes``. Whatever reads
``SQLModel.metadata`` as the whole schema imports all three modules.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    Dialect,
    Index,
    LargeBinary,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy import inspect as inspect_model
from sqlmodel import Field, SQLModel

from server.domain.models import InboundEventState, OutboxStatus
from server.domain.sync import SETTINGS_DEFAULTS


def utcnow() -> datetime:
    return datetime.now(UTC)


def table_of(model: type[SQLModel]) -> Table:
    """The SQLAlchemy ``Table`` of a table model, typed (sqlmodel leaves ``__table__`` untyped)."""
    table = inspect_model(model).local_table
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not a table model")
    return table


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on PostgreSQL and on SQLite (which forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if not isinstance(value, datetime):
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Company(SQLModel, table=True):
    """A Pipedrive company that installed WaPipe."""

    __tablename__ = "company"

    id: int | None = Field(default=None, primary_key=True)
    pipedrive_company_id: int = Field(unique=True, index=True)
    name: str = Field(default="", max_length=255)
    api_domain: str = Field(default="", max_length=255)
    timezone: str = Field(default="UTC", max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class WorkerHeartbeat(SQLModel, table=True):
    """When each job runner last proved it was alive (a cron job writes it)."""

    __tablename__ = "worker_heartbeat"

    name: str = Field(primary_key=True, max_length=128)
    seen_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class SessionLease(SQLModel, table=True):
    """Which worker runs each embedded WhatsApp session (``server.storage.session_leases``): a session key,
    no company's data. The row stays when the lease is released, so its fencing token keeps growing."""

    __tablename__ = "session_lease"

    session_key: str = Field(primary_key=True, max_length=128)
    owner: str = Field(default="", max_length=255)  # "" while nobody holds it
    token: int = Field(default=0)  # the fencing token of the latest holder
    expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)  # None while nobody holds it


class EmbeddedSession(SQLModel, table=True):
    """What an embedded WhatsApp session shares between the worker that runs it and every other process
    (``server.storage.embedded_sessions``): the QR code to scan, a pairing code asked for and given, a
    logout asked for, and whatsmeow's device store. Secrets are Fernet tokens (``WAPIPE_ENCRYPTION_KEYS``)."""

    __tablename__ = "embedded_session"

    session_name: str = Field(primary_key=True, max_length=128)
    company_id: int = Field(foreign_key="company.id", index=True)
    account_id: int = Field(foreign_key="whatsapp_account.id", index=True)
    qr_encrypted: str = Field(default="", sa_type=Text)  # the linking value the phone scans
    qr_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    pairing_phone: str = Field(default="", max_length=32)  # a pairing code asked for this number
    pairing_code_encrypted: str = Field(default="", sa_type=Text)
    pairing_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    logout_requested: bool = Field(default=False)
    device_encrypted: bytes | None = Field(default=None, sa_type=LargeBinary)  # whatsmeow's SQLite store
    device_token: int = Field(default=0)  # the lease's fencing token of the worker that saved it
    device_saved_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class WhatsAppAccount(SQLModel, table=True):
    """A connected WhatsApp number: one team member's, in one company, on one transport session."""

    __tablename__ = "whatsapp_account"
    __table_args__ = (UniqueConstraint("transport", "session_name"),)

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    owner_user_id: int = Field(index=True)  # the Pipedrive user who linked it
    transport: str = Field(max_length=16)  # "waha" | "cloud"
    session_name: str = Field(max_length=64)
    e164: str | None = Field(default=None, max_length=20, unique=True)  # one number, one company
    display_name: str = Field(default="", max_length=255)
    status: str = Field(default="stopped", max_length=32)
    status_detail: str = Field(default="", max_length=500)
    status_at: datetime | None = Field(default=None, sa_type=UtcDateTime)  # when the status was reported
    last_activity_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # Every message sent before this is stored (where a complete catch-up started); the next reads from here.
    caught_up_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class InboundEvent(SQLModel, table=True):
    """A webhook as received, kept under a unique key so a redelivery is recognised and ignored."""

    __tablename__ = "inbound_event"

    id: int | None = Field(default=None, primary_key=True)
    transport: str = Field(max_length=16)
    event_key: str = Field(max_length=200, unique=True)
    session_name: str = Field(default="", max_length=64)
    body: bytes = Field(sa_type=LargeBinary)
    state: str = Field(default=InboundEventState.PENDING.value, max_length=16)  # InboundEventState
    reason: str = Field(default="", max_length=64)
    detail: str = Field(default="", max_length=1000)
    attempts: int = Field(default=0)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    processed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class Chat(SQLModel, table=True):
    """One conversation of one connected number, as the transport names it."""

    __tablename__ = "chat"
    __table_args__ = (UniqueConstraint("account_id", "chat_key"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="whatsapp_account.id", index=True)
    chat_key: str = Field(max_length=128)
    e164: str | None = Field(default=None, max_length=20, index=True)
    lid: str | None = Field(default=None, max_length=64, index=True)
    is_group: bool = Field(default=False)
    display_name: str = Field(default="", max_length=255)
    last_message_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    revision: int = Field(default=0)  # one more at every change to one of its messages (migration 0017)


class Message(SQLModel, table=True):
    """One WhatsApp message, stored once per account whatever number of times it arrives."""

    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint("account_id", "message_key"),
        Index("ix_message_chat_id_revision", "chat_id", "revision"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="whatsapp_account.id", index=True)
    chat_id: int = Field(foreign_key="chat.id", index=True)
    message_key: str = Field(max_length=200)  # the logical id: the same for twins and redeliveries
    wa_message_id: str = Field(max_length=300)  # as the transport spelled it first
    from_me: bool = Field(default=False)
    sender_key: str = Field(default="", max_length=128)
    sender_name: str = Field(default="", max_length=255)
    text: str = Field(default="", sa_type=Text)
    media_kind: str = Field(default="", max_length=16)
    media_mime: str = Field(default="", max_length=128)
    media_filename: str = Field(default="", max_length=255)
    media_locator: str = Field(default="", max_length=1000)
    details: str = Field(default="", sa_type=Text)  # a location, contacts or a call (message_kinds.encode)
    status: str = Field(default="pending", max_length=16)
    origin: str = Field(default="live", max_length=16)  # live | history | catchup
    sent_at: datetime = Field(sa_type=UtcDateTime, index=True)
    edited_at: datetime | None = Field(default=None, sa_type=UtcDateTime)  # its sender edited it
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)  # its sender deleted it
    # When WaPipe learnt that a message we sent was delivered / read (its tick arrived; 0023)
    delivered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    read_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    edit_history: str = Field(default="", sa_type=Text)  # JSON: the texts edits replaced (migration 0013)
    reply_to_id: str = Field(default="", max_length=128, index=True)  # a reply: the answered message's id
    reply_to_message_id: int | None = Field(default=None)  # the answered message, when stored (0014)
    quote_text: str = Field(default="", sa_type=Text)  # what the transport quoted, for an answer not stored
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    # The chat's revision at the message's latest change, 0 until one (``storage.revisions``, 0017)
    revision: int = Field(default=0)


class Installation(SQLModel, table=True):
    """One Pipedrive user's installation of WaPipe: their OAuth tokens, encrypted at rest."""

    __tablename__ = "installation"
    __table_args__ = (UniqueConstraint("company_id", "pipedrive_user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    pipedrive_user_id: int = Field(index=True)
    name: str = Field(default="", max_length=255)
    email: str = Field(default="", max_length=255)
    is_admin: bool = Field(default=False)
    access_token_encrypted: str = Field(default="", sa_type=Text)  # Fernet token of the access token
    refresh_token_encrypted: str = Field(default="", sa_type=Text)
    expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    scopes: str = Field(default="", max_length=1000)  # comma-separated, as Pipedrive grants them
    api_domain: str = Field(default="", max_length=255)
    status: str = Field(default="active", max_length=16)  # active | needs_reauth | uninstalled
    status_detail: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    uninstalled_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # One more at every uninstall (migration 0010): a chat-view session or a panel cache entry made
    # before it is never honoured again.
    session_epoch: int = Field(default=0)
    # The language the user reads Pipedrive in, from /users/me at every install (migration 0019).
    language: str = Field(default="", max_length=16)


_DEFAULT = SETTINGS_DEFAULTS  # the defaults' one table (server.domain.sync)


class CompanySettings(SQLModel, table=True):
    """What an admin chose on the settings page, and what setup created in Pipedrive."""

    __tablename__ = "company_settings"

    company_id: int = Field(foreign_key="company.id", primary_key=True)
    # realtime | 1h | 6h | 12h | 24h
    import_frequency: str = Field(default=_DEFAULT.import_frequency.value, max_length=16)
    auto_add_persons: bool = Field(default=_DEFAULT.auto_add_persons)
    new_chat_action: str = Field(default=_DEFAULT.new_chat_action.value, max_length=16)  # deal|lead|nothing
    pipeline_id: int | None = Field(default=_DEFAULT.pipeline_id)
    import_groups: bool = Field(default=_DEFAULT.import_groups)
    # E.164 numbers, one per line
    excluded_numbers: str = Field(default="\n".join(_DEFAULT.excluded_numbers), sa_type=Text)
    message_retention_days: int = Field(default=_DEFAULT.message_retention_days)  # 0: forever (0009)
    media_retention_days: int = Field(default=_DEFAULT.media_retention_days)  # 0: keep files forever
    keep_deleted_text: bool = Field(default=_DEFAULT.keep_deleted_text)  # deleted text kept in Pipedrive
    activity_type_key: str = Field(default=_DEFAULT.activity_type_key, max_length=100)  # type key_string
    # the "WhatsApp chat link" fields on Person and on Deal
    person_link_field_key: str = Field(default=_DEFAULT.person_link_field_key, max_length=64)
    deal_link_field_key: str = Field(default=_DEFAULT.deal_link_field_key, max_length=64)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class MediaBlob(SQLModel, table=True):
    """A downloaded attachment, stored once by its SHA-256; ``path`` is where its store finds the file (a
    path under ``WAPIPE_MEDIA_DIR``, or ``s3:`` and the object's name in ``WAPIPE_MEDIA_S3_BUCKET``)."""

    __tablename__ = "media"

    sha256: str = Field(primary_key=True, max_length=64)
    path: str = Field(max_length=500)
    mime: str = Field(default="", max_length=128)
    size: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class MediaDeletionRow(SQLModel, table=True):
    """A stored attachment's file to delete (``server.storage.media_deletions``): listed in the transaction
    that deleted the last rows naming it, gone once the file is; while its deletion fails, how many tries
    failed, why the last did, and when the next may start (migration 0030). No company's data: the path
    holds only the file's content hash."""

    __tablename__ = "media_deletion"

    path: str = Field(primary_key=True, max_length=500)
    attempts: int = Field(default=0)
    reason: str = Field(default="", max_length=64)
    next_attempt_at: datetime = Field(sa_type=UtcDateTime, index=True)
    listed_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class MessageMediaRow(SQLModel, table=True):
    """What became of a message's attachment: stored (which blob), unavailable or too large; while it is
    pending, how many downloads were tried and when the next may start (migration 0011)."""

    __tablename__ = "message_media"

    message_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    state: str = Field(max_length=16)
    sha256: str | None = Field(default=None, max_length=64, index=True)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UtcDateTime, index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class MediaUpload(SQLModel, table=True):
    """A blob uploaded to a Person's or Deal's Files: once per (company, blob, target)."""

    __tablename__ = "media_upload"
    __table_args__ = (UniqueConstraint("company_id", "sha256", "target", "target_id"),)

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    sha256: str = Field(max_length=64)
    target: str = Field(max_length=16)  # person | deal
    target_id: int
    file_id: int
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class Outbox(SQLModel, table=True):
    """A message a user asked to send, stored before anything is sent, so it is sent exactly once."""

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    client_ref: str = Field(max_length=64, unique=True)  # the send form's idempotency key
    company_id: int = Field(foreign_key="company.id", index=True)
    account_id: int = Field(foreign_key="whatsapp_account.id", index=True)
    requested_by: int = Field(default=0)  # the Pipedrive user who pressed Send
    to_chat: str = Field(max_length=128)  # the recipient: an E.164 number or a chat key
    person_id: int | None = Field(default=None)
    deal_id: int | None = Field(default=None)
    text: str = Field(default="", sa_type=Text)
    file_id: int | None = Field(default=None)  # a Pipedrive file to attach
    file_name: str = Field(default="", max_length=255)
    fingerprint: str = Field(default="", max_length=80)
    status: str = Field(default=OutboxStatus.QUEUED.value, max_length=16)  # OutboxStatus
    attempts: int = Field(default=0)
    attempt_started_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    wa_message_id: str | None = Field(default=None, max_length=300)
    message_key: str | None = Field(default=None, max_length=200)
    error_reason: str = Field(default="", max_length=64)
    error_message: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    # A Meta-approved template to send instead of free text (Cloud API numbers; migration 0022): its name,
    # language and body parameters as JSON ({"values": [...], "names": [...]}); ``text`` is the filled body.
    template_name: str = Field(default="", max_length=512)
    template_language: str = Field(default="", max_length=16)
    template_parameters: str = Field(default="", sa_type=Text)


# --- the audit log (migration 0008) -------------------------------------------------------------------


class AuditLog(SQLModel, table=True):
    """Who changed what: settings changes, sends, links and pins, exclusions, erasures."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    actor_user_id: int = Field(default=0)  # the Pipedrive user; 0 for WaPipe itself
    action: str = Field(max_length=64)
    subject: str = Field(default="", max_length=255)
    details: str = Field(default="{}", sa_type=Text)  # JSON
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)


# --- OAuth states already used (migration 0010) --------------------------------------------------------


class OAuthStateUse(SQLModel, table=True):
    """An OAuth ``state`` that came back once: kept until it expires anyway, so a second use is refused
    in every process. A nonce and a time, no company's data."""

    __tablename__ = "oauth_state_use"

    nonce: str = Field(primary_key=True, max_length=64)
    expires_at: datetime = Field(sa_type=UtcDateTime, index=True)
