"""One run of a campaign's sending loop: for each sending number whose turn has come, the next recipients
get their message, and the run says when the loop should run again.

Exactly once: a recipient's message is an outbox row under ``client_ref`` ``cmp<campaign>r<recipient>``
(unique), its send job is queued under the row's id, and only then is the recipient marked queued. A run
that dies anywhere in between is run again and finds the row (``OutboxStore.create`` returns it), queues
its job (the job id dedupes) and marks the recipient: one row, one message. A run whose ``seq`` is not the
campaign's ``tick_seq`` is a stale one (a resume or the restart check started another) and does nothing.

Per number, in order: not before its next turn (``campaign_sender``), nor before the start time; at most
the daily cap in its UTC day, then the next UTC midnight; the first pending recipient (of the next
``SCAN``) not in quiet hours in their time zone, else the earliest end of those quiet hours; the sending
number's gateway is asked whether the recipient has WhatsApp (skipped ``not_on_whatsapp`` when not; when
it cannot tell, the send finds out); after a message, a random gap. At most ``batch`` messages per number
per run, so a run without gaps still ends soon. Before each message the run reads the campaign again: once
it is paused or cancelled (or another run took over) nothing more is queued, so a pause stops a number
after the message it was sending. Recipients who opted out since the start are skipped then. When no
recipient is pending and every message has left the outbox, the campaign is finished.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from server.domain.campaign_pacing import after_cap, earliest, gap, quiet_until, utc_day_start, zone_for
from server.domain.campaigns import Campaign, CampaignStatus, RecipientStatus, SkipReason
from server.domain.clock import Clock
from server.domain.cloud_templates import TemplateSend, outbound_template, outbox_columns
from server.domain.errors import InvalidInput, NumberNotOnWhatsApp, WaPipeError
from server.domain.models import Account
from server.domain.ports.campaigns import CampaignStore, OptOuts, OptOutStore, StoredRecipient
from server.domain.ports.queue import JobQueue
from server.domain.ports.storage import AccountStore, OutboxStore
from server.domain.ports.whatsapp import WhatsAppTransport
from server.domain.send_echoes import send_fingerprint
from server.domain.templates import render
from server.domain.whatsapp import OutboundMessage, SessionStatus
from server.services.campaigns.planning import message_values
from server.services.cloud_templates import CLOUD
from server.services.send import send_job_id

SCAN = 20  # pending recipients looked at per number for one outside quiet hours
PENDING = frozenset({RecipientStatus.PENDING})


class ApprovedTemplateFill(Protocol):
    """A Meta-approved template filled for one contact (``services.cloud_templates.CloudTemplates``)."""

    async def for_send(
        self, company_id: int, account: Account, key: str, values: Mapping[str, Mapping[str, str]]
    ) -> TemplateSend: ...

    async def campaign_text(self, company_id: int, account: Account, key: str) -> str: ...


def client_ref(campaign_id: int, recipient_id: int) -> str:
    return f"cmp{campaign_id}r{recipient_id}"


@dataclass(frozen=True)
class TickPorts:
    store: CampaignStore
    opt_outs: OptOutStore
    accounts: AccountStore
    outbox: OutboxStore
    queue: JobQueue
    clock: Clock
    random: random.Random
    transports: Mapping[str, WhatsAppTransport] = field(default_factory=dict)  # by kind: "waha", "cloud"
    approved: ApprovedTemplateFill | None = None  # for campaigns sent as a Meta-approved template


@dataclass(frozen=True, slots=True)
class TickResult:
    next_at: datetime | None  # when to run again; None: stop (not running, stale run, finished)
    queued: int = 0
    finished: bool = False


async def tick(
    ports: TickPorts, campaign_id: int, seq: int, *, batch: int = 50, poll: timedelta = timedelta(seconds=30)
) -> TickResult:
    """``poll``: how long to wait for messages still in the outbox once nobody is pending, and for a sending
    number that is disconnected (its recipients wait for it)."""
    store = ports.store
    campaign = await store.by_id(campaign_id)
    if campaign is None or campaign.tick_seq != seq or campaign.compose is None:
        return TickResult(None)
    now = ports.clock.now()
    if campaign.status is CampaignStatus.SCHEDULED:
        start = campaign.pacing.start_at
        if start is not None and start > now:
            return TickResult(start)
        allowed = frozenset({CampaignStatus.SCHEDULED})
        if not await store.transition(campaign.company_id, campaign.id, allowed, CampaignStatus.RUNNING, now):
            return TickResult(None)
    elif campaign.status is not CampaignStatus.RUNNING:
        return TickResult(None)
    accounts = {a.id: a for a in await ports.accounts.for_company(campaign.company_id)}
    outs = await ports.opt_outs.opt_outs(campaign.company_id)
    turns = await store.next_send(campaign.id)
    due: list[datetime] = []
    queued = 0
    for account_id in dict.fromkeys(campaign.compose.account_ids):
        turn = await _number(
            ports, campaign, seq, accounts.get(account_id), account_id, turns, outs, batch, poll
        )
        queued += turn.sent
        if turn.stopped:
            return TickResult(None, queued)
        if turn.next_at is not None:
            due.append(turn.next_at)
    if due:
        return TickResult(max(min(due), ports.clock.now()), queued)
    tally = await store.tally(campaign.company_id, campaign.id)
    if tally.unsent:
        await requeue_unsent(ports, campaign)
        return TickResult(ports.clock.now() + poll, queued)
    running = frozenset({CampaignStatus.RUNNING})
    finished = await store.transition(
        campaign.company_id, campaign.id, running, CampaignStatus.FINISHED, ports.clock.now()
    )
    return TickResult(None, queued, finished=finished)


async def requeue_unsent(ports: TickPorts, campaign: Campaign) -> int:
    """Queues again the send job of each of the campaign's messages still in the outbox: a job runner
    killed with jobs in its memory (the in-process runner) or a queue lost with Redis took them, and nothing
    else would. The job id dedupes a job still queued, retrying or running; a message whose send had
    started is looked up on the gateway before any resend (``server.services.deliver``). How many were
    queued again."""
    company_id = campaign.company_id
    rows = await ports.store.rows(company_id, campaign.id)
    unsent = {row.id for row in rows if row.status is RecipientStatus.QUEUED}
    queued = frozenset({RecipientStatus.QUEUED})
    again = 0
    for recipient in await ports.store.recipients(company_id, campaign.id, statuses=queued):
        if recipient.id in unsent and recipient.outbox_id is not None:
            job_id = send_job_id(recipient.outbox_id)
            again += await ports.queue.enqueue("send_outbox", recipient.outbox_id, job_id=job_id)
    return again


async def _still_running(store: CampaignStore, campaign_id: int, seq: int) -> bool:
    campaign = await store.by_id(campaign_id)
    return campaign is not None and campaign.tick_seq == seq and campaign.status is CampaignStatus.RUNNING


@dataclass(frozen=True, slots=True)
class _Turn:
    """One sending number's part of a run."""

    sent: int  # messages queued
    next_at: datetime | None  # its next turn; None: nobody left for it
    stopped: bool = False  # the campaign was paused or cancelled (or another run took over) meanwhile


