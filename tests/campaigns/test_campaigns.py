"""Campaigns over real storage (SQLite and PostgreSQL): create, preview, start, the sending loop, pause,
resume, cancel, progress, exactly-once after a crash, and a run lost in a restart started again."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from server.domain.campaigns import (
    CampaignSource,
    CampaignStatus,
    Compose,
    FromMode,
    Pacing,
    RecipientStatus,
    SkipReason,
)
from server.domain.errors import InvalidInput, NotFound
from server.domain.message_templates import TemplateAttachment
from server.domain.ports.recipients import ListKind
from server.jobs.campaigns import campaign_tick, campaign_watchdog
from server.jobs.timing import JobTimings
from server.services.campaigns.tick import TickResult, tick
from server.storage.audit import SqlAuditLog
from server.storage.campaigns import SqlCampaignStore
from server.storage.tables import Outbox, table_of
from tests.campaigns.conftest import ANNA_NUMBER, CampaignWorld, person
from tests.job_deps import deps_over, run_ctx

SOURCE = CampaignSource(ListKind.PERSON, ids=(1, 2, 3, 4, 5, 6))
TEXT = "Hi {{person.first_name|there}}, this is {{me.name}}"


def seed(world: CampaignWorld) -> None:
    world.pipedrive.records.update(
        {
            1: person(1, "Maria Kunde", "+49 176 55501234"),
            2: person(2, "Otto Normal", "0176 5550 9999"),  # national: read in the sender's country
            3: person(3, "Ohne Telefon"),
            4: person(4, "Falsche Nummer", "+1 23"),
            5: person(5, "Maria Zweitname", "+4917655501234"),  # the same number as Maria
            6: person(6, "Paul Pause", "+4917655502222"),
        }
    )


def compose(world: CampaignWorld, **changes: Any) -> Compose:
    return replace(Compose(TEXT, FromMode.FIXED, (world.anna,)), **changes)


async def outbox_rows(world: CampaignWorld) -> list[dict[str, Any]]:
    table = table_of(Outbox)
    async with world.engine.connect() as connection:
        return [dict(r) for r in (await connection.execute(select(table).order_by(table.c.id))).mappings()]


async def run(world: CampaignWorld, campaign_id: int, **options: Any) -> TickResult:
    campaign = await world.store.by_id(campaign_id)
    assert campaign is not None
    return await tick(world.ports.tick_ports(), campaign_id, campaign.tick_seq, **options)


async def started(world: CampaignWorld, pacing: Pacing | None = None, **changes: Any) -> int:
    seed(world)
    campaign = await world.campaigns.create(world.company_id, 7, SOURCE, "December offer")
    await world.campaigns.start(
        world.company_id, 7, campaign.id, compose(world, **changes), pacing or Pacing.off()
    )
    return campaign.id


async def test_create_reads_pipedrive_once_and_refuses_nobody(world: CampaignWorld) -> None:
    seed(world)
    campaign = await world.campaigns.create(world.company_id, 7, SOURCE, "  December   offer ")
    assert campaign.name == "December offer"
    assert campaign.status is CampaignStatus.DRAFT
    assert world.pipedrive.reads == 1
    with pytest.raises(InvalidInput) as refused:
        await world.campaigns.create(world.company_id, 7, CampaignSource(ListKind.PERSON, ids=(99,)))
    assert refused.value.reason == "no_recipients"
    with pytest.raises(InvalidInput) as refused:
        await world.campaigns.create(world.company_id, 7, CampaignSource(ListKind.PERSON))
    assert refused.value.reason == "no_recipients"
    with pytest.raises(NotFound):
        await world.campaigns.create(world.company_id, 7, CampaignSource(ListKind.PERSON, filter_id=404))


async def test_the_preview_renders_the_first_recipients_and_counts_every_skip(world: CampaignWorld) -> None:
    seed(world)
    campaign = await world.campaigns.create(world.company_id, 7, SOURCE)
    preview = await world.campaigns.preview(world.company_id, 7, campaign.id, compose(world), show=3)
    assert preview.total == 6
    assert [row.name for row in preview.rows] == ["Maria Kunde", "Otto Normal", "Ohne Telefon"]
    maria, otto, nobody = preview.rows
    assert maria.text == "Hi Maria, this is wp-anna"
    assert maria.phone == "+4917655501234" and maria.from_number == ANNA_NUMBER and maria.skip is None
    assert otto.phone == "+4917655509999"
    assert nobody.skip is SkipReason.NO_PHONE
    assert preview.skipped == {
        SkipReason.NO_PHONE: 1,
        SkipReason.NUMBER_INVALID: 1,
        SkipReason.DUPLICATE: 1,
    }
    assert preview.will_send == 3


async def test_a_placeholder_without_value_or_fallback_is_shown_as_missing(world: CampaignWorld) -> None:
    seed(world)
    campaign = await world.campaigns.create(world.company_id, 7, SOURCE)
    preview = await world.campaigns.preview(
        world.company_id, 7, campaign.id, compose(world, text="Hi {{person.nickname}}"), show=1
    )
    assert preview.rows[0].missing == ("{{person.nickname}}",)


async def test_start_refuses_what_cannot_be_sent(world: CampaignWorld) -> None:
    seed(world)
    campaign = await world.campaigns.create(world.company_id, 7, SOURCE)
    for bad, reason in (
        (compose(world, text="  "), "empty_message"),
        (compose(world, account_ids=()), "no_from_number"),
        (compose(world, text="Hi {{person.first_name"), "template_syntax"),
    ):
        with pytest.raises(InvalidInput) as refused:
            await world.campaigns.start(world.company_id, 7, campaign.id, bad, Pacing())
        assert refused.value.reason == reason
    with pytest.raises(NotFound):
        await world.campaigns.start(
            world.company_id, 7, campaign.id, compose(world, account_ids=(999,)), Pacing()
        )
    with pytest.raises(NotFound):  # another company's campaign does not exist for this one
        await world.campaigns.start(world.other_company_id, 7, campaign.id, compose(world), Pacing())


async def test_a_run_queues_one_outbox_row_per_recipient_and_finishes(world: CampaignWorld) -> None:
    campaign_id = await started(world)
    [first] = world.queue.named("campaign_tick")
    assert first.job_id == f"campaign:{campaign_id}:1" and first.args == (campaign_id, 1)
    result = await run(world, campaign_id)
    assert result.queued == 3
    rows = await outbox_rows(world)
    recipients = {
        r.record.person_id: r.id for r in await world.store.recipients(world.company_id, campaign_id)
    }
    assert [(r["to_chat"], r["text"], r["client_ref"], r["person_id"]) for r in rows] == [
        ("+4917655501234", "Hi Maria, this is wp-anna", f"cmp{campaign_id}r{recipients[1]}", 1),
        ("+4917655509999", "Hi Otto, this is wp-anna", f"cmp{campaign_id}r{recipients[2]}", 2),
        ("+4917655502222", "Hi Paul, this is wp-anna", f"cmp{campaign_id}r{recipients[6]}", 6),
    ]
    assert {r["account_id"] for r in rows} == {world.anna}
    assert {r["requested_by"] for r in rows} == {7}
    assert [job.job_id for job in world.queue.named("send_outbox")] == [f"send:{r['id']}" for r in rows]
    assert result.next_at is not None  # waiting for the outbox
    for row in rows:
        await world.outbox.mark_sent(row["id"], f"wa-{row['id']}", f"key-{row['id']}")
    result = await run(world, campaign_id)
    assert result.finished
    campaign = await world.store.get(world.company_id, campaign_id)
    assert campaign is not None and campaign.status is CampaignStatus.FINISHED
    progress = await world.campaigns.progress(world.company_id, campaign_id)
    assert progress.counts == {RecipientStatus.SENT: 3, RecipientStatus.SKIPPED: 3}
    assert progress.done == 1.0


async def test_a_templates_attachment_goes_with_every_message(world: CampaignWorld) -> None:
    offer = TemplateAttachment(41, "offer.pdf")
    campaign_id = await started(world, template_id=3, attachment=offer)
    stored = await world.store.get(world.company_id, campaign_id)
    assert stored is not None and stored.compose is not None and stored.compose.attachment == offer
    await run(world, campaign_id)
    rows = await outbox_rows(world)
    assert [(r["person_id"], r["file_id"], r["file_name"]) for r in rows] == [
        (1, 41, "offer.pdf"),
        (2, 41, "offer.pdf"),
        (6, 41, "offer.pdf"),
    ]


async def test_running_twice_never_queues_a_recipient_twice(world: CampaignWorld) -> None:
    campaign_id = await started(world)
    await run(world, campaign_id)
    await run(world, campaign_id)
    assert len(await outbox_rows(world)) == 3


async def test_a_crash_between_the_outbox_row_and_the_recipient_leaves_one_row(world: CampaignWorld) -> None:
    campaign_id = await started(world)

    class Crashing(SqlCampaignStore):
        async def mark_queued(self, *args: Any) -> bool:
            raise RuntimeError("the worker died here")

    crashing = replace(world.ports.tick_ports(), store=Crashing(world.engine))
    with pytest.raises(RuntimeError):
        await tick(crashing, campaign_id, 1)
    assert len(await outbox_rows(world)) == 1  # the row exists; the recipient is still pending
    await run(world, campaign_id)
    rows = await outbox_rows(world)
    assert len(rows) == 3
    assert len({r["client_ref"] for r in rows}) == 3
    sends = [job.job_id for job in world.queue.named("send_outbox")]
    assert sorted(sends) == sorted(f"send:{r['id']}" for r in rows)  # the first row's job queued once


async def test_pacing_spaces_each_numbers_messages_by_the_gap(world: CampaignWorld) -> None:
    pacing = Pacing(min_gap_seconds=20, max_gap_seconds=60, quiet_start="00:00", quiet_end="00:00")
    campaign_id = await started(
        world, pacing, from_mode=FromMode.ROUND_ROBIN, account_ids=(world.anna, world.ben)
    )
    first = await run(world, campaign_id)
    assert first.queued == 2  # one per number, then both wait
    assert first.next_at is not None
    wait = (first.next_at - world.clock.now()).total_seconds()
    assert 10 < wait <= 60  # the gap, less the time the run took
    assert (await run(world, campaign_id)).queued == 0  # not yet
    world.clock.advance(61)
    assert (await run(world, campaign_id)).queued == 1  # the third recipient, Anna's turn again
    senders = [r["account_id"] for r in await outbox_rows(world)]
    assert senders == [world.anna, world.ben, world.anna]


async def test_after_its_last_message_a_campaign_waits_for_its_outbox_not_for_the_gap(
    world: CampaignWorld,
) -> None:
    pacing = Pacing(min_gap_seconds=3600, max_gap_seconds=3600, quiet_start="00:00", quiet_end="00:00")
    campaign_id = await started(world, pacing)
    for _ in range(2):
        assert (await run(world, campaign_id)).queued == 1
        world.clock.advance(3600)
    last = await run(world, campaign_id, poll=timedelta(seconds=30))
    assert last.queued == 1 and last.next_at is not None
    assert timedelta(seconds=25) < last.next_at - world.clock.now() <= timedelta(seconds=30)  # the poll
    for row in await outbox_rows(world):
        await world.outbox.mark_sent(row["id"], f"wa-{row['id']}", f"key-{row['id']}")
    world.clock.advance(30)
    assert (await run(world, campaign_id)).finished  # an hour before the next gap would have ended


async def test_the_daily_cap_stops_a_number_until_midnight_utc(world: CampaignWorld) -> None:
    pacing = replace(Pacing.off(), daily_cap=2)
    campaign_id = await started(world, pacing)
    result = await run(world, campaign_id)
    assert result.queued == 2
    now = world.clock.now()
    assert result.next_at == datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)


async def test_quiet_hours_hold_the_message_until_they_end_in_the_recipients_zone(
    world: CampaignWorld,
) -> None:
    now = world.clock.now()
    berlin_hour = (now + timedelta(hours=1)).hour  # December: Berlin is UTC+1
    start, end = f"{berlin_hour:02d}:00", f"{(berlin_hour + 2) % 24:02d}:00"
    pacing = replace(Pacing.off(), quiet_start=start, quiet_end=end)
    campaign_id = await started(world, pacing)
    result = await run(world, campaign_id)
    assert result.queued == 0
    assert result.next_at is not None
    assert timedelta(hours=1) < result.next_at - now <= timedelta(hours=2)


async def test_a_start_time_schedules_the_campaign(world: CampaignWorld) -> None:
    later = world.clock.now() + timedelta(hours=3)
    campaign_id = await started(world, replace(Pacing.off(), start_at=later))
    campaign = await world.store.get(world.company_id, campaign_id)
    assert campaign is not None and campaign.status is CampaignStatus.SCHEDULED
    [job] = world.queue.named("campaign_tick")
    assert job.defer_by is not None and abs(job.defer_by - timedelta(hours=3)) < timedelta(seconds=5)
    assert await run(world, campaign_id) == TickResult(later)
    world.clock.advance(3 * 3600 + 1)
    assert (await run(world, campaign_id)).queued == 3
    campaign = await world.store.get(world.company_id, campaign_id)
    assert campaign is not None and campaign.status is CampaignStatus.RUNNING


async def test_pause_stops_resume_continues_cancel_ends(world: CampaignWorld) -> None:
    pacing = Pacing(min_gap_seconds=30, max_gap_seconds=30, quiet_start="00:00", quiet_end="00:00")
    campaign_id = await started(world, pacing)
    assert (await run(world, campaign_id)).queued == 1
    paused = await world.campaigns.pause(world.company_id, 7, campaign_id)
    assert paused.status is CampaignStatus.PAUSED
    world.clock.advance(60)
    assert await run(world, campaign_id) == TickResult(None)
    with pytest.raises(InvalidInput) as refused:
        await world.campaigns.pause(world.company_id, 7, campaign_id)
    assert refused.value.reason == "campaign_not_running"
    resumed = await world.campaigns.resume(world.company_id, 7, campaign_id)
    assert resumed.status is CampaignStatus.RUNNING and resumed.tick_seq == 2
    assert world.queue.named("campaign_tick")[-1].job_id == f"campaign:{campaign_id}:2"
    assert (await run(world, campaign_id)).queued == 1
    cancelled = await world.campaigns.cancel(world.company_id, 7, campaign_id)
    assert cancelled.status is CampaignStatus.CANCELLED and cancelled.finished_at is not None
    world.clock.advance(60)
    assert await run(world, campaign_id) == TickResult(None)
    assert len(await outbox_rows(world)) == 2
    with pytest.raises(InvalidInput) as refused:
        await world.campaigns.resume(world.company_id, 7, campaign_id)
    assert refused.value.reason == "campaign_ended"
    actions = [e.action for e in reversed(await SqlAuditLog(world.engine).recent(world.company_id))]
    assert actions == [
        "campaign.create",
        "campaign.start",
        "campaign.pause",
        "campaign.resume",
        "campaign.cancel",
    ]


async def test_a_stale_run_does_nothing(world: CampaignWorld) -> None:
    campaign_id = await started(world)
    assert await tick(world.ports.tick_ports(), campaign_id, 0) == TickResult(None)
    assert await outbox_rows(world) == []


async def test_the_tick_job_hands_over_to_the_next_run(world: CampaignWorld) -> None:
    pacing = Pacing(min_gap_seconds=30, max_gap_seconds=30, quiet_start="00:00", quiet_end="00:00")
    campaign_id = await started(world, pacing)
    ctx = run_ctx(deps_over(world.engine, queue=world.queue, clock=world.clock))
    summary = await campaign_tick(ctx, campaign_id, 1)
    assert summary.startswith("1 queued, next at")
    last = world.queue.named("campaign_tick")[-1]
    assert last.job_id == f"campaign:{campaign_id}:2" and last.args == (campaign_id, 2)
    assert last.defer_by is not None and timedelta(seconds=20) < last.defer_by <= timedelta(seconds=30)
    progress = await world.campaigns.progress(world.company_id, campaign_id)
    assert progress.next_send_at is not None
    assert timedelta(seconds=20) < progress.next_send_at - world.clock.now() <= timedelta(seconds=30)
    assert [row.name for row in progress.recent] == ["Maria Kunde"]
    assert await campaign_tick(ctx, campaign_id, 1) == "0 queued, stopped"  # the old run, again: stale


async def test_after_a_restart_the_watchdog_starts_a_lost_run_again(world: CampaignWorld) -> None:
    pacing = Pacing(min_gap_seconds=30, max_gap_seconds=30, quiet_start="00:00", quiet_end="00:00")
    campaign_id = await started(world, pacing)
    timings = JobTimings(campaign_stale=timedelta(minutes=3))
    ctx = run_ctx(deps_over(world.engine, queue=world.queue, clock=world.clock, timings=timings))
    assert await campaign_watchdog(ctx) == "0 restarted"  # its run is not overdue yet
    world.queue.jobs.clear()  # the queue lost everything in the restart
    world.clock.advance(4 * 60)
    assert await campaign_watchdog(ctx) == "1 restarted"
    [job] = world.queue.named("campaign_tick")
    assert job.job_id == f"campaign:{campaign_id}:2"
    assert await campaign_watchdog(ctx) == "0 restarted"
    await campaign_tick(ctx, campaign_id, 2)
    await campaign_tick(ctx, campaign_id, 1)  # the lost run turns up after all: it does nothing
    table = table_of(Outbox)
    async with world.engine.connect() as connection:
        assert (await connection.execute(select(func.count()).select_from(table))).scalar_one() == 1


async def test_opted_out_since_the_start_are_skipped_when_their_turn_comes(world: CampaignWorld) -> None:
    campaign_id = await started(world)
    await world.ports.opt_outs.record(world.company_id, "+4917655509999", 2, "STOP", world.clock.now())
    await run(world, campaign_id)
    assert [r["to_chat"] for r in await outbox_rows(world)] == ["+4917655501234", "+4917655502222"]
    progress = await world.campaigns.progress(world.company_id, campaign_id)
    assert progress.skipped_by_reason[SkipReason.OPTED_OUT] == 1


async def test_a_later_campaign_skips_the_opted_out_and_excluded(world: CampaignWorld) -> None:
    seed(world)
    await world.ports.opt_outs.record(world.company_id, "+4917655509999", None, "STOP", world.clock.now())
    world.excluded.add("+4917655502222")
    campaign = await world.campaigns.create(world.company_id, 7, SOURCE)
    preview = await world.campaigns.preview(world.company_id, 7, campaign.id, compose(world), show=6)
    skips = {row.name: row.skip for row in preview.rows}
    assert skips["Otto Normal"] is SkipReason.OPTED_OUT
    assert skips["Paul Pause"] is SkipReason.EXCLUDED_NUMBER
    with pytest.raises(NotFound):  # another company's preview of this campaign
        await world.campaigns.preview(world.other_company_id, 7, campaign.id, compose(world))


async def test_the_list_shows_each_campaign_with_its_counts(world: CampaignWorld) -> None:
    campaign_id = await started(world)
    [summary] = await world.campaigns.list(world.company_id)
    assert summary.id == campaign_id and summary.name == "December offer"
    assert summary.counts == {RecipientStatus.PENDING: 3, RecipientStatus.SKIPPED: 3}
    assert await world.campaigns.list(world.other_company_id) == []


async def test_a_disconnected_number_cannot_start_a_campaign_and_one_that_drops_makes_it_wait(
    world: CampaignWorld,
) -> None:
    accounts = world.ports.accounts
    seed(world)
    campaign = await world.campaigns.create(world.company_id, 7, SOURCE)
    await accounts.set_status(world.anna, "stopped")  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput) as refused:
        await world.campaigns.start(world.company_id, 7, campaign.id, compose(world), Pacing.off())
    assert refused.value.reason == "from_disconnected"
    await accounts.set_status(world.anna, "connected")  # type: ignore[attr-defined]
    await world.campaigns.start(world.company_id, 7, campaign.id, compose(world), Pacing.off())
    await accounts.set_status(world.anna, "stopped")  # type: ignore[attr-defined]
    result = await run(world, campaign.id, poll=timedelta(seconds=30))
    assert result.queued == 0 and result.next_at is not None  # the campaign waits for the number
    assert timedelta(seconds=25) < result.next_at - world.clock.now() <= timedelta(seconds=30)
    await accounts.set_status(world.anna, "connected")  # type: ignore[attr-defined]
    assert (await run(world, campaign.id)).queued == 3


async def test_a_pause_during_a_run_stops_it_before_the_next_number(world: CampaignWorld) -> None:
    campaign_id = await started(world, from_mode=FromMode.ROUND_ROBIN, account_ids=(world.anna, world.ben))

    class PausingOnSend(SqlCampaignStore):
        async def mark_queued(self, company_id: int, recipient_id: int, outbox_id: int, at: datetime) -> bool:
            queued = await super().mark_queued(company_id, recipient_id, outbox_id, at)
            await world.campaigns.pause(world.company_id, 7, campaign_id)
            return queued

    pausing = replace(world.ports.tick_ports(), store=PausingOnSend(world.engine))
    result = await tick(pausing, campaign_id, 1, batch=1)
    assert result == TickResult(None, 1)
    assert len(await outbox_rows(world)) == 1


async def test_a_pause_mid_run_stops_the_number_after_the_message_in_flight(world: CampaignWorld) -> None:
    """No gap between messages, so one run would queue a number's next 50: a pause between two of them
    leaves every later recipient waiting."""
    numbers = [f"+4917655503{i:03d}" for i in range(12)]
    world.pipedrive.records.update({i: person(i, f"Kunde{i} Test", n) for i, n in enumerate(numbers, 1)})
    source = CampaignSource(ListKind.PERSON, ids=tuple(range(1, 13)))
    campaign = await world.campaigns.create(world.company_id, 7, source)
    await world.campaigns.start(world.company_id, 7, campaign.id, compose(world), Pacing.off())

    class PausedAfterTheSecond(SqlCampaignStore):
        async def mark_queued(self, company_id: int, recipient_id: int, outbox_id: int, at: datetime) -> bool:
            queued = await super().mark_queued(company_id, recipient_id, outbox_id, at)
            if len(world.queue.named("send_outbox")) == 2:  # the person presses Pause now
                await world.campaigns.pause(world.company_id, 7, campaign.id)
            return queued

    pausing = replace(world.ports.tick_ports(), store=PausedAfterTheSecond(world.engine))
    assert await tick(pausing, campaign.id, 1) == TickResult(None, 2)
    assert [r["to_chat"] for r in await outbox_rows(world)] == numbers[:2]
    progress = await world.campaigns.progress(world.company_id, campaign.id)
    assert progress.counts == {RecipientStatus.QUEUED: 2, RecipientStatus.PENDING: 10}
