"""Campaigns: the values a campaign is made of and the views its pages show.

A campaign writes one message to each Person of a Pipedrive selection or saved filter. Its recipients are
read once when it is created (``CampaignSource``), the message and the From numbers are chosen when it is
previewed and started (``Compose``), and each sending number is paced (``Pacing``). Who is skipped, and
why, is ``SkipReason``; how far a recipient got is ``RecipientStatus``. The rules live beside this module:
``campaign_skips`` (who is skipped), ``campaign_pacing`` (when each number sends next).

``Pacing`` refuses impossible settings by name (``invalid_pacing``); everything here is a plain value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from server.domain.errors import InvalidInput, NumberNotOnWhatsApp
from server.domain.message_templates import TemplateAttachment
from server.domain.ports.recipients import ListKind
from server.domain.text import Text

MAX_GAP_SECONDS = 24 * 3600  # a gap longer than a day is a pause, not pacing
MAX_DAILY_CAP = 100_000
_CLOCK_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


class CampaignStatus(StrEnum):
    DRAFT = "draft"  # recipients read, nothing chosen or sent yet
    SCHEDULED = "scheduled"  # started with a start time still ahead
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    FINISHED = "finished"


class RecipientStatus(StrEnum):
    PENDING = "pending"  # waiting for its turn
    SKIPPED = "skipped"  # with a SkipReason; never sent
    QUEUED = "queued"  # its outbox row exists; the send job has it
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    REPLIED = "replied"  # an inbound message in the chat after the send
    FAILED = "failed"


class SkipReason(StrEnum):
    NO_PHONE = "no_phone"
    NUMBER_INVALID = "number_invalid"
    NOT_ON_WHATSAPP = "not_on_whatsapp"
    OPTED_OUT = "opted_out"
    EXCLUDED_NUMBER = "excluded_number"
    DUPLICATE = "duplicate"
    OUTSIDE_CLOUD_WINDOW = "outside_cloud_window"
    TEMPLATE_UNAVAILABLE = "template_unavailable"  # the approved template could not be filled for them


class FromMode(StrEnum):
    FIXED = "fixed"  # one number sends everything
    LAST_NUMBER = "last_number"  # each contact's last number; the first chosen when there is none
    ROUND_ROBIN = "round_robin"  # across the chosen numbers, in turn


ACTIVE = frozenset({CampaignStatus.SCHEDULED, CampaignStatus.RUNNING})
ENDED = frozenset({CampaignStatus.CANCELLED, CampaignStatus.FINISHED})


def skip_reason_text(reason: SkipReason) -> Text:
    """Why a recipient is not written to, as a page shows it."""
    return {
        SkipReason.NO_PHONE: Text("No phone number"),
        SkipReason.NUMBER_INVALID: Text("The phone number is not a valid number"),
        SkipReason.NOT_ON_WHATSAPP: Text("Not on WhatsApp"),
        SkipReason.OPTED_OUT: Text("Opted out"),
        SkipReason.EXCLUDED_NUMBER: Text("Excluded number"),
        SkipReason.DUPLICATE: Text("Already in this campaign"),
        SkipReason.OUTSIDE_CLOUD_WINDOW: Text("Outside the 24-hour window and no approved template"),
        SkipReason.TEMPLATE_UNAVAILABLE: Text("The approved template is no longer approved or lacks a value"),
    }[reason]


def status_text(status: CampaignStatus) -> Text:
    return {
        CampaignStatus.DRAFT: Text("Draft"),
        CampaignStatus.SCHEDULED: Text("Scheduled"),
        CampaignStatus.RUNNING: Text("Running"),
        CampaignStatus.PAUSED: Text("Paused"),
        CampaignStatus.CANCELLED: Text("Cancelled"),
        CampaignStatus.FINISHED: Text("Finished"),
    }[status]


def recipient_status_text(status: RecipientStatus) -> Text:
    return {
        RecipientStatus.PENDING: Text("Waiting"),
        RecipientStatus.SKIPPED: Text("Skipped"),
        RecipientStatus.QUEUED: Text("Queued"),
        RecipientStatus.SENT: Text("Sent"),
        RecipientStatus.DELIVERED: Text("Delivered"),
        RecipientStatus.READ: Text("Read"),
        RecipientStatus.REPLIED: Text("Replied"),
        RecipientStatus.FAILED: Text("Failed"),
    }[status]


def _refuse(message: Text) -> InvalidInput:
    return InvalidInput(message, reason="invalid_pacing")


@dataclass(frozen=True, slots=True)
class Pacing:
    """How fast each sending number writes: a random gap in [min, max] seconds between two of its messages,
    at most ``daily_cap`` messages a UTC day (0: no cap), nothing during quiet hours in the recipient's
    local time (``quiet_start == quiet_end``: no quiet hours), nothing before ``start_at``."""

    min_gap_seconds: int = 20
    max_gap_seconds: int = 60
    daily_cap: int = 200
    quiet_start: str = "21:00"
    quiet_end: str = "08:00"
    start_at: datetime | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.min_gap_seconds <= self.max_gap_seconds <= MAX_GAP_SECONDS:
            raise _refuse(
                Text(
                    "The gap between messages must be between 0 and %(limit)s seconds, the shortest first",
                    limit=MAX_GAP_SECONDS,
                )
            )
        if not 0 <= self.daily_cap <= MAX_DAILY_CAP:
            raise _refuse(
                Text("The daily limit per number must be between 0 and %(limit)s", limit=MAX_DAILY_CAP)
            )
        for value in (self.quiet_start, self.quiet_end):
            if not _CLOCK_TIME.fullmatch(value):
                raise _refuse(Text("Quiet hours are times like 21:00"))
        if self.start_at is not None and self.start_at.tzinfo is None:
            raise _refuse(Text("The start time needs a time zone"))

    @classmethod
    def off(cls) -> Pacing:
        """No gaps, no cap, no quiet hours: for measuring the machinery, never for a real number."""
        return cls(min_gap_seconds=0, max_gap_seconds=0, daily_cap=0, quiet_start="00:00", quiet_end="00:00")

    @property
    def has_quiet_hours(self) -> bool:
        return self.quiet_start != self.quiet_end


@dataclass(frozen=True, slots=True)
class Compose:
    """What is sent and from where: a template's text (``template_id``) or free text, the From mode and the
    chosen numbers (account ids; the first is the fallback for ``last_number``). ``approved_template`` names
    a Meta-approved template the text stands for: Cloud API numbers may then write outside the 24-hour
    window (without one, those recipients are skipped ``outside_cloud_window``). ``attachment``: the
    template's file in Pipedrive, sent with every message (not with a Meta-approved template, whose header
    is Meta's)."""

    text: str
    from_mode: FromMode = FromMode.FIXED
    account_ids: tuple[int, ...] = ()
    template_id: int | None = None
    approved_template: str = ""
    attachment: TemplateAttachment | None = None


