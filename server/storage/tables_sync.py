"""The sync engine's tables (migration 0006): chat links, day activities, intents, problems, the phone index.

Sync rows refer to chats by id without a foreign key: the inbox deletes a hidden (@lid) chat when it merges
it into the number's chat, and the sync engine then adopts that chat's rows (by chat_key).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from server.storage.tables import UtcDateTime, utcnow


class SyncChatLink(SQLModel, table=True):
    """A chat's link to Pipedrive (Person, Deal or Lead, how it matched) and the engine's bookkeeping."""

    __tablename__ = "sync_chat_link"

    chat_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    account_id: int = Field(index=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    chat_key: str = Field(max_length=128, index=True)
    state: str = Field(default="pending", max_length=32)
    person_id: int | None = Field(default=None, index=True)
    person_name: str = Field(default="", max_length=255)
    rule: str = Field(default="", max_length=32)
    alternatives: str = Field(default="", max_length=1000)  # person ids, best first, comma-separated
    deal_id: int | None = Field(default=None)
    lead_id: str | None = Field(default=None, max_length=64)
    deal_source: str = Field(default="", max_length=16)
    pinned_deal_id: int | None = Field(default=None)
    deal_checked: bool = Field(default=False)
    person_link_url: str = Field(default="", max_length=255)
    deal_link_url: str = Field(default="", max_length=255)
    excluded: bool = Field(default=False)
    searched_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    cursor: int = Field(default=0)  # the highest message id folded into day activities
    adopted_lid: str = Field(default="", max_length=64)
    lease_owner: str = Field(default="", max_length=200)
    lease_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class SyncDayActivity(SQLModel, table=True):
    """One "WhatsApp chat" activity: (chat, local day, part) → Pipedrive activity, rendered hash, dirty."""

    __tablename__ = "sync_day_activity"
    __table_args__ = (UniqueConstraint("chat_id", "day", "part"),)

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(index=True)
    day: date = Field(sa_type=Date)
    part: int = Field(default=1)
    activity_id: int | None = Field(default=None)
    rendered_hash: str = Field(default="", max_length=64)
    dirty: bool = Field(default=False, index=True)
    dirty_since: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # the arrival of the oldest live message not written yet (0028): how long it waited, at the write
    waiting_since: datetime | None = Field(default=None, sa_type=UtcDateTime)
    version: int = Field(default=0)  # bumped by every change, so a flush clears only what it wrote
    generation: int = Field(default=0)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class SyncIntent(SQLModel, table=True):
    """Write-ahead record of a Pipedrive create, under a unique key, claimed with a lease."""

    __tablename__ = "sync_intent"

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    intent_key: str = Field(max_length=200, unique=True)
    state: str = Field(default="pending", max_length=16)  # pending | done
    attempts: int = Field(default=0)
    lease_owner: str = Field(default="", max_length=200)
    lease_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    result: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class SyncProblemRow(SQLModel, table=True):
    """A permanent sync failure, kept for admins (the status and settings pages show open ones)."""

    __tablename__ = "sync_problem"

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    chat_id: int | None = Field(default=None, index=True)
    reason: str = Field(max_length=64)
    detail: str = Field(default="", max_length=1000)
    occurrences: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class SyncCompanyState(SQLModel, table=True):
    """Per company: the phone index's watermark, when it was last listed in full and which worker holds
    its listing, and until when work is deferred (daily budget spent)."""

    __tablename__ = "sync_company_state"

    company_id: int = Field(foreign_key="company.id", primary_key=True)
    index_built: bool = Field(default=False)
    index_watermark: datetime | None = Field(default=None, sa_type=UtcDateTime)
    index_listed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    index_lease_owner: str = Field(default="", max_length=200)
    index_lease_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    deferred_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    defer_reason: str = Field(default="", max_length=64)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class PhoneIndexEntry(SQLModel, table=True):
    """One Pipedrive Person's phones (as typed), for matching without a search."""

    __tablename__ = "phone_index_entry"

    company_id: int = Field(foreign_key="company.id", primary_key=True)
    person_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    name: str = Field(default="", max_length=255)
    phones: str = Field(default="", sa_type=Text)  # JSON list of strings
    link_value: str = Field(default="", max_length=255)
    update_time: datetime | None = Field(default=None, sa_type=UtcDateTime)
