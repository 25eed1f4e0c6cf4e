"""Stop words from chats WhatsApp names only by a LID (``<n>@lid``, no number known): recorded by the number
behind the LID as soon as WaPipe knows it (its chats, else the gateway), kept waiting until then, never
lost; and never from a group or from us. Over real storage (SQLite and PostgreSQL), a fake gateway."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from arq.worker import Retry
from sqlalchemy import select

import server.jobs.waiting_opt_outs as lid_jobs
from server.domain.campaigns import CampaignSource, Compose, Pacing
from server.domain.errors import GatewayUnavailable, StorageBusy
from server.domain.jids import phone_chat_key
from server.domain.ports.recipients import ListKind
from server.domain.stop_words import LidReply
from server.domain.whatsapp import InboundMessage, MessageReceived, Peer
from server.jobs.deps import JobDeps
from server.jobs.timing import JobTimings
from server.services.campaigns.opt_out import MARK_JOB
from server.services.ingest import ingest_events
from server.storage.accounts import SqlAccountStore
from server.storage.opt_outs import SqlOptOutStore
from server.storage.tables import table_of
from server.storage.tables_campaigns import OptOutRow, WaitingOptOutRow
from server.whatsapp.waha import WAHA_CAPABILITIES
from tests.campaigns.conftest import CampaignWorld, count, person
from tests.job_deps import deps_over, run_ctx

MARIA = "+4917655501234"
LID = "254000825925805@lid"
RETRY_BASE = 2.0  # production's first retry (JobTimings().retry_base), in seconds
RECHECK = timedelta(hours=1)  # production's re-check of a waiting opt-out's gateway


class LidGateway:
    """A WAHA-like gateway that knows the numbers behind some LIDs, or fails for now."""

    def __init__(self) -> None:
        self.numbers: dict[tuple[str, str], str] = {}  # (session, LID) → E.164
        self.asked: list[tuple[str, str]] = []
        self.down = False
        self.capabilities = WAHA_CAPABILITIES  # a WAHA gateway's, as the fakes stand in for one

    async def resolve_lid(self, account_id: str, lid: str) -> Peer:
        self.asked.append((account_id, lid))
        if self.down:
            raise GatewayUnavailable("WAHA answered 503")
        e164 = self.numbers.get((account_id, lid))
        return Peer(chat_key=lid, e164=e164, lid=lid)


def deps_of(world: CampaignWorld, gateway: LidGateway) -> JobDeps:
    return deps_over(
        world.engine, queue=world.queue, clock=world.clock, transports={"waha": gateway}, timings=JobTimings()
    )


def a_reply(world: CampaignWorld, text: str = "Stop!") -> LidReply:
    sent_at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    return LidReply(world.company_id, world.anna, LID, text, sent_at)


async def opt_out_rows(world: CampaignWorld) -> list[tuple[int, str, int | None, str, datetime]]:
    table = table_of(OptOutRow)
    async with world.engine.connect() as connection:
        rows = await connection.execute(
            select(table.c.company_id, table.c.e164, table.c.person_id, table.c.word, table.c.at)
        )
        return [(c, e, p, w, at.astimezone(UTC)) for c, e, p, w, at in rows.all()]


async def maria_is_a_recipient(world: CampaignWorld) -> None:
    """Maria (Person 1) got a campaign message: WaPipe knows her number's Person."""
    world.pipedrive.records[1] = person(1, "Maria Kunde", MARIA)
    campaign = await world.campaigns.create(world.company_id, 7, CampaignSource(ListKind.PERSON, ids=(1,)))
    compose = Compose("Hi", account_ids=(world.anna,))
    await world.campaigns.start(world.company_id, 7, campaign.id, compose, Pacing.off())


async def test_a_stop_from_a_lid_whose_number_a_chat_knows_opts_the_number_out_at_once(
    world: CampaignWorld,
) -> None:
    gateway = LidGateway()
    at = world.clock.now()
    await world.inbox.upsert_chat(world.ben, Peer(phone_chat_key(MARIA), e164=MARIA, lid=LID), at)  # learnt
    reply = a_reply(world)
    await lid_jobs.note_lid_replies(run_ctx(deps_of(world, gateway)), [reply])
    assert await opt_out_rows(world) == [(world.company_id, MARIA, None, "STOP", reply.at)]
    assert world.queue.named(lid_jobs.CHECK_LID_REPLY_JOB) == []
    assert await count(world, WaitingOptOutRow) == 0
    assert gateway.asked == []  # the company's own chats knew it (on its other number)


