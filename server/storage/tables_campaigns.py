"""Tables of campaigns (migration 0021): the campaigns, their recipients, each sending number's next turn,
opt-outs and the company's stop words; opt-outs still waiting for their number (migration 0024). Every row
hangs off its company by a foreign key, so a company's purge deletes them (``company_purge``); a contact's
erasure deletes their recipient rows (``erasure``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from server.storage.tables import UtcDateTime, utcnow


class CampaignRow(SQLModel, table=True):
    """One campaign: its source, what it sends, its pacing (JSON) and where it stands."""

    __tablename__ = "campaign"

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    name: str = Field(default="", max_length=200)
    status: str = Field(default="draft", max_length=16, index=True)  # CampaignStatus
    source_kind: str = Field(max_length=16)  # ListKind
    source_ids: str = Field(default="[]", sa_type=Text)  # JSON: the selected record ids
    filter_id: int | None = Field(default=None)
    filter_name: str = Field(default="", max_length=255)
    compose: str = Field(default="", sa_type=Text)  # JSON: Compose; "" until started
    pacing: str = Field(default="", sa_type=Text)  # JSON: Pacing; "" for the defaults
    created_by: int = Field(default=0)  # the Pipedrive user
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    tick_seq: int = Field(
        default=0
    )  # which run of the sending loop is the live one (``campaign:<id>:<seq>``)
    tick_at: datetime | None = Field(default=None, sa_type=UtcDateTime, index=True)  # when it is due
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class CampaignRecipientRow(SQLModel, table=True):
    """One Person a campaign writes to (a Person on several Deals is several rows: all but one skipped)."""

    __tablename__ = "campaign_recipient"
    __table_args__ = (
        UniqueConstraint("campaign_id", "position"),
        Index("ix_campaign_recipient_account_queued", "account_id", "queued_at"),
        Index("ix_campaign_recipient_campaign_status", "campaign_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    company_id: int = Field(index=True)
    position: int  # the order Pipedrive listed it in
    person_id: int
    deal_id: int | None = Field(default=None)
    name: str = Field(default="", max_length=255)
    phones: str = Field(default="[]", sa_type=Text)  # JSON: as stored in Pipedrive, primary first
    owner_id: int | None = Field(default=None)
    field_values: str = Field(default="{}", sa_type=Text)  # JSON: the placeholder values
    e164: str = Field(default="", max_length=20, index=True)  # the number written to, once read
    account_id: int | None = Field(default=None)  # the sending number, once planned
    status: str = Field(default="pending", max_length=16)  # RecipientStatus as stored: pending|skipped|queued
    skip_reason: str = Field(default="", max_length=32)  # SkipReason
    outbox_id: int | None = Field(default=None, index=True)
    queued_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class CampaignSenderRow(SQLModel, table=True):
    """When one sending number of a campaign may write next (its random gap already drawn)."""

    __tablename__ = "campaign_sender"

    campaign_id: int = Field(foreign_key="campaign.id", primary_key=True)
    account_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    next_at: datetime = Field(sa_type=UtcDateTime)


class OptOutRow(SQLModel, table=True):
    """A number that asked not to be messaged (a stop word in reply), once per company."""

    __tablename__ = "opt_out"
    __table_args__ = (UniqueConstraint("company_id", "e164"),)

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    e164: str = Field(max_length=20)
    person_id: int | None = Field(default=None)
    word: str = Field(default="", max_length=64)  # the stop word it matched
    at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class WaitingOptOutRow(SQLModel, table=True):
    """A stop word from a chat WhatsApp names only by its LID (``<n>@lid``): an opt-out kept, once per
    company and LID, until the number behind the LID is known (``server.services.campaigns.waiting``)."""

    __tablename__ = "waiting_opt_out"
    __table_args__ = (UniqueConstraint("company_id", "lid"),)

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    account_id: int = Field()  # the number it came to: whose gateway is asked (no key: numbers go)
    lid: str = Field(max_length=64)  # the chat key, ``<n>@lid``
    word: str = Field(max_length=64)  # the stop word it matched
    at: datetime = Field(sa_type=UtcDateTime)  # when the reply was sent
    next_ask_at: datetime = Field(sa_type=UtcDateTime, index=True)  # when its gateway is asked again
    asked: int = Field(default=0)  # how often the gateway did not know it


class CampaignSettingsRow(SQLModel, table=True):
    """A company's campaign settings: its own stop words (none: the defaults)."""

    __tablename__ = "campaign_settings"

    company_id: int = Field(foreign_key="company.id", primary_key=True)
    stop_words: str = Field(default="", sa_type=Text)  # one a line; "" keeps the defaults
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
