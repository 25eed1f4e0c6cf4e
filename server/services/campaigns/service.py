"""The campaign use cases the pages call: ``Campaigns``.

Every method is scoped by company; a campaign of another company is ``NotFound`` (``unknown_campaign``).
Creating reads the recipients from Pipedrive once (a few list pages) and stores them; previewing and
starting never read Pipedrive again. Starting plans every recipient (number, sender, skip) and queues the
``campaign_tick`` job under ``campaign:<id>``; pausing and cancelling stop the ticks (a tick that finds its
campaign not running does nothing), resuming queues one again. Create, start, pause, resume and cancel are
audited (``campaign.create`` …).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from server.domain.campaigns import (
    Campaign,
    CampaignSource,
    CampaignSummary,
    Compose,
    Pacing,
    Preview,
    Progress,
)
from server.domain.clock import Clock
from server.domain.ports.campaigns import CampaignStore, ContactHistory, OptOutStore
from server.domain.ports.queue import JobQueue
from server.domain.ports.recipients import ListKind, OptOutMarker, RecipientSource, SavedFilter
from server.domain.ports.storage import AccountStore, AuditLog, OutboxStore
from server.domain.ports.whatsapp import WhatsAppTransport
from server.domain.stop_words import DEFAULT_STOP_WORDS, clean_stop_words

MAX_RECIPIENTS = 10_000  # a campaign bigger than this is several campaigns
MAX_NAME = 200
PREVIEW_CHECKS = 10  # at most this many preview rows are asked of WhatsApp (one request each)


RecipientsFor = Callable[[int], Awaitable[RecipientSource]]
OptOutMarkerFor = Callable[[int], Awaitable[OptOutMarker]]
ExcludedNumbers = Callable[[int], Awaitable[frozenset[str]]]


def tick_job_id(campaign_id: int) -> str:
    return f"campaign:{campaign_id}"


@dataclass(frozen=True)
class CampaignPorts:
    """What the campaign services work with; ``server.jobs.campaigns.campaigns_for`` builds it."""

    store: CampaignStore
    opt_outs: OptOutStore
    history: ContactHistory
    accounts: AccountStore
    outbox: OutboxStore
    queue: JobQueue
    clock: Clock
    recipients_for: RecipientsFor  # the company's Pipedrive lists
    excluded_numbers: ExcludedNumbers  # the company's excluded numbers (settings page)
    transports: dict[str, WhatsAppTransport] = field(default_factory=dict)  # by kind: "waha", "cloud"
    audit: AuditLog | None = None
    random: random.Random = field(default_factory=random.Random)


class Campaigns:
    def __init__(self, ports: CampaignPorts) -> None:
        self._ports = ports

    async def filters(self, company_id: int, kind: ListKind) -> list[SavedFilter]:
        source = await self._ports.recipients_for(company_id)
        return await source.filters(kind)

    async def create(self, company_id: int, user_id: int, source: CampaignSource, name: str = "") -> Campaign:
        raise NotImplementedError

    async def preview(
        self, company_id: int, user_id: int, campaign_id: int, compose: Compose, *, show: int = 10
    ) -> Preview:
        raise NotImplementedError

    async def start(
        self, company_id: int, user_id: int, campaign_id: int, compose: Compose, pacing: Pacing
    ) -> Campaign:
        raise NotImplementedError

    async def pause(self, company_id: int, user_id: int, campaign_id: int) -> Campaign:
        raise NotImplementedError

    async def resume(self, company_id: int, user_id: int, campaign_id: int) -> Campaign:
        raise NotImplementedError

    async def cancel(self, company_id: int, user_id: int, campaign_id: int) -> Campaign:
        raise NotImplementedError

    async def progress(self, company_id: int, campaign_id: int, *, recent: int = 20) -> Progress:
        raise NotImplementedError

    async def results_csv(self, company_id: int, campaign_id: int) -> str:
        raise NotImplementedError

    async def list(self, company_id: int) -> list[CampaignSummary]:
        raise NotImplementedError

    async def stop_words(self, company_id: int) -> tuple[str, ...]:
        own = await self._ports.opt_outs.stop_words(company_id)
        return DEFAULT_STOP_WORDS if own is None else own

    async def set_stop_words(self, company_id: int, user_id: int, words: Sequence[str]) -> tuple[str, ...]:
        cleaned = clean_stop_words(words)
        await self._ports.opt_outs.set_stop_words(company_id, cleaned)
        if self._ports.audit is not None:
            await self._ports.audit.record(
                company_id, user_id, "campaign.stop_words", "", {"words": list(cleaned)}
            )
        return cleaned