@dataclass(frozen=True, slots=True)
class CampaignSource:
    """Who a campaign is for: records selected in a Pipedrive list (``ids``) or a saved filter."""

    kind: ListKind
    ids: tuple[int, ...] = ()
    filter_id: int | None = None
    filter_name: str = ""


@dataclass(frozen=True, slots=True)
class Campaign:
    id: int
    company_id: int
    name: str
    status: CampaignStatus
    source: CampaignSource
    compose: Compose | None  # None until previewed or started
    pacing: Pacing
    created_by: int
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    tick_seq: int = 0  # the live run of its sending loop (a run with another number stops)
    tick_at: datetime | None = None  # when that run is due


@dataclass(frozen=True, slots=True)
class RecipientRow:
    """One recipient as the progress page and the CSV show it."""

    id: int
    person_id: int
    name: str
    phone: str  # E.164 when it could be read, else as stored in Pipedrive
    from_number: str  # the sending number's E.164, "" until chosen
    status: RecipientStatus
    skip: SkipReason | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    read_at: datetime | None = None
    replied_at: datetime | None = None
    error: str = ""
    deal_id: int | None = None
    queued_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PreviewRow:
    person_id: int
    name: str
    phone: str  # E.164, or as stored when it cannot be read
    from_number: str  # E.164 of the number that would send; "" when none
    text: str  # the rendered message
    skip: SkipReason | None = None
    missing: tuple[str, ...] = ()  # placeholders with no value and no fallback, as written
    approved_template: str = ""  # sent as this Meta-approved template (``name:language``), ``text`` its body


@dataclass(frozen=True, slots=True)
class Preview:
    rows: tuple[PreviewRow, ...]
    total: int
    will_send: int  # at most: the numbers not confirmed on WhatsApp (``unchecked``) may have none
    skipped: dict[SkipReason, int] = field(default_factory=dict)
    # Of ``will_send``, the numbers not confirmed on WhatsApp: a preview asks only for the rows it shows
    # (each check is a request to WhatsApp, and many look like a spammer's); the run asks before each message.
    unchecked: int = 0


@dataclass(frozen=True, slots=True)
class Progress:
    campaign: Campaign
    counts: dict[RecipientStatus, int]
    skipped_by_reason: dict[SkipReason, int]
    total: int
    done: float  # 0..1: recipients no longer pending or queued
    next_send_at: datetime | None
    recent: tuple[RecipientRow, ...] = ()


@dataclass(frozen=True, slots=True)
class CampaignSummary:
    id: int
    name: str
    status: CampaignStatus
    counts: dict[RecipientStatus, int]
    created_at: datetime


def live_status(
    stored: RecipientStatus,
    skip: SkipReason | None,
    *,
    outbox_status: str | None,
    outbox_reason: str = "",
    message_status: str | None = None,
    replied: bool = False,
) -> tuple[RecipientStatus, SkipReason | None]:
    """A recipient's status as a page shows it: the stored one until its message exists, then the outbox
    row's, then the WhatsApp ticks of the sent message, ``replied`` once the contact wrote after it. A send
    refused because the number has no WhatsApp is a skip (``not_on_whatsapp``), not a failure."""
    if stored is not RecipientStatus.QUEUED or outbox_status is None:
        return stored, skip
    if outbox_status == "failed":
        if outbox_reason == NumberNotOnWhatsApp.reason:
            return RecipientStatus.SKIPPED, SkipReason.NOT_ON_WHATSAPP
        return RecipientStatus.FAILED, None
    if outbox_status != "sent":
        return RecipientStatus.QUEUED, None
    if replied:
        return RecipientStatus.REPLIED, None
    if message_status == "failed":
        return RecipientStatus.FAILED, None
    if message_status in ("read", "played"):
        return RecipientStatus.READ, None
    if message_status == "delivered":
        return RecipientStatus.DELIVERED, None
    return RecipientStatus.SENT, None
