"""The campaign use cases the pages call: ``Campaigns``.

Every method is scoped by company; a campaign of another company is ``NotFound`` (``unknown_campaign``).
Creating reads the recipients from Pipedrive once (a few list pages) and stores them; previewing and
starting never read Pipedrive again. Starting plans every recipient (number, sender, skip) and queues the
sending loop (``campaign_tick``, job id ``campaign:<id>:<seq>``); pausing and cancelling stop it (a run
that finds its campaign not running does nothing), resuming starts a new run. Refusals: an empty selection
(``no_recipients``), too many (``too_many_recipients``), a status that does not allow the action
(``campaign_not_draft``, ``campaign_not_running``, ``campaign_not_paused``, ``campaign_ended``). Create,
start, pause, resume and cancel are audited (``campaign.create`` …).
"""

from __future__ import annotations

import builtins
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from server.domain.campaign_skips import Decision, skipped_counts
from server.domain.campaigns import (
    ACTIVE,
    ENDED,
    Campaign,
    CampaignSource,
    CampaignStatus,
    CampaignSummary,
    Compose,
    Pacing,
    Preview,
    PreviewRow,
    Progress,
    RecipientStatus,
    SkipReason,
)
from server.domain.clock import Clock
from server.domain.errors import InvalidInput, NotFound
from server.domain.ports.campaigns import CampaignStore, ContactHistory, OptOutStore, Plan, StoredRecipient
from server.domain.ports.queue import JobQueue
from server.domain.ports.recipients import ListKind, RecipientRecord, RecipientSource, SavedFilter
from server.domain.ports.storage import AccountStore, AuditLog, OutboxStore
from server.domain.ports.whatsapp import WhatsAppTransport
from server.domain.stop_words import clean_stop_words
from server.domain.templates import missing_values, render
from server.domain.text import Text
from server.services.campaigns.approved import as_sent, check_approved
from server.services.campaigns.opt_out import company_stop_words
from server.services.campaigns.planning import (
    Planned,
    check_connected,
    check_text_for_numbers,
    message_values,
    plan_recipients,
)
from server.services.campaigns.results import results_csv
from server.services.campaigns.tick import ApprovedTemplateFill, TickPorts, has_whatsapp

MAX_RECIPIENTS = 10_000  # a campaign bigger than this is several campaigns
MAX_NAME = 200
PREVIEW_CHECKS = 10  # at most this many preview rows are asked of WhatsApp (one request each)
TICK_JOB = "campaign_tick"

RecipientsFor = Callable[[int], Awaitable[RecipientSource]]
ExcludedNumbers = Callable[[int], Awaitable[frozenset[str]]]


def tick_job_id(campaign_id: int, seq: int) -> str:
    return f"campaign:{campaign_id}:{seq}"


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
    approved: ApprovedTemplateFill | None = None  # Meta-approved templates (Cloud API numbers)

    def tick_ports(self) -> TickPorts:
        return TickPorts(
            self.store,
            self.opt_outs,
            self.accounts,
            self.outbox,
            self.queue,
            self.clock,
            self.random,
            self.transports,
            self.approved,
        )


async def queue_tick(
    store: CampaignStore, queue: JobQueue, campaign: Campaign, at: datetime, now: datetime
) -> bool:
    """Starts a new run of the campaign's sending loop at ``at`` (a run already queued becomes stale)."""
    if not await store.advance_tick(campaign.id, campaign.tick_seq, at):
        return False
    delay = max(at - now, timedelta(0))
    await queue.enqueue(
        TICK_JOB,
        campaign.id,
        campaign.tick_seq + 1,
        job_id=tick_job_id(campaign.id, campaign.tick_seq + 1),
        defer_by=delay,
    )
    return True


