"""A campaign end to end through the in-process job runner, the Pipedrive sandbox and the WAHA sandbox:
recipients read from a Pipedrive selection, previewed, sent through the outbox (each message lands in
the contact's chat), a number without WhatsApp skipped when sending, and a reply "Stop" recorded as an
opt-out in WaPipe and in Pipedrive, the campaign showing it as replied."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest

from sandbox.pipedrive.seed import seed_custom_field
from sandbox.pipedrive.state import SandboxUser
from sandbox.waha.models import Chat as WahaChat
from sandbox.waha.models import Group, Member
from server.domain.campaigns import (
    CampaignSource,
    CampaignStatus,
    Compose,
    Pacing,
    RecipientStatus,
    SkipReason,
)
from server.domain.ports.recipients import OPT_OUT_FIELD_NAME, ListKind
from server.domain.whatsapp import OutboundMessage, SendResult
from server.jobs.campaigns import campaigns_for
from server.jobs.deps import job_deps
from server.jobs.inbound import catch_up_account
from server.jobs.waiting_opt_outs import settle_waiting_opt_outs
from server.settings import Settings
from server.storage.companies import SqlCompanyStore
from server.storage.tables import Chat, Message, WhatsAppAccount
from server.storage.tables_campaigns import OptOutRow, WaitingOptOutRow
from tests.panel.world import ANNA_NUMBER, PanelWorld, panel_world
from tests.world import world_settings_overrides

MARIA_NUMBER = "4917655501234"


@pytest.fixture
async def world(make_settings: Callable[..., Settings]) -> AsyncIterator[PanelWorld]:
    async with panel_world(make_settings(**world_settings_overrides())) as world:
        yield world


async def company_of(world: PanelWorld, user: SandboxUser) -> int:
    company = await SqlCompanyStore(world.resources.engine).get(user.company_id)
    assert company is not None
    return company.id


async def test_a_campaign_runs_to_the_end_and_a_stop_reply_opts_out(world: PanelWorld) -> None:
    deps = job_deps(world.resources.queue.ctx)  # type: ignore[attr-defined]
    campaigns = campaigns_for(deps)
    company_id = await company_of(world, world.anna)
    [anna] = [a for a in await world.rows(WhatsAppAccount) if a["e164"] == "+" + ANNA_NUMBER]
    names = ("maria", "local", "nophone", "bad", "missing")
    source = CampaignSource(ListKind.PERSON, ids=tuple(world.persons[n] for n in names))
    campaign = await campaigns.create(company_id, world.anna.id, source, "Winter")
    compose = Compose(
        "Hello {{person.first_name|there}}! Reply STOP to unsubscribe", account_ids=(anna["id"],)
    )

    preview = await campaigns.preview(company_id, world.anna.id, campaign.id, compose, show=5)
    assert [(row.name, row.skip) for row in preview.rows] == [
        ("Maria Kunde", None),
        ("Lokal Lisa", None),
        ("Ohne Telefon", SkipReason.NO_PHONE),
        ("Falsche Nummer", SkipReason.NUMBER_INVALID),
        ("Nicht Auf WhatsApp", SkipReason.NOT_ON_WHATSAPP),  # the gateway was asked
    ]
    assert preview.rows[0].text == "Hello Maria! Reply STOP to unsubscribe"

    await campaigns.start(company_id, world.anna.id, campaign.id, compose, Pacing.off())
    await world.settle()

    sent = [m for m in await world.rows(Message) if m["from_me"] and m["text"].startswith("Hello")]
    assert sorted(m["text"] for m in sent) == [
        "Hello Lokal! Reply STOP to unsubscribe",
        "Hello Maria! Reply STOP to unsubscribe",
    ]
    progress = await campaigns.progress(company_id, campaign.id)
    assert progress.skipped_by_reason == {
        SkipReason.NO_PHONE: 1,
        SkipReason.NUMBER_INVALID: 1,
        SkipReason.NOT_ON_WHATSAPP: 1,  # learnt when sending
    }

    world.waha.receive("wp-acme-anna", MARIA_NUMBER, "Stop", push_name="Maria")  # type: ignore[union-attr]
    # The phones' ticks (delivered, read) come the sandbox's ack delays after each send: all are due now.
    world.clock.advance(max(world.waha.ack_delays))  # type: ignore[union-attr]
    await world.settle()

    [opt_out] = await world.rows(OptOutRow)
    assert (opt_out["e164"], opt_out["person_id"], opt_out["word"]) == (
        "+" + MARIA_NUMBER,
        world.persons["maria"],
        "STOP",
    )
    assert world.pd is not None
    data = world.pd.company_data(world.anna.company_id)
    [field] = [f for f in data.person_fields.values() if f["name"] == OPT_OUT_FIELD_NAME]
    maria = data.persons[world.persons["maria"]]
    assert maria["custom_fields"][field["key"]] == world.clock.now().date().isoformat()

    progress = await campaigns.progress(company_id, campaign.id)
    assert progress.campaign.status is CampaignStatus.FINISHED
    assert progress.done == 1.0
    by_name = {row.name: row for row in progress.recent}
    assert by_name["Maria Kunde"].status is RecipientStatus.REPLIED
    assert by_name["Lokal Lisa"].status is RecipientStatus.READ

    table = list(csv.DictReader(io.StringIO(await campaigns.results_csv(company_id, campaign.id))))
    assert [row["name"] for row in table] == [
        "Maria Kunde",
        "Lokal Lisa",
        "Ohne Telefon",
        "Falsche Nummer",
        "Nicht Auf WhatsApp",
    ]
    maria_row = table[0]
    assert maria_row["phone"] == "+" + MARIA_NUMBER and maria_row["from"] == "+" + ANNA_NUMBER
    assert maria_row["status"] == "replied" and maria_row["sent_at"] and maria_row["replied_at"]
    assert [row["reason"] for row in table[2:]] == ["no_phone", "number_invalid", "not_on_whatsapp"]

    again = await campaigns.create(company_id, world.anna.id, source, "Spring")  # a later campaign
    later = await campaigns.preview(company_id, world.anna.id, again.id, compose, show=1)
    assert later.rows[0].skip is SkipReason.OPTED_OUT


async def test_a_person_opted_out_by_hand_in_pipedrive_is_skipped_like_a_stop_reply(
    world: PanelWorld,
) -> None:
    """Someone in the company sets Lisa's "WhatsApp opt-out" date in Pipedrive; no stop word ever reached
    WaPipe. The preview and the campaign skip her as opted out, and her phone gets nothing."""
    assert world.pd is not None and world.waha is not None
    pipedrive_company = world.anna.company_id
    field = seed_custom_field(world.pd, pipedrive_company, "person", OPT_OUT_FIELD_NAME, "date")
    lisa = world.pd.company_data(pipedrive_company).persons[world.persons["local"]]
    lisa["custom_fields"][field["key"]] = "2026-02-01"
    campaigns = campaigns_for(job_deps(world.resources.queue.ctx))  # type: ignore[attr-defined]
    company_id = await company_of(world, world.anna)
    [anna] = [a for a in await world.rows(WhatsAppAccount) if a["e164"] == "+" + ANNA_NUMBER]
    source = CampaignSource(ListKind.PERSON, ids=(world.persons["maria"], world.persons["local"]))
    campaign = await campaigns.create(company_id, world.anna.id, source, "Winter")
    compose = Compose("Hello {{person.first_name}}", account_ids=(anna["id"],))

    preview = await campaigns.preview(company_id, world.anna.id, campaign.id, compose)
    assert [(row.name, row.skip) for row in preview.rows] == [
        ("Maria Kunde", None),
        ("Lokal Lisa", SkipReason.OPTED_OUT),
    ]
    assert (preview.will_send, preview.skipped) == (1, {SkipReason.OPTED_OUT: 1})

    await campaigns.start(company_id, world.anna.id, campaign.id, compose, Pacing.off())
    await world.settle()
    progress = await campaigns.progress(company_id, campaign.id)
    assert progress.campaign.status is CampaignStatus.FINISHED
    assert progress.skipped_by_reason == {SkipReason.OPTED_OUT: 1}
    phones = [entry.chat_id for entry in world.waha.session("wp-acme-anna").outbox]
    assert phones == [MARIA_NUMBER + "@c.us"]  # Lisa's phone (+49 176 55509999) got nothing


async def test_a_send_job_that_crashed_is_queued_again_by_the_campaign_and_nobody_gets_two(
    world: PanelWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Maria's send job fails after the gateway took her message (its answer could not be read). The
    campaign's next look queues it again at once (not an hour later, when the job's result would have
    expired), the send finds her message on the gateway, and the campaign finishes: one message each."""
    assert world.waha is not None
    waha = world.resources.transports["waha"]
    real_send = waha.send
    crashes: list[str] = []

    async def send_then_crash(session: str, message: OutboundMessage) -> SendResult:
        result = await real_send(session, message)
        if not crashes:
            crashes.append(message.to)
            raise RuntimeError("the gateway's answer could not be read")
        return result

    monkeypatch.setattr(waha, "send", send_then_crash)
    campaigns = campaigns_for(job_deps(world.resources.queue.ctx))  # type: ignore[attr-defined]
    company_id = await company_of(world, world.anna)
    [anna] = [a for a in await world.rows(WhatsAppAccount) if a["e164"] == "+" + ANNA_NUMBER]
    source = CampaignSource(ListKind.PERSON, ids=(world.persons["maria"], world.persons["local"]))
    campaign = await campaigns.create(company_id, world.anna.id, source, "Winter")
    compose = Compose("Hello {{person.first_name}}", account_ids=(anna["id"],))
    started = world.clock.now()
    await campaigns.start(company_id, world.anna.id, campaign.id, compose, Pacing.off())
    await world.settle(until=started + timedelta(minutes=5))

    assert crashes == ["+" + MARIA_NUMBER]
    progress = await campaigns.progress(company_id, campaign.id)
    assert progress.campaign.status is CampaignStatus.FINISHED
    phones = sorted(entry.chat_id for entry in world.waha.session("wp-acme-anna").outbox)
    assert phones == [MARIA_NUMBER + "@c.us", "4917655509999@c.us"]  # Maria's and Lisa's, once each


