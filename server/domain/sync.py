"""Values the sync engine works with: company settings, chat links, day activities, CRM records.

Plain immutable records; the services decide, the stores and the Pipedrive gateway persist and fetch them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum


class ImportFrequency(StrEnum):
    """How often Pipedrive is written: at once, or coalesced per chat over a period."""

    REALTIME = "realtime"
    HOURLY = "1h"
    SIX_HOURS = "6h"
    TWELVE_HOURS = "12h"
    DAILY = "24h"

    @property
    def batch_interval(self) -> timedelta:
        """How long a day's changes may wait before they are written (zero in real time)."""
        hours = {"realtime": 0, "1h": 1, "6h": 6, "12h": 12, "24h": 24}[self.value]
        return timedelta(hours=hours)

    @classmethod
    def parse(cls, raw: str) -> ImportFrequency:
        try:
            return cls(raw)
        except ValueError:
            return cls.REALTIME


class NewChatAction(StrEnum):
    DEAL = "deal"
    LEAD = "lead"
    NOTHING = "nothing"

    @classmethod
    def parse(cls, raw: str) -> NewChatAction:
        try:
            return cls(raw)
        except ValueError:
            return cls.NOTHING


@dataclass(frozen=True, slots=True)
class CompanySettingsDefaults:
    """A company's settings until an admin saves their own: the one table of defaults that the settings
    row, the settings page and the sync engine read."""

    import_frequency: ImportFrequency = ImportFrequency.REALTIME
    auto_add_persons: bool = True
    new_chat_action: NewChatAction = NewChatAction.NOTHING
    pipeline_id: int | None = None
    import_groups: bool = False
    excluded_numbers: tuple[str, ...] = ()
    message_retention_days: int = 0  # 0: keep messages forever
    media_retention_days: int = 0  # 0: keep attachment files forever
    keep_deleted_text: bool = False  # a message its sender deleted keeps its text in Pipedrive
    activity_type_key: str = ""  # the keys setup creates in Pipedrive: none yet
    person_link_field_key: str = ""
    deal_link_field_key: str = ""

    def row(self) -> dict[str, object]:
        """The ``company_settings`` columns as stored (excluded numbers one per line)."""
        return {
            "import_frequency": self.import_frequency.value,
            "auto_add_persons": self.auto_add_persons,
            "new_chat_action": self.new_chat_action.value,
            "pipeline_id": self.pipeline_id,
            "import_groups": self.import_groups,
            "excluded_numbers": "\n".join(self.excluded_numbers),
            "message_retention_days": self.message_retention_days,
            "media_retention_days": self.media_retention_days,
            "keep_deleted_text": self.keep_deleted_text,
            "activity_type_key": self.activity_type_key,
            "person_link_field_key": self.person_link_field_key,
            "deal_link_field_key": self.deal_link_field_key,
        }


SETTINGS_DEFAULTS = CompanySettingsDefaults()


class LinkState(StrEnum):
    """Where a chat stands towards Pipedrive."""

    PENDING = "pending"  # not matched yet
    LINKED = "linked"  # a Person (and maybe a Deal or Lead) receives its activities
    UNLINKED = "unlinked"  # no Person matched and auto-add is off: nothing is logged
    WAITING_FOR_NUMBER = "waiting_for_number"  # a hidden (@lid) sender whose number is not known yet
    EXCLUDED = "excluded"  # the chat or its number is excluded from logging
    GROUP_NOT_IMPORTED = "group_not_imported"  # groups are off (or auto-add is off)
    NOT_A_CONTACT = "not_a_contact"  # channels, broadcasts, status


class DealSource(StrEnum):
    NONE = ""
    CREATED = "created"
    OPEN_DEAL = "open_deal"
    PINNED = "pinned"


class MediaState(StrEnum):
    PENDING = "pending"
    STORED = "stored"
    UNAVAILABLE = "unavailable"  # expired, or kept failing, before it could be downloaded
    TOO_LARGE = "too_large"  # over the download cap: never stored
    REMOVED = "removed"  # deleted by the company's attachment retention (server.storage.retention)


@dataclass(frozen=True, slots=True)
class MediaRetry:
    """How an attachment whose download fails is tried again, on its own: ``attempts`` downloads in all
    (the first included), the second ``base`` after the first, each later one twice as long after the one
    before. The defaults are production's (``WAPIPE_MEDIA_RETRY_BASE``, ``WAPIPE_MEDIA_ATTEMPTS``)."""

    base: timedelta = timedelta(seconds=5)
    attempts: int = 6

    def wait_after(self, attempt: int) -> timedelta:
        """How long after download number ``attempt`` (1: the first) the next one starts."""
        return self.base * int(2 ** max(0, attempt - 1))


@dataclass(frozen=True, slots=True)
class SyncSettings:
    """A company's settings as the engine reads them (defaults when the admin has not saved any)."""

    company_id: int
    timezone: str = "UTC"
    import_frequency: ImportFrequency = SETTINGS_DEFAULTS.import_frequency
    auto_add_persons: bool = SETTINGS_DEFAULTS.auto_add_persons
    new_chat_action: NewChatAction = SETTINGS_DEFAULTS.new_chat_action
    pipeline_id: int | None = SETTINGS_DEFAULTS.pipeline_id
    import_groups: bool = SETTINGS_DEFAULTS.import_groups
    excluded_numbers: frozenset[str] = frozenset(SETTINGS_DEFAULTS.excluded_numbers)
    activity_type_key: str = SETTINGS_DEFAULTS.activity_type_key
    person_link_field_key: str = SETTINGS_DEFAULTS.person_link_field_key
    deal_link_field_key: str = SETTINGS_DEFAULTS.deal_link_field_key

    def excludes(self, e164: str | None) -> bool:
        return e164 is not None and e164 in self.excluded_numbers

    @property
    def groups_enabled(self) -> bool:
        """Groups need auto-add: a group becomes a Person of its own."""
        return self.import_groups and self.auto_add_persons


