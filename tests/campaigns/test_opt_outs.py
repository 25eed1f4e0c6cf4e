"""Opt-outs and stop words over real storage, the traces the planning reads from the inbox, the live
status of a sent recipient from the inbox, and a contact's erasure."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

import server.jobs.campaigns as campaign_jobs
from server.domain.campaigns import CampaignSource, Compose, Pacing, RecipientStatus
from server.domain.errors import StorageBusy
from server.domain.ports.recipients import ListKind
from server.domain.stop_words import DEFAULT_STOP_WORDS
from server.domain.whatsapp import Delivery, InboundMessage, Peer
from server.services.campaigns.opt_out import MARK_JOB, note_reply
from server.services.campaigns.tick import tick
from server.storage.erasure import erase_contact
from server.storage.opt_outs import SqlContactHistory, SqlOptOutStore
from server.storage.tables import Outbox, table_of
from server.storage.tables_campaigns import CampaignRecipientRow, OptOutRow
from tests.campaigns.conftest import CampaignWorld, count, person
from tests.job_deps import deps_over, run_ctx

MARIA = "+4917655501234"
PEER = Peer("4917655501234@c.us", e164=MARIA, display_name="Maria")


async def test_stop_words_default_until_the_company_keeps_its_own(world: CampaignWorld) -> None:
    assert await world.campaigns.stop_words(world.company_id) == DEFAULT_STOP_WORDS
    kept = await world.campaigns.set_stop_words(world.company_id, 7, ["Basta", " basta ", "Genug"])
    assert kept == ("Basta", "Genug")
    assert await world.campaigns.stop_words(world.company_id) == ("Basta", "Genug")
    assert await world.campaigns.stop_words(world.other_company_id) == DEFAULT_STOP_WORDS


async def test_a_stop_reply_is_one_opt_out_and_one_pipedrive_job(world: CampaignWorld) -> None:
    opt_outs = SqlOptOutStore(world.engine)
    world.pipedrive.records[1] = person(1, "Maria Kunde", MARIA)
    await world.campaigns.create(world.company_id, 7, CampaignSource(ListKind.PERSON, ids=(1,)))
    campaign = (await world.store.campaigns(world.company_id))[0]
    await world.campaigns.start(
        world.company_id, 7, campaign.id, Compose("Hi", account_ids=(world.anna,)), Pacing.off()
    )
    now = world.clock.now()
    assert await note_reply(opt_outs, world.queue, world.company_id, MARIA, "thanks!", now) is None
    assert await note_reply(opt_outs, world.queue, world.company_id, MARIA, " Stop. ", now) == "STOP"
    assert await note_reply(opt_outs, world.queue, world.company_id, MARIA, "STOP", now) == "STOP"
    outs = await opt_outs.opt_outs(world.company_id)
    assert outs.numbers == {MARIA} and outs.persons == {1}
    assert (await opt_outs.opt_outs(world.other_company_id)).numbers == frozenset()
    [job] = world.queue.named(MARK_JOB)
    assert job.args == (world.company_id, 1, now.date().isoformat())
    assert job.job_id == f"opt-out:{world.company_id}:1"


async def test_a_companys_own_stop_words_replace_the_defaults(world: CampaignWorld) -> None:
    opt_outs = SqlOptOutStore(world.engine)
    await world.campaigns.set_stop_words(world.company_id, 7, ["Basta"])
    now = world.clock.now()
    assert await note_reply(opt_outs, world.queue, world.company_id, MARIA, "stop", now) is None
    assert await note_reply(opt_outs, world.queue, world.company_id, MARIA, "BASTA!", now) == "Basta"
    assert world.queue.named(MARK_JOB) == []  # WaPipe does not know whose number it is: WaPipe only
    assert await count(world, OptOutRow) == 1


async def test_traces_name_the_number_that_last_talked_and_when_the_contact_last_wrote(
    world: CampaignWorld,
) -> None:
    now = world.clock.now()
    for account_id, at, from_me in ((world.anna, now - timedelta(hours=30), False), (world.ben, now, True)):
        chat_id = await world.inbox.upsert_chat(account_id, PEER, at)
        message = InboundMessage(f"s{account_id}", f"m{account_id}", PEER, PEER, from_me, at, text="hi")
        await world.inbox.add_message(account_id, chat_id, message)
    traces = await SqlContactHistory(world.engine).traces(world.company_id, [MARIA, "+4917600000000"])
    assert set(traces) == {MARIA}
    assert traces[MARIA].last_account_id == world.ben
    assert dict(traces[MARIA].last_inbound or {}) == {world.anna: now - timedelta(hours=30)}
    assert await SqlContactHistory(world.engine).traces(world.other_company_id, [MARIA]) == {}


async def test_a_sent_message_reads_its_ticks_and_the_reply_from_the_inbox(world: CampaignWorld) -> None:
    world.pipedrive.records[1] = person(1, "Maria Kunde", MARIA)
    campaign = await world.campaigns.create(world.company_id, 7, CampaignSource(ListKind.PERSON, ids=(1,)))
    started = await world.campaigns.start(
        world.company_id, 7, campaign.id, Compose("Hi", account_ids=(world.anna,)), Pacing.off()
    )
    await tick(world.ports.tick_ports(), campaign.id, started.tick_seq)
    async with world.engine.connect() as connection:
        [outbox] = (await connection.execute(select(table_of(Outbox)))).mappings().all()
    sent_at = world.clock.now()
    chat_id = await world.inbox.upsert_chat(world.anna, PEER, sent_at)
    mine = InboundMessage("wp-anna", "out-1", PEER, PEER, True, sent_at, text="Hi")
    await world.inbox.add_message(world.anna, chat_id, mine)
    await world.outbox.mark_sent(outbox["id"], "out-1", mine.key)
    [shown] = await world.store.rows(world.company_id, campaign.id)
    assert shown.status is RecipientStatus.SENT and shown.sent_at == sent_at
    assert shown.delivered_at is None and shown.read_at is None
    ticked = datetime.now(UTC)
    await world.inbox.advance_status(world.anna, mine.key, Delivery.READ)
    [shown] = await world.store.rows(world.company_id, campaign.id)
    assert shown.status is RecipientStatus.READ
    assert shown.read_at is not None and shown.read_at >= ticked and shown.delivered_at == shown.read_at
    reply_at = sent_at + timedelta(minutes=5)
    await world.inbox.add_message(
        world.anna, chat_id, InboundMessage("wp-anna", "in-1", PEER, PEER, False, reply_at, text="Danke")
    )
    [shown] = await world.store.rows(world.company_id, campaign.id)
    assert shown.status is RecipientStatus.REPLIED and shown.replied_at == reply_at
    tally = await world.store.tally(world.company_id, campaign.id)
    assert (tally.counts, tally.unsent) == ({RecipientStatus.REPLIED: 1}, 0)


async def test_the_counts_agree_with_the_rows_at_every_step(world: CampaignWorld) -> None:
    """The database counts what the pages list: queued, sent, failed, read, replied and every skip."""
    numbers = [MARIA, "+4917655509999", "+4917655502222", "+4917655503333"]
    for person_id, number in enumerate(numbers, start=1):
        world.pipedrive.records[person_id] = person(person_id, f"Kunde {person_id}", number)
    world.pipedrive.records[5] = person(5, "Ohne Telefon")
    world.pipedrive.records[6] = person(6, "Doppelt", MARIA)
    source = CampaignSource(ListKind.PERSON, ids=(1, 2, 3, 4, 5, 6))
    campaign = await world.campaigns.create(world.company_id, 7, source)
    started = await world.campaigns.start(
        world.company_id, 7, campaign.id, Compose("Hi", account_ids=(world.anna,)), Pacing.off()
    )

    async def agree() -> dict[RecipientStatus, int]:
        rows = await world.store.rows(world.company_id, campaign.id)
        tally = await world.store.tally(world.company_id, campaign.id)
        expected = Counter(row.status for row in rows)
        skips = Counter(row.skip for row in rows if row.skip is not None)
        assert tally.counts == dict(expected) and tally.skipped == dict(skips)
        assert tally.unsent == expected[RecipientStatus.QUEUED]
        return tally.counts

    assert await agree() == {RecipientStatus.PENDING: 4, RecipientStatus.SKIPPED: 2}
    await tick(world.ports.tick_ports(), campaign.id, started.tick_seq)
    assert await agree() == {RecipientStatus.QUEUED: 4, RecipientStatus.SKIPPED: 2}
    async with world.engine.connect() as connection:
        rows = (await connection.execute(select(table_of(Outbox)).order_by(table_of(Outbox).c.id))).all()
    outbox = {row.to_chat: row.id for row in rows}
    sent_at = world.clock.now()
    for index, number in enumerate(numbers[:3]):
        peer = Peer(number[1:] + "@c.us", e164=number)
        chat_id = await world.inbox.upsert_chat(world.anna, peer, sent_at)
        mine = InboundMessage("wp-anna", f"out-{index}", peer, peer, True, sent_at, text="Hi")
        await world.inbox.add_message(world.anna, chat_id, mine)
        await world.outbox.mark_sent(outbox[number], f"out-{index}", mine.key)
        if index == 1:
            await world.inbox.advance_status(world.anna, mine.key, Delivery.READ)
        if index == 2:
            later = sent_at + timedelta(minutes=1)
            reply = InboundMessage("wp-anna", "in-2", peer, peer, False, later, text="Danke")
            await world.inbox.add_message(world.anna, chat_id, reply)
    await world.outbox.mark_failed(outbox[numbers[3]], "number_not_on_whatsapp", "no WhatsApp")
    assert await agree() == {
        RecipientStatus.SENT: 1,
        RecipientStatus.READ: 1,
        RecipientStatus.REPLIED: 1,
        RecipientStatus.SKIPPED: 3,  # two when planned, one the gateway refused
    }


async def test_erasing_a_contact_drops_their_campaign_rows_and_keeps_the_opt_out(
    world: CampaignWorld,
) -> None:
    world.pipedrive.records.update(
        {1: person(1, "Maria Kunde", MARIA), 2: person(2, "Otto", "+4917655509999")}
    )
    campaign = await world.campaigns.create(world.company_id, 7, CampaignSource(ListKind.PERSON, ids=(1, 2)))
    await world.campaigns.start(
        world.company_id, 7, campaign.id, Compose("Hi", account_ids=(world.anna,)), Pacing.off()
    )
    await SqlOptOutStore(world.engine).record(world.company_id, MARIA, 1, "STOP", world.clock.now())
    await erase_contact(world.engine, world.company_id, MARIA)
    assert [r.record.person_id for r in await world.store.recipients(world.company_id, campaign.id)] == [2]
    assert await count(world, CampaignRecipientRow) == 1
    assert await count(world, OptOutRow) == 1


async def test_a_reply_that_cannot_be_checked_now_is_checked_by_its_own_job(
    world: CampaignWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = run_ctx(deps_over(world.engine, queue=world.queue, clock=world.clock))

    async def busy(*args: object) -> None:
        raise StorageBusy("database is locked")

    monkeypatch.setattr(campaign_jobs, "_note", busy)
    await campaign_jobs.note_short_replies(ctx, [(world.company_id, MARIA, "stop")])  # does not raise
    [job] = world.queue.named(campaign_jobs.CHECK_REPLY_JOB)
    assert job.args == (world.company_id, MARIA, "stop")
    assert await count(world, OptOutRow) == 0
    monkeypatch.undo()
    assert await campaign_jobs.campaign_check_reply(ctx, *job.args) == "opted out"
    assert await count(world, OptOutRow) == 1