async def _number(
    ports: TickPorts,
    campaign: Campaign,
    seq: int,
    account: Account | None,
    account_id: int,
    turns: dict[int, datetime],
    outs: OptOuts,
    batch: int,
    poll: timedelta,
) -> _Turn:
    """One sending number's messages of this run. Its next turn is stored once, after the last message of
    the run (a crash can only shorten one gap)."""
    turn = await _send_due(ports, campaign, seq, account, account_id, turns, outs, batch, poll)
    if turn.sent:
        await ports.store.set_next_send(campaign.id, account_id, turns[account_id])
    return turn


async def _send_due(
    ports: TickPorts,
    campaign: Campaign,
    seq: int,
    account: Account | None,
    account_id: int,
    turns: dict[int, datetime],
    outs: OptOuts,
    batch: int,
    poll: timedelta,
) -> _Turn:
    store, pacing, company_id = ports.store, campaign.pacing, campaign.company_id
    sent = 0
    waiting: list[StoredRecipient] = []  # the next pending recipients, read SCAN at a time
    today: tuple[datetime, int] | None = None  # the UTC day and how many the number was given in it
    while True:
        now = ports.clock.now()
        if not waiting:  # first: a number with nobody left is done now, not at its next turn
            waiting = await store.recipients(
                company_id, campaign.id, statuses=PENDING, account_id=account_id, limit=SCAN
            )
            if not waiting:
                return _Turn(sent, None)
        turn = earliest(pacing, now, turns.get(account_id))
        if turn > now:
            return _Turn(sent, turn)
        if sent >= batch:
            return _Turn(sent, now)
        if account is None or account.status != SessionStatus.CONNECTED.value:
            # its recipients wait until the number is back (or the campaign ends)
            return _Turn(sent, now + poll)
        day = utc_day_start(now)
        if today is None or today[0] != day:
            today = (day, await store.queued_since(company_id, account_id, day))
        capped = after_cap(pacing, now, today[1])
        if capped is not None:
            return _Turn(sent, capped)
        chosen: StoredRecipient | None = None
        quiet_ends: list[datetime] = []
        left: list[StoredRecipient] = []
        for recipient in waiting:
            if chosen is not None:
                left.append(recipient)
            elif outs.covers(recipient.e164 or None, recipient.record.person_id):
                await store.mark_skipped(company_id, recipient.id, SkipReason.OPTED_OUT, now)
            elif (ends := quiet_until(pacing, now, zone_for(recipient.e164))) is not None:
                quiet_ends.append(ends)
                left.append(recipient)
            else:
                chosen = recipient
        waiting = left
        if chosen is None:
            if quiet_ends:
                return _Turn(sent, min(quiet_ends))
            continue  # all were opted out: read the next ones
        if not await _still_running(store, campaign.id, seq):  # paused or cancelled since the last message
            return _Turn(sent, None, stopped=True)
        if await has_whatsapp(ports, account, chosen.e164) is False:
            await store.mark_skipped(company_id, chosen.id, SkipReason.NOT_ON_WHATSAPP, now)
            continue
        if not await queue_message(ports, campaign, account, chosen):
            continue
        sent += 1
        today = (today[0], today[1] + 1)
        turns[account_id] = now + gap(pacing, ports.random)