async def test_an_unknown_lid_waits_asks_the_gateway_with_backoff_and_is_recorded_once_it_answers(
    world: CampaignWorld, caplog: pytest.LogCaptureFixture
) -> None:
    await maria_is_a_recipient(world)
    gateway = LidGateway()
    deps = deps_of(world, gateway)
    reply = a_reply(world, "stop")
    await lid_jobs.note_lid_replies(run_ctx(deps), [reply])
    assert gateway.asked == []  # the inbound job does not wait for the gateway
    assert await count(world, WaitingOptOutRow) == 1  # kept at once: a lost job loses nothing
    [job] = world.queue.named(lid_jobs.CHECK_LID_REPLY_JOB)
    assert job.args == (world.company_id, world.anna, LID, "stop", "2026-12-01T09:30:00+00:00")

    for job_try in range(1, lid_jobs.LID_ASKS):
        with pytest.raises(Retry) as retry:
            await lid_jobs.campaign_check_lid_reply(run_ctx(deps, job_try=job_try), *job.args)
        first = RETRY_BASE * 2 ** (job_try - 1)  # 2, 4, 8, 16, 32 s, with at most a quarter of jitter
        assert first * 1000 <= (retry.value.defer_score or 0) <= first * 1.25 * 1000
    with caplog.at_level(logging.WARNING):
        last = await lid_jobs.campaign_check_lid_reply(run_ctx(deps, job_try=lid_jobs.LID_ASKS), *job.args)
    assert last == "waiting for its number"
    assert "opt_out_waiting_for_number" in caplog.text
    assert gateway.asked == [("wp-anna", LID)] * lid_jobs.LID_ASKS
    assert await opt_out_rows(world) == [] and await count(world, WaitingOptOutRow) == 1

    gateway.numbers[("wp-anna", LID)] = MARIA  # the gateway learns the number later
    settle = run_ctx(deps)
    world.clock.advance((RECHECK - timedelta(minutes=2)).total_seconds())
    assert await lid_jobs.settle_waiting_opt_outs(settle) == "0 recorded"  # not due to be asked yet
    assert len(gateway.asked) == lid_jobs.LID_ASKS
    world.clock.advance(timedelta(minutes=3).total_seconds())
    assert await lid_jobs.settle_waiting_opt_outs(settle) == "1 recorded"
    assert await opt_out_rows(world) == [(world.company_id, MARIA, 1, "STOP", reply.at)]
    assert await count(world, WaitingOptOutRow) == 0
    [mark] = world.queue.named(MARK_JOB)
    assert mark.args == (world.company_id, 1, "2026-12-01")  # the day Maria sent it
    assert await lid_jobs.settle_waiting_opt_outs(settle) == "0 recorded"


async def test_a_gateway_that_never_knows_is_asked_again_every_recheck_and_the_opt_out_stays(
    world: CampaignWorld,
) -> None:
    gateway = LidGateway()
    deps = deps_of(world, gateway)
    await lid_jobs.note_lid_replies(run_ctx(deps), [a_reply(world)])
    for _ in range(3):
        world.clock.advance(RECHECK.total_seconds())
        assert await lid_jobs.settle_waiting_opt_outs(run_ctx(deps)) == "0 recorded"
    gateway.down = True  # a failing gateway is asked again at the next re-check, nothing else
    world.clock.advance(RECHECK.total_seconds())
    assert await lid_jobs.settle_waiting_opt_outs(run_ctx(deps)) == "0 recorded"
    assert len(gateway.asked) == 4
    assert await count(world, WaitingOptOutRow) == 1


async def test_a_number_learnt_in_the_chats_settles_a_waiting_opt_out_without_asking_the_gateway(
    world: CampaignWorld,
) -> None:
    gateway = LidGateway()
    deps = deps_of(world, gateway)
    reply = a_reply(world, "UNSUBSCRIBE")
    await lid_jobs.note_lid_replies(run_ctx(deps), [reply])
    assert await lid_jobs.settle_waiting_opt_outs(run_ctx(deps)) == "0 recorded"
    chat = Peer(LID, lid=LID)
    await world.inbox.upsert_chat(world.anna, chat, reply.at)  # the LID chat the reply came in
    await world.inbox.learn_identity(world.anna, LID, phone_chat_key(MARIA), MARIA)  # a later webhook's
    assert await lid_jobs.settle_waiting_opt_outs(run_ctx(deps)) == "1 recorded"
    assert await opt_out_rows(world) == [(world.company_id, MARIA, None, "UNSUBSCRIBE", reply.at)]
    assert gateway.asked == []


