"""Domain records: plain, immutable values the services work with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Company:
    """A Pipedrive company that installed WaPipe."""

    id: int
    pipedrive_company_id: int
    name: str
    api_domain: str
    timezone: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AccountRef:
    """A connected WhatsApp number as the ingest path needs it."""

    id: int
    company_id: int
    transport: str
    session_name: str


@dataclass(frozen=True, slots=True)
class Account:
    """A connected WhatsApp number: one team member's, in one company, on one transport session."""

    id: int
    company_id: int
    owner_user_id: int
    transport: str
    session_name: str
    e164: str | None
    display_name: str
    status: str
    status_detail: str
    last_activity_at: datetime | None
    # Every message sent before this is stored: a catch-up read the history from before it to it, with no
    # page left (``None``: none has yet, so the next one imports the first-link window). Catch-up starts
    # here (``server.services.catch_up``); a session seen leaving the connected state lowers it.
    caught_up_until: datetime | None = None


class OutboxStatus(StrEnum):
    """How far a message a user asked to send got (stored as its value)."""

    QUEUED = "queued"  # waiting for the send job
    SENDING = "sending"  # handed to the gateway; the outcome is not known yet
    SENT = "sent"
    FAILED = "failed"  # with a named reason; a person must act


class InboundEventState(StrEnum):
    """Where a stored webhook delivery stands (stored as its value)."""

    PENDING = "pending"  # not processed yet, or waiting for a message it refers to
    PROCESSED = "processed"
    REJECTED = "rejected"  # its body is not what the transport documents: never processed
    FAILED = "failed"  # processed in part or not at all, with a named reason


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A message a user asked to send, and how far it got."""

    id: int
    client_ref: str
    company_id: int
    account_id: int
    requested_by: int
    to_chat: str
    person_id: int | None
    deal_id: int | None
    text: str
    file_id: int | None
    file_name: str
    status: OutboxStatus
    attempts: int
    attempt_started_at: datetime | None
    wa_message_id: str | None
    message_key: str | None
    error_reason: str
    error_message: str
    created_at: datetime
    # A Meta-approved template sent instead of free text (``text`` is then its filled-in body).
    template_name: str = ""
    template_language: str = ""
    template_parameters: str = ""  # JSON: {"values": [...], "names": [...]}