class Campaigns:
    def __init__(self, ports: CampaignPorts) -> None:
        self._ports = ports

    async def filters(self, company_id: int, kind: ListKind) -> builtins.list[SavedFilter]:
        source = await self._ports.recipients_for(company_id)
        return await source.filters(kind)

    async def create(self, company_id: int, user_id: int, source: CampaignSource, name: str = "") -> Campaign:
        """Reads the recipients (Persons, with their Deal and Organization values for placeholders) once."""
        pipedrive = await self._ports.recipients_for(company_id)
        needs = frozenset({"deal", "org"}) if source.kind is ListKind.DEAL else frozenset({"org"})
        records: builtins.list[RecipientRecord]
        if source.filter_id is not None:
            records = await pipedrive.by_filter(source.kind, source.filter_id, needs=needs)
        elif source.ids:
            if len(source.ids) > MAX_RECIPIENTS:
                raise _too_many()
            records = await pipedrive.by_ids(source.kind, builtins.list(source.ids), needs=needs)
        else:
            raise InvalidInput(Text("Select at least one record in Pipedrive"), reason="no_recipients")
        if not records:
            raise InvalidInput(Text("Nobody matches this selection in Pipedrive"), reason="no_recipients")
        if len(records) > MAX_RECIPIENTS:
            raise _too_many()
        title = " ".join(name.split())[:MAX_NAME] or source.filter_name[:MAX_NAME]
        campaign = await self._ports.store.create(
            company_id, user_id, title, source, records, self._ports.clock.now()
        )
        await self._audit(company_id, user_id, "campaign.create", campaign, {"recipients": len(records)})
        return campaign

    async def preview(
        self, company_id: int, user_id: int, campaign_id: int, compose: Compose, *, show: int = 10
    ) -> Preview:
        campaign = await self._campaign(company_id, campaign_id)
        recipients = await self._ports.store.recipients(company_id, campaign.id)
        planned = await self._plan(company_id, compose, recipients)
        await check_approved(self._ports.approved, company_id, compose, planned)
        check_text_for_numbers(planned, compose)
        decisions = {decision.recipient_id: decision for decision in planned.decisions}
        rows: builtins.list[PreviewRow] = []
        checks = 0
        confirmed: set[int] = set()  # recipients the gateway said have WhatsApp
        for recipient in recipients[: max(0, show)]:
            decision = decisions[recipient.id]
            skip = decision.skip if recipient.status is not RecipientStatus.SKIPPED else recipient.skip
            sender = planned.accounts.get(decision.account_id) if decision.account_id else None
            planned_skip = skip
            if skip is None and sender is not None and checks < PREVIEW_CHECKS:
                checks += 1
                found = await has_whatsapp(self._ports.tick_ports(), sender, decision.e164)
                if found is False:
                    skip = SkipReason.NOT_ON_WHATSAPP
                elif found:
                    confirmed.add(recipient.id)
            values = message_values(recipient.record.values, sender)
            row = PreviewRow(
                person_id=recipient.record.person_id,
                name=recipient.record.name,
                phone=decision.e164 or (recipient.record.phones[0] if recipient.record.phones else ""),
                from_number=(sender.e164 or "") if sender is not None else "",
                text=render(compose.text, values).strip(),
                skip=skip,
                missing=tuple(p.source for p in missing_values(compose.text, values)),
            )
            if skip is None and sender is not None:
                row = await as_sent(self._ports.approved, company_id, compose, sender, row, values)
            if row.skip is not planned_skip:
                decisions[recipient.id] = Decision(recipient.id, decision.e164, decision.account_id, row.skip)
            rows.append(row)
        skipped = skipped_counts(builtins.list(decisions.values()))
        will_send = len(recipients) - sum(skipped.values())
        unchecked = sum(1 for d in decisions.values() if d.skip is None and d.recipient_id not in confirmed)
        return Preview(tuple(rows), len(recipients), will_send, skipped, unchecked)

    async def start(
        self, company_id: int, user_id: int, campaign_id: int, compose: Compose, pacing: Pacing
    ) -> Campaign:
        store, now = self._ports.store, self._ports.clock.now()
        campaign = await self._campaign(company_id, campaign_id)
        if campaign.status is not CampaignStatus.DRAFT:
            raise InvalidInput(Text("This campaign has already been started"), reason="campaign_not_draft")
        recipients = await store.recipients(
            company_id, campaign.id, statuses=frozenset({RecipientStatus.PENDING})
        )
        planned = await self._plan(company_id, compose, recipients)
        await check_approved(self._ports.approved, company_id, compose, planned)
        check_connected(planned, compose)
        await store.save_compose(company_id, campaign.id, compose, pacing)
        await store.save_plans(
            company_id,
            campaign.id,
            [Plan(d.recipient_id, d.e164, d.account_id, d.skip) for d in planned.decisions],
        )
        later = pacing.start_at is not None and pacing.start_at > now
        status = CampaignStatus.SCHEDULED if later else CampaignStatus.RUNNING
        if not await store.transition(
            company_id, campaign.id, frozenset({CampaignStatus.DRAFT}), status, now
        ):
            raise InvalidInput(Text("This campaign has already been started"), reason="campaign_not_draft")
        started = await self._campaign(company_id, campaign.id)
        await queue_tick(
            store, self._ports.queue, started, pacing.start_at if later and pacing.start_at else now, now
        )
        details = {"from": builtins.list(compose.account_ids), "mode": compose.from_mode.value}
        await self._audit(company_id, user_id, "campaign.start", started, details)
        return await self._campaign(company_id, campaign.id)

    async def pause(self, company_id: int, user_id: int, campaign_id: int) -> Campaign:
        return await self._move(
            company_id, user_id, campaign_id, ACTIVE, CampaignStatus.PAUSED, "campaign.pause"
        )

    async def resume(self, company_id: int, user_id: int, campaign_id: int) -> Campaign:
        campaign = await self._campaign(company_id, campaign_id)
        now = self._ports.clock.now()
        start = campaign.pacing.start_at
        to = CampaignStatus.SCHEDULED if start is not None and start > now else CampaignStatus.RUNNING
        moved = await self._move(
            company_id, user_id, campaign_id, frozenset({CampaignStatus.PAUSED}), to, "campaign.resume"
        )
        await queue_tick(self._ports.store, self._ports.queue, moved, now, now)
        return await self._campaign(company_id, campaign_id)

    async def cancel(self, company_id: int, user_id: int, campaign_id: int) -> Campaign:
        allowed = frozenset({CampaignStatus.DRAFT, CampaignStatus.PAUSED, *ACTIVE})
        return await self._move(
            company_id, user_id, campaign_id, allowed, CampaignStatus.CANCELLED, "campaign.cancel"
        )

    async def progress(self, company_id: int, campaign_id: int, *, recent: int = 20) -> Progress:
        campaign = await self._campaign(company_id, campaign_id)
        store = self._ports.store
        tally = await store.tally(company_id, campaign.id)
        waiting = tally.counts.get(RecipientStatus.PENDING, 0) + tally.counts.get(RecipientStatus.QUEUED, 0)
        total = tally.total
        done = 1.0 if total == 0 else (total - waiting) / total
        pending = tally.counts.get(RecipientStatus.PENDING, 0)
        next_send = campaign.tick_at if campaign.status in ACTIVE and pending else None  # its next run
        rows = await store.rows(company_id, campaign.id, limit=recent, newest_first=True)
        return Progress(
            campaign=campaign,
            counts=tally.counts,
            skipped_by_reason=tally.skipped,
            total=total,
            done=done,
            next_send_at=next_send,
            recent=tuple(row for row in rows if row.queued_at is not None),
        )

    async def results_csv(self, company_id: int, campaign_id: int) -> str:
        campaign = await self._campaign(company_id, campaign_id)
        return results_csv(await self._ports.store.rows(company_id, campaign.id))

    async def list(self, company_id: int) -> builtins.list[CampaignSummary]:
        summaries = []
        for campaign in await self._ports.store.campaigns(company_id):
            tally = await self._ports.store.tally(company_id, campaign.id)
            summaries.append(
                CampaignSummary(
                    campaign.id, campaign.name, campaign.status, tally.counts, campaign.created_at
                )
            )
        return summaries

    async def stop_words(self, company_id: int) -> tuple[str, ...]:
        return await company_stop_words(self._ports.opt_outs, company_id)

    async def set_stop_words(self, company_id: int, user_id: int, words: Sequence[str]) -> tuple[str, ...]:
        cleaned = clean_stop_words(words)
        await self._ports.opt_outs.set_stop_words(company_id, cleaned)
        if self._ports.audit is not None:
            await self._ports.audit.record(
                company_id, user_id, "campaign.stop_words", "", {"words": builtins.list(cleaned)}
            )
        return cleaned

    # --- helpers ---------------------------------------------------------------------------------------

    async def _campaign(self, company_id: int, campaign_id: int) -> Campaign:
        campaign = await self._ports.store.get(company_id, campaign_id)
        if campaign is None:
            raise NotFound(Text("This campaign does not exist in this company"), reason="unknown_campaign")
        return campaign

    async def _plan(
        self, company_id: int, compose: Compose, recipients: Sequence[StoredRecipient]
    ) -> Planned:
        ports = self._ports
        return await plan_recipients(
            company_id=company_id,
            compose=compose,
            recipients=recipients,
            accounts=ports.accounts,
            opt_outs=ports.opt_outs,
            history=ports.history,
            excluded=await ports.excluded_numbers(company_id),
            clock=ports.clock,
        )

    async def _move(
        self,
        company_id: int,
        user_id: int,
        campaign_id: int,
        allowed: frozenset[CampaignStatus],
        to: CampaignStatus,
        action: str,
    ) -> Campaign:
        campaign = await self._campaign(company_id, campaign_id)
        if not await self._ports.store.transition(
            company_id, campaign.id, allowed, to, self._ports.clock.now()
        ):
            raise _cannot(campaign.status, to)
        await self._audit(company_id, user_id, action, campaign, {"from": campaign.status.value})
        return await self._campaign(company_id, campaign_id)

    async def _audit(
        self, company_id: int, user_id: int, action: str, campaign: Campaign, details: Mapping[str, object]
    ) -> None:
        if self._ports.audit is not None:
            subject = f"campaign {campaign.id}"
            await self._ports.audit.record(
                company_id, user_id, action, subject, {"name": campaign.name, **details}
            )


def _too_many() -> InvalidInput:
    return InvalidInput(
        Text("A campaign writes to at most %(limit)s people; narrow the filter", limit=MAX_RECIPIENTS),
        reason="too_many_recipients",
    )


def _cannot(status: CampaignStatus, to: CampaignStatus) -> InvalidInput:
    if status in ENDED:
        return InvalidInput(Text("This campaign has ended"), reason="campaign_ended")
    if to is CampaignStatus.PAUSED:
        return InvalidInput(Text("Only a running campaign can be paused"), reason="campaign_not_running")
    if to is CampaignStatus.RUNNING or to is CampaignStatus.SCHEDULED:
        return InvalidInput(Text("Only a paused campaign can be resumed"), reason="campaign_not_paused")
    return InvalidInput(Text("This campaign has ended"), reason="campaign_ended")