async def test_a_stop_sent_while_webhooks_were_lost_is_found_by_the_catch_up(world: PanelWorld) -> None:
    assert world.waha is not None
    world.waha.faults("wp-acme-anna").silent = True
    world.waha.receive("wp-acme-anna", MARIA_NUMBER, "UNSUBSCRIBE")
    await world.settle()
    assert await world.rows(OptOutRow) == []  # nothing told us yet
    [anna] = [a for a in await world.rows(WhatsAppAccount) if a["e164"] == "+" + ANNA_NUMBER]
    ctx = {**world.resources.queue.ctx, "job_try": 1}  # type: ignore[attr-defined]
    await catch_up_account(ctx, anna["id"], "watchdog")
    [opt_out] = await world.rows(OptOutRow)
    assert (opt_out["e164"], opt_out["word"]) == ("+" + MARIA_NUMBER, "UNSUBSCRIBE")


async def start_a_campaign_to_maria(world: PanelWorld) -> int:
    """Maria gets a campaign message from Anna's number; WaPipe now knows her number's Person."""
    campaigns = campaigns_for(job_deps(world.resources.queue.ctx))  # type: ignore[attr-defined]
    company_id = await company_of(world, world.anna)
    [anna] = [a for a in await world.rows(WhatsAppAccount) if a["e164"] == "+" + ANNA_NUMBER]
    source = CampaignSource(ListKind.PERSON, ids=(world.persons["maria"],))
    campaign = await campaigns.create(company_id, world.anna.id, source, "Winter")
    compose = Compose("Hello! Reply STOP to unsubscribe", account_ids=(anna["id"],))
    await campaigns.start(company_id, world.anna.id, campaign.id, compose, Pacing.off())
    await world.settle()
    return company_id


