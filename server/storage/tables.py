"""The database schema as sqlmodel tables. Alembic migrations in ``migrations/`` create them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, LargeBinary, Text, TypeDecorator, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


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
    state: str = Field(default="pending", max_length=16)  # pending | processed | rejected | failed
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


class Message(SQLModel, table=True):
    """One WhatsApp message, stored once per account whatever number of times it arrives."""

    __tablename__ = "message"
    __table_args__ = (UniqueConstraint("account_id", "message_key"),)

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
    status: str = Field(default="pending", max_length=16)
    origin: str = Field(default="live", max_length=16)  # live | history | catchup
    sent_at: datetime = Field(sa_type=UtcDateTime, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