async def has_whatsapp(ports: TickPorts, account: Account | None, e164: str) -> bool | None:
    """Whether the sending number's gateway says ``e164`` has WhatsApp; ``None`` when it cannot tell now
    or cannot be asked (a Cloud API number has no check): the send finds out."""
    if account is None:
        return None
    transport = ports.transports.get(account.transport)
    if transport is None or not transport.capabilities.number_check:
        return None
    try:
        await transport.check_number(account.session_name, e164)
    except NumberNotOnWhatsApp:
        return False
    except WaPipeError:
        return None
    return True


async def queue_message(
    ports: TickPorts, campaign: Campaign, account: Account | None, recipient: StoredRecipient
) -> bool:
    """The recipient's outbox row (found again after a crash), its send job, and the recipient queued.

    From a Cloud API number, a campaign sent as a Meta-approved template carries that template filled for
    the recipient; when it cannot be (no longer approved, a variable without a value) the recipient is
    skipped ``template_unavailable`` and ``False`` returned. Any other message carries the template's
    attachment, if it has one (read once per worker: ``server.services.deliver.FileBytes``)."""
    compose = campaign.compose
    assert compose is not None and recipient.account_id is not None
    values = message_values(recipient.record.values, account)
    reference = client_ref(campaign.id, recipient.id)
    columns: dict[str, str] = {}  # the template's, when sent as one
    attachment = compose.attachment
    if compose.approved_template and account is not None and account.transport == CLOUD:
        template = await _approved(ports, campaign, account, values)
        if template is None:
            now = ports.clock.now()
            await ports.store.mark_skipped(
                campaign.company_id, recipient.id, SkipReason.TEMPLATE_UNAVAILABLE, now
            )
            return False
        text = template.body
        columns = outbox_columns(template)
        sent = outbound_template(template.name, template.language, columns["template_parameters"])
        preview = OutboundMessage(client_ref=reference, to=recipient.e164, template=sent)
        attachment = None  # a Meta-approved template's header is Meta's, not a file of ours
    else:
        text = render(compose.text, values).strip()
        preview = OutboundMessage(client_ref=reference, to=recipient.e164, text=text or None)
    entry, _ = await ports.outbox.create(
        client_ref=reference,
        company_id=campaign.company_id,
        account_id=recipient.account_id,
        requested_by=campaign.created_by,
        to_chat=recipient.e164,
        text=text,
        fingerprint=send_fingerprint(preview),
        person_id=recipient.record.person_id,
        deal_id=recipient.record.deal_id,
        file_id=attachment.file_id if attachment is not None else None,
        file_name=attachment.name if attachment is not None else "",
        **columns,
    )
    await ports.queue.enqueue("send_outbox", entry.id, job_id=send_job_id(entry.id))
    await ports.store.mark_queued(campaign.company_id, recipient.id, entry.id, ports.clock.now())
    return True


async def _approved(
    ports: TickPorts, campaign: Campaign, account: Account, values: Mapping[str, Mapping[str, str]]
) -> TemplateSend | None:
    """The campaign's approved template filled for one recipient; ``None`` when it cannot be."""
    assert campaign.compose is not None
    if ports.approved is None:
        return None
    try:
        return await ports.approved.for_send(
            campaign.company_id, account, campaign.compose.approved_template, values
        )
    except InvalidInput:
        return None