async def test_a_stop_from_a_chat_known_only_by_its_lid_opts_out_once_the_gateway_knows_the_number(
    world: PanelWorld,
) -> None:
    assert world.waha is not None
    await start_a_campaign_to_maria(world)
    world.waha.receive("wp-acme-anna", MARIA_NUMBER, "STOP", as_lid=True)  # WAHA gives no number with it
    await world.settle()  # the check job asks the gateway six times over about a minute, then leaves it
    lid = f"{world.waha.contact_lids[MARIA_NUMBER]}@lid"
    assert [c["e164"] for c in await world.rows(Chat) if c["chat_key"] == lid] == [None]
    assert await world.rows(OptOutRow) == []
    [waiting] = await world.rows(WaitingOptOutRow)
    assert (waiting["lid"], waiting["word"]) == (lid, "STOP")

    world.waha.learn_lid("wp-acme-anna", lid, MARIA_NUMBER)  # WAHA learns the number later
    ctx = {**world.resources.queue.ctx, "job_try": 1}  # type: ignore[attr-defined]
    world.clock.advance(job_deps(ctx).timings.opt_out_recheck.total_seconds())
    assert await settle_waiting_opt_outs(ctx) == "1 recorded"
    await world.settle()
    [opt_out] = await world.rows(OptOutRow)
    assert (opt_out["e164"], opt_out["person_id"], opt_out["word"]) == (
        "+" + MARIA_NUMBER,
        world.persons["maria"],
        "STOP",
    )
    assert await world.rows(WaitingOptOutRow) == []
    assert world.pd is not None
    data = world.pd.company_data(world.anna.company_id)
    [field] = [f for f in data.person_fields.values() if f["name"] == OPT_OUT_FIELD_NAME]
    assert data.persons[world.persons["maria"]]["custom_fields"][field["key"]]  # marked in Pipedrive


