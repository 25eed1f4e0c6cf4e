"""An edit or deletion that came before its message (the message missed by webhooks) waits for it: when a
catch-up brings the message from WAHA's history, which shows it as first sent, the change is applied, so
the deleted text never reaches Pipedrive and the edit shows with its earlier text kept."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from sandbox.pipedrive.seed import seed_person
from server.domain.message_changes import ChangeKind, MessageChanged
from server.domain.whatsapp import HistoryBatch
from server.jobs.retention import apply_retention
from server.services.ingest import ingest_events
from server.storage.message_changes import earlier_versions
from tests.job_deps import deps_over, run_ctx
from tests.sync.catch_up import MORNING, catch_up, from_history
from tests.sync.world import SyncWorld


async def _waiting(world: SyncWorld) -> int:
    async with world.engine.connect() as connection:
        return int((await connection.execute(text("select count(*) from waiting_change"))).scalar() or 0)


async def test_a_deletion_before_its_message_keeps_the_text_out_of_pipedrive(world: SyncWorld) -> None:
    seed_person(world.pd, world.pd_company, "Maria Muster", phones=["+49 89 6364 8018"])
    deletion = MessageChanged(
        world.session, "WASECRET", False, ChangeKind.REVOKED, MORNING + timedelta(minutes=9)
    )
    for _ in range(3):  # the live delivery and its tries, while the message is nowhere yet
        outcome = await ingest_events([deletion], transport="waha", store=world.inbox)
        assert outcome.early_changes == [f"{world.session}/in/WASECRET"]
    assert await _waiting(world) == 1
    chat = await catch_up(
        world,
        from_history(world, "WAHELLO", "Guten Morgen", 0),
        from_history(world, "WASECRET", "my PIN is 4711", 1),
    )
    await world.sync(chat)
    [activity] = world.activities()
    note = activity["note"]
    assert "4711" not in note
    assert "09:01 ← <b>Maria</b>: <i>This message was deleted</i></p>" in note
    assert note.index("Guten Morgen") < note.index("This message was deleted")
    async with world.engine.connect() as connection:
        texts = (await connection.execute(text("select text from message"))).scalars().all()
    assert sorted(texts) == ["", "Guten Morgen"]
    assert await _waiting(world) == 0
    await _catch_up_again_changes_nothing(world, chat)


async def _catch_up_again_changes_nothing(world: SyncWorld, chat: int) -> None:
    before = dict(world.operations())
    batch = HistoryBatch(
        account_id=world.session,
        chat_key=None,
        messages=[from_history(world, "WASECRET", "my PIN is 4711", 1)],
    )
    outcome = await ingest_events([batch], transport="waha", store=world.inbox)
    assert outcome.new_messages == [] and outcome.duplicates == 1
    await world.sync(chat)
    assert world.operations() == before
    assert "4711" not in world.notes()


async def test_an_edit_before_its_message_shows_the_new_text_and_keeps_the_old(world: SyncWorld) -> None:
    seed_person(world.pd, world.pd_company, "Maria Muster", phones=["+49 89 6364 8018"])
    first = MessageChanged(
        world.session, "WAASK", False, ChangeKind.EDITED, MORNING + timedelta(minutes=3), text="10 % off?"
    )
    second = MessageChanged(
        world.session, "WAASK", False, ChangeKind.EDITED, MORNING + timedelta(minutes=4), text="15 % off?"
    )
    await ingest_events([second, first], transport="waha", store=world.inbox)  # in any order
    chat = await catch_up(world, from_history(world, "WAASK", "5 % off?", 2))
    await world.sync(chat)
    [activity] = world.activities()
    assert "09:02 ← <b>Maria</b>: 15 % off? <i>(edited)</i></p>" in activity["note"]
    assert "5 % off?" not in activity["note"].replace("15 % off?", "")
    async with world.engine.connect() as connection:
        history = (await connection.execute(text("select edit_history from message"))).scalar()
    assert [old for old, _ in earlier_versions(str(history))] == ["5 % off?", "10 % off?"]
    assert world.operations()["POST /api/v2/activities"] == 1


async def test_a_company_keeping_deleted_text_gets_it_from_thecatch_up(world: SyncWorld) -> None:
    await world.set_settings(keep_deleted_text=True)
    seed_person(world.pd, world.pd_company, "Maria Muster", phones=["+49 89 6364 8018"])
    deletion = MessageChanged(
        world.session, "WAASK", False, ChangeKind.REVOKED, MORNING + timedelta(minutes=9)
    )
    await ingest_events([deletion], transport="waha", store=world.inbox)
    chat = await catch_up(world, from_history(world, "WAASK", "Can you do 5 % off?", 1))
    await world.sync(chat)
    assert "<i>This message was deleted</i><br>Can you do 5 % off?</p>" in world.notes()


async def test_a_change_whose_message_never_comes_is_given_up_after_eight_days(world: SyncWorld) -> None:
    old = MessageChanged(world.session, "WAOLD", False, ChangeKind.EDITED, MORNING, text="x")
    await ingest_events([old], transport="waha", store=world.inbox)
    async with world.engine.begin() as connection:
        await connection.execute(
            text("update waiting_change set created_at = :at"),
            {"at": datetime.now(UTC) - timedelta(days=8, hours=1)},
        )
    recent = MessageChanged(world.session, "WANEW", False, ChangeKind.REVOKED, MORNING)
    await ingest_events([recent], transport="waha", store=world.inbox)
    async with world.engine.connect() as connection:
        keys = (await connection.execute(text("select message_key from waiting_change"))).scalars().all()
    assert keys == [f"{world.session}/in/WANEW"]


async def test_the_daily_retention_run_gives_up_changes_older_than_eight_days(world: SyncWorld) -> None:
    for wa_id in ("WAOLD", "WANEW"):
        change = MessageChanged(world.session, wa_id, False, ChangeKind.REVOKED, MORNING)
        await ingest_events([change], transport="waha", store=world.inbox)
    async with world.engine.begin() as connection:
        await connection.execute(
            text("update waiting_change set created_at = :at where message_key like '%WAOLD'"),
            {"at": datetime(2026, 3, 1, 12, 0, tzinfo=UTC)},
        )
        await connection.execute(
            text("update waiting_change set created_at = :at where message_key like '%WANEW'"),
            {"at": datetime(2026, 3, 2, 12, 0, tzinfo=UTC)},
        )
    await apply_retention(run_ctx(deps_over(world.engine)), now=datetime(2026, 3, 9, 12, 30, tzinfo=UTC))
    async with world.engine.connect() as connection:
        keys = (await connection.execute(text("select message_key from waiting_change"))).scalars().all()
    assert keys == [f"{world.session}/in/WANEW"]  # 7 days and 30 minutes old: still waiting


async def test_a_day_already_in_pipedrive_is_rewritten_once_with_the_deleted_line(world: SyncWorld) -> None:
    seed_person(world.pd, world.pd_company, "Maria Muster", phones=["+49 89 6364 8018"])
    chat = await catch_up(world, from_history(world, "WAHELLO", "Guten Morgen", 0))
    await world.sync(chat)
    [activity] = world.activities()
    before = Counter(world.operations())
    deletion = MessageChanged(
        world.session, "WASECRET", False, ChangeKind.REVOKED, MORNING + timedelta(minutes=9)
    )
    await ingest_events([deletion], transport="waha", store=world.inbox)
    await catch_up(world, from_history(world, "WASECRET", "my PIN is 4711", 1))
    await world.sync(chat)
    await world.sync(chat)
    [rewritten] = world.activities()
    assert rewritten["id"] == activity["id"]
    assert "09:01 ← <b>Maria</b>: <i>This message was deleted</i></p>" in rewritten["note"]
    assert "4711" not in rewritten["note"] and rewritten["note"].count("Guten Morgen") == 1
    assert Counter(world.operations()) - before == Counter({"PATCH /api/v2/activities/{id}": 1})