@dataclass(frozen=True, slots=True)
class SyncChat:
    """A chat with what the engine needs of its account and company."""

    id: int
    account_id: int
    company_id: int
    session_name: str
    transport: str
    owner_user_id: int
    account_e164: str | None
    chat_key: str
    e164: str | None
    lid: str | None
    is_group: bool
    display_name: str


@dataclass(frozen=True, slots=True)
class ChatLink:
    """What a chat is linked to in Pipedrive, how it was found, and the engine's bookkeeping for it."""

    chat_id: int
    account_id: int
    company_id: int
    chat_key: str
    state: LinkState = LinkState.PENDING
    person_id: int | None = None
    person_name: str = ""
    rule: str = ""
    alternatives: tuple[int, ...] = ()
    deal_id: int | None = None
    lead_id: str | None = None
    deal_source: DealSource = DealSource.NONE
    pinned_deal_id: int | None = None
    deal_checked: bool = False
    person_link_url: str = ""  # the chat link last written to the Person's custom field
    deal_link_url: str = ""
    excluded: bool = False  # excluded by a user, whatever the number
    searched_at: datetime | None = None
    cursor: int = 0  # the highest message id already folded into day activities
    adopted_lid: str = ""


@dataclass(frozen=True, slots=True)
class SyncMessage:
    id: int
    chat_id: int
    key: str
    from_me: bool
    sender_key: str
    sender_name: str
    text: str
    media_kind: str
    media_filename: str
    media_mime: str
    media_locator: str
    sent_at: datetime
    edited: bool = False  # its sender edited it: ``text`` is the new text
    deleted: bool = False  # its sender deleted it: ``text`` is empty unless the company keeps it
    quote: str | None = None  # a reply: the short quote of the message it answers
    details: str = ""  # a location, contacts or a call (``message_kinds.encode``)
    # when a live message reached WaPipe (its webhook arrived); ``None`` for history and catch-up
    received_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class MessageMedia:
    message_id: int
    state: MediaState
    sha256: str | None = None
    size: int | None = None
    mime: str = ""
    path: str = ""


@dataclass(frozen=True, slots=True)
class DayPart:
    """One "WhatsApp chat" activity: a chat's local day, part N."""

    chat_id: int
    day: date
    part: int
    activity_id: int | None = None
    rendered_hash: str = ""
    dirty: bool = False
    dirty_since: datetime | None = None
    version: int = 0
    generation: int = 0  # bumped when the activity was deleted in Pipedrive and must be created anew


@dataclass(frozen=True, slots=True)
class DirtyDay:
    """A chat's day with changes its activity does not show yet, as a flush reads it."""

    day: date
    version: int  # the flag is cleared only if the day is still at this version after the write
    waiting_since: datetime | None = None  # the arrival of the oldest live message not written yet


@dataclass(frozen=True, slots=True)
class IntentClaim:
    """A write-ahead record for one Pipedrive create.

    ``attempts`` counts earlier claims: above zero, the create may already have happened (a worker died
    between Pipedrive's answer and our commit), so the caller looks for the object before creating it.
    ``result`` is set once the object is known.
    """

    key: str
    attempts: int
    result: str | None = None


# --- Pipedrive, as the engine sees it ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CrmPerson:
    id: int
    name: str
    phones: tuple[str, ...] = ()
    update_time: datetime | None = None
    is_deleted: bool = False
    link_value: str = ""  # the "WhatsApp chat link" field's value, when the field key was asked for


@dataclass(frozen=True, slots=True)
class CrmDeal:
    id: int
    title: str
    status: str = "open"
    update_time: datetime | None = None
    link_value: str = ""
    person_id: int | None = None
    is_deleted: bool = False


@dataclass(frozen=True, slots=True)
class CrmLead:
    id: str
    title: str


@dataclass(frozen=True, slots=True)
class CrmActivity:
    id: int
    subject: str
    type_key: str
    due_date: str | None
    note: str
    is_deleted: bool = False


@dataclass(frozen=True, slots=True)
class CrmFile:
    id: int
    name: str
    size: int | None = None


@dataclass(frozen=True, slots=True)
class CrmUser:
    id: int
    email: str
    active: bool = True
    is_admin: bool = False


@dataclass(frozen=True, slots=True)
class ActivityWrite:
    """One day activity as it is sent (the whole note every time: a PATCH replaces it)."""

    subject: str
    type_key: str
    due_date: str
    note: str
    person_id: int
    deal_id: int | None = None
    lead_id: str | None = None
    owner_id: int | None = None
    done: bool = True


@dataclass(frozen=True, slots=True)
class NewPerson:
    name: str
    phone: str | None  # E.164
    owner_id: int | None
    custom_fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NewDeal:
    title: str
    person_id: int
    pipeline_id: int
    stage_id: int
    owner_id: int | None
    custom_fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SyncProblem:
    """A permanent failure shown to admins: which chat, what went wrong, what to do."""

    company_id: int
    chat_id: int | None
    reason: str
    detail: str


# What WaPipe creates in every company's Pipedrive (install set-up and the sync engine's fallback alike).
ACTIVITY_TYPE_NAME = "WhatsApp chat"
ACTIVITY_TYPE_COLOR = "25D366"
LINK_FIELD_NAME = "WhatsApp chat link"
