"""Ports on the storage side for campaigns: the campaigns and their recipients, opt-outs and stop words,
and what the inbox knows about a contact (which number last talked to it, when it last wrote).

``server.storage.campaigns`` and ``server.storage.opt_outs`` implement them; every call is scoped by
company. The campaign services (``server.services.campaigns``) use them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from server.domain.campaign_skips import Trace
from server.domain.campaigns import (
    Campaign,
    CampaignSource,
    CampaignStatus,
    Compose,
    Pacing,
    RecipientRow,
    RecipientStatus,
    SkipReason,
)
from server.domain.ports.recipients import RecipientRecord


@dataclass(frozen=True, slots=True)
class StoredRecipient:
    """One recipient as the engine plans and sends it: what Pipedrive said, and what was decided."""

    id: int
    campaign_id: int
    record: RecipientRecord
    status: RecipientStatus
    skip: SkipReason | None = None
    e164: str = ""  # the number written to, once planned
    account_id: int | None = None  # the number that writes, once planned
    outbox_id: int | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """What starting a campaign decided for one recipient: skipped, or who writes to which number."""

    recipient_id: int
    e164: str
    account_id: int | None
    skip: SkipReason | None


@dataclass(frozen=True, slots=True)
class Tally:
    """A campaign's recipients counted by status (as the outbox and the inbox say now)."""

    counts: dict[RecipientStatus, int] = field(default_factory=dict)
    skipped: dict[SkipReason, int] = field(default_factory=dict)
    unsent: int = 0  # queued, and its outbox row neither sent nor failed yet

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class CampaignStore(Protocol):
    async def create(
        self,
        company_id: int,
        user_id: int,
        name: str,
        source: CampaignSource,
        recipients: Sequence[RecipientRecord],
        at: datetime,
    ) -> Campaign:
        """A draft campaign with its recipients, in the order given."""
        ...

    async def get(self, company_id: int, campaign_id: int) -> Campaign | None: ...

    async def by_id(self, campaign_id: int) -> Campaign | None:
        """For jobs, which carry ids company-scoped code gave them."""
        ...

    async def campaigns(self, company_id: int) -> list[Campaign]:
        """The company's campaigns, newest first."""
        ...

    async def save_compose(
        self, company_id: int, campaign_id: int, compose: Compose, pacing: Pacing
    ) -> None: ...

    async def transition(
        self,
        company_id: int,
        campaign_id: int,
        allowed_from: frozenset[CampaignStatus],
        to: CampaignStatus,
        at: datetime,
    ) -> bool:
        """Moves the status when it is one of ``allowed_from`` (in one statement); whether it moved.
        Entering running stamps ``started_at`` once; entering cancelled or finished stamps ``finished_at``."""
        ...

    async def advance_tick(self, campaign_id: int, from_seq: int, due: datetime) -> bool:
        """Hands the sending loop from run ``from_seq`` to run ``from_seq + 1``, due at ``due`` (one
        conditional statement); ``False`` when another run took over meanwhile."""
        ...

    async def overdue(self, before: datetime) -> list[Campaign]:
        """Scheduled or running campaigns (every company) whose next run was due before ``before``."""
        ...

    async def recipients(
        self,
        company_id: int,
        campaign_id: int,
        *,
        statuses: frozenset[RecipientStatus] | None = None,
        account_id: int | None = None,
        limit: int | None = None,
    ) -> list[StoredRecipient]:
        """In the campaign's order; filtered by stored status and by the planned sending number."""
        ...

    async def save_plans(self, company_id: int, campaign_id: int, plans: Sequence[Plan]) -> None:
        """Each pending recipient's number and sender, or its skip (status skipped)."""
        ...

    async def mark_queued(self, company_id: int, recipient_id: int, outbox_id: int, at: datetime) -> bool:
        """pending → queued with its outbox row; ``False`` when it was not pending."""
        ...

    async def mark_skipped(
        self, company_id: int, recipient_id: int, reason: SkipReason, at: datetime
    ) -> bool:
        """pending or queued → skipped (``not_on_whatsapp`` learnt when sending)."""
        ...

    async def queued_since(self, company_id: int, account_id: int, since: datetime) -> int:
        """How many campaign messages this number was given since ``since`` (every campaign)."""
        ...

    async def next_send(self, campaign_id: int) -> dict[int, datetime]:
        """Each sending number's next due time in this campaign."""
        ...

    async def set_next_send(self, campaign_id: int, account_id: int, at: datetime) -> None: ...

    async def tally(self, company_id: int, campaign_id: int) -> Tally: ...

    async def rows(
        self, company_id: int, campaign_id: int, *, limit: int | None = None, newest_first: bool = False
    ) -> list[RecipientRow]:
        """Recipients with their live status: the outbox row's, the inbox message's ticks, a reply."""
        ...