async def test_a_stop_from_a_lid_chat_is_recorded_when_a_later_message_reveals_the_number(
    world: PanelWorld,
) -> None:
    assert world.waha is not None
    await start_a_campaign_to_maria(world)
    world.waha.receive("wp-acme-anna", MARIA_NUMBER, "Stopp", as_lid=True)
    await world.settle()
    assert await world.rows(OptOutRow) == [] and len(await world.rows(WaitingOptOutRow)) == 1
    world.waha.receive("wp-acme-anna", MARIA_NUMBER, "Tschüss")  # by number, with her LID beside it
    await world.settle()
    ctx = {**world.resources.queue.ctx, "job_try": 1}  # type: ignore[attr-defined]
    # The cron, a minute later at most (the runner's own may have run already on the turn of a minute):
    # whichever run records it, it is recorded once.
    await settle_waiting_opt_outs(ctx)
    [opt_out] = await world.rows(OptOutRow)
    assert (opt_out["e164"], opt_out["word"]) == ("+" + MARIA_NUMBER, "STOPP")
    assert await world.rows(WaitingOptOutRow) == []  # recorded once, waiting no more


async def test_a_stop_in_a_group_opts_nobody_out(world: PanelWorld) -> None:
    assert world.waha is not None
    await start_a_campaign_to_maria(world)
    session = world.waha.session("wp-acme-anna")
    group_id = world.waha.ids.group_id()
    members = [Member("Maria", MARIA_NUMBER, None)]
    session.groups[group_id] = Group(group_id, "Choir", members, created=world.waha.clock.now_s() - 60)
    session.chats.setdefault(group_id, WahaChat(group_id, "Choir"))
    world.waha.receive("wp-acme-anna", MARIA_NUMBER, "STOP", group=group_id)
    world.waha.receive("wp-acme-anna", "123456789012345@lid", "STOP", group=group_id)  # a member by LID
    await world.settle()
    assert [m["text"] for m in await world.rows(Message) if m["text"] == "STOP"] == ["STOP", "STOP"]
    assert await world.rows(OptOutRow) == []
    assert await world.rows(WaitingOptOutRow) == []


async def test_a_stop_from_a_lid_chat_found_by_the_catch_up_waits_for_its_number(world: PanelWorld) -> None:
    assert world.waha is not None
    world.waha.faults("wp-acme-anna").silent = True
    world.waha.receive("wp-acme-anna", MARIA_NUMBER, "BAJA", as_lid=True)
    await world.settle()
    assert await world.rows(WaitingOptOutRow) == []  # nothing told us yet
    [anna] = [a for a in await world.rows(WhatsAppAccount) if a["e164"] == "+" + ANNA_NUMBER]
    ctx = {**world.resources.queue.ctx, "job_try": 1}  # type: ignore[attr-defined]
    await catch_up_account(ctx, anna["id"], "watchdog")
    [waiting] = await world.rows(WaitingOptOutRow)
    assert (waiting["lid"], waiting["word"]) == (f"{world.waha.contact_lids[MARIA_NUMBER]}@lid", "BAJA")