async def test_another_companys_chats_and_numbers_never_settle_a_waiting_opt_out(
    world: CampaignWorld,
) -> None:
    accounts = SqlAccountStore(world.engine)
    theirs = await accounts.create(
        company_id=world.other_company_id, owner_user_id=9, transport="waha", session_name="wp-globex"
    )
    their_peer = Peer(phone_chat_key("+14155550132"), e164="+14155550132", lid=LID)
    await world.inbox.upsert_chat(theirs.id, their_peer, world.clock.now())  # they know the LID's number
    gateway = LidGateway()
    gateway.numbers[("wp-globex", LID)] = "+14155550132"
    deps = deps_of(world, gateway)
    await lid_jobs.note_lid_replies(run_ctx(deps), [a_reply(world)])
    world.clock.advance(RECHECK.total_seconds())
    assert await lid_jobs.settle_waiting_opt_outs(run_ctx(deps)) == "0 recorded"
    assert await opt_out_rows(world) == [] and await count(world, WaitingOptOutRow) == 1
    # Our company's id with their number: the job does not ask their gateway for us.
    reply = LidReply(world.company_id, theirs.id, "999@lid", "STOP", world.clock.now())
    outcome = await lid_jobs.campaign_check_lid_reply(
        run_ctx(deps, job_try=lid_jobs.LID_ASKS), *_job_args(reply)
    )
    assert outcome == "waiting for its number"
    assert ("wp-globex", "999@lid") not in gateway.asked
    assert (await SqlOptOutStore(world.engine).opt_outs(world.other_company_id)).numbers == frozenset()


async def test_a_reply_that_is_no_stop_word_keeps_nothing_and_queues_nothing(world: CampaignWorld) -> None:
    gateway = LidGateway()
    await lid_jobs.note_lid_replies(run_ctx(deps_of(world, gateway)), [a_reply(world, "thanks, see you")])
    assert world.queue.jobs == [] and gateway.asked == []
    assert await count(world, WaitingOptOutRow) == 0


async def test_a_gateway_failing_for_now_retries_the_job_and_keeps_the_stop_word(
    world: CampaignWorld,
) -> None:
    gateway = LidGateway()
    gateway.down = True
    deps = deps_of(world, gateway)
    with pytest.raises(Retry):
        await lid_jobs.campaign_check_lid_reply(run_ctx(deps, job_try=1), *_job_args(a_reply(world)))
    assert await count(world, WaitingOptOutRow) == 1
    gateway.down = False
    gateway.numbers[("wp-anna", LID)] = MARIA
    outcome = await lid_jobs.campaign_check_lid_reply(run_ctx(deps, job_try=2), *_job_args(a_reply(world)))
    assert outcome == "opted out"
    assert await count(world, WaitingOptOutRow) == 0 and len(await opt_out_rows(world)) == 1


async def test_a_lid_reply_that_cannot_be_checked_now_is_left_whole_to_its_job(
    world: CampaignWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway = LidGateway()
    gateway.numbers[("wp-anna", LID)] = MARIA
    deps = deps_of(world, gateway)

    async def busy(*args: object, **options: object) -> None:
        raise StorageBusy("database is locked")

    monkeypatch.setattr(lid_jobs, "note_lid_reply", busy)
    await lid_jobs.note_lid_replies(run_ctx(deps), [a_reply(world)])  # does not raise
    monkeypatch.undo()
    [job] = world.queue.named(lid_jobs.CHECK_LID_REPLY_JOB)
    assert await lid_jobs.campaign_check_lid_reply(run_ctx(deps), *job.args) == "opted out"
    assert [row[1] for row in await opt_out_rows(world)] == [MARIA]


def _job_args(reply: LidReply) -> tuple[Any, ...]:
    return (reply.company_id, reply.account_id, reply.lid, reply.text, reply.at.isoformat())


async def test_ingest_reports_short_replies_by_number_or_lid_and_never_from_a_group_or_from_us(
    world: CampaignWorld,
) -> None:
    at = world.clock.now()
    maria = Peer(phone_chat_key(MARIA), e164=MARIA)
    hidden = Peer(LID, lid=LID)
    group = Peer("120363000000000001@g.us", is_group=True)

    def message(wa_id: str, chat: Peer, sender: Peer, text: str, *, from_me: bool = False) -> MessageReceived:
        return MessageReceived(InboundMessage("wp-anna", wa_id, chat, sender, from_me, at, text=text))

    events = [
        message("m1", maria, maria, " STOP "),
        message("m2", hidden, hidden, "Stop"),
        message("m3", group, maria, "STOP"),  # said to the group: not a reply to our one-to-one message
        message("m4", group, hidden, "STOP"),
        message("m5", hidden, hidden, "STOP", from_me=True),  # ours, typed on the phone
        message("m6", hidden, hidden, "x" * 161),  # longer than any stop word can be
    ]
    outcome = await ingest_events(events, transport="waha", store=world.inbox)
    assert outcome.short_replies == [(world.company_id, MARIA, "STOP")]
    assert outcome.lid_replies == [LidReply(world.company_id, world.anna, LID, "Stop", at)]
    again = await ingest_events(events, transport="waha", store=world.inbox)  # a redelivery: nothing new
    assert again.short_replies == [] and again.lid_replies == []