@dataclass(frozen=True, slots=True)
class OptOuts:
    """Who in a company asked not to be messaged."""

    numbers: frozenset[str] = frozenset()
    persons: frozenset[int] = frozenset()

    def covers(self, e164: str | None, person_id: int | None) -> bool:
        return (e164 is not None and e164 in self.numbers) or (
            person_id is not None and person_id in self.persons
        )


class OptOutStore(Protocol):
    async def record(
        self, company_id: int, e164: str, person_id: int | None, word: str, at: datetime
    ) -> bool:
        """Stores the opt-out once per number; whether it is new."""
        ...

    async def opt_outs(self, company_id: int) -> OptOuts: ...

    async def person_for(self, company_id: int, e164: str) -> int | None:
        """The Person a number belongs to, as WaPipe knows it (a campaign recipient, a linked chat)."""
        ...

    async def stop_words(self, company_id: int) -> tuple[str, ...] | None:
        """The company's own stop words, ``None`` when it kept the defaults."""
        ...

    async def set_stop_words(self, company_id: int, words: Sequence[str]) -> None: ...


class ContactHistory(Protocol):
    async def traces(self, company_id: int, numbers: Sequence[str]) -> dict[str, Trace]:
        """Per E.164 number (only those with a one-to-one chat in the company)."""
        ...


@dataclass(frozen=True, slots=True)
class WaitingOptOut:
    """A stop word from a chat WhatsApp names only by its LID: an opt-out waiting for its number."""

    id: int
    company_id: int
    account_id: int  # the number it came to: whose gateway is asked
    lid: str  # the chat key, ``<n>@lid``
    word: str
    at: datetime  # when the reply was sent: the opt-out's date
    next_ask_at: datetime  # when the gateway is asked again
    asked: int = 0  # how often the gateway did not know the number


class WaitingOptOutStore(Protocol):
    async def keep(
        self, company_id: int, account_id: int, lid: str, word: str, at: datetime, next_ask_at: datetime
    ) -> bool:
        """Keeps the stop word once per company and LID (a later one changes nothing); whether it is new."""
        ...

    async def number_for_lid(self, company_id: int, lid: str) -> str | None:
        """The number WaPipe has learnt for the LID in the company's chats (any of its numbers), if any."""
        ...

    async def with_numbers(self, limit: int) -> list[tuple[WaitingOptOut, str]]:
        """Waiting opt-outs whose LID now has a number in their own company's chats, with it."""
        ...

    async def due(self, now: datetime, limit: int) -> list[WaitingOptOut]:
        """Waiting opt-outs whose gateway is to be asked again, the longest-waiting first."""
        ...

    async def asked(self, company_id: int, waiting_id: int, next_ask_at: datetime) -> None:
        """The gateway did not know the number: ask again at ``next_ask_at``."""
        ...

    async def settle(self, company_id: int, lid: str) -> None:
        """The opt-out is recorded by its number: nothing waits any more."""
        ...
