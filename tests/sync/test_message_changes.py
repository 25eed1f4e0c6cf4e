"""Edits and deletions by the sender rewrite the day's activity once: the new line in place of the old,
no second activity, no line lost."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from sandbox.pipedrive.seed import seed_person
from server.domain.message_changes import ChangeKind, MessageChanged
from server.services.ingest import ingest_events
from tests.sync.world import SyncWorld

NUMBER = "+498963648018"
MORNING = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 09:00 in Berlin


async def _day_with_three_lines(world: SyncWorld) -> int:
    seed_person(world.pd, world.pd_company, "Maria Muster", phones=["+49 89 6364 8018"])
    chat = await world.message(NUMBER, "Guten Morgen", name="Maria", at=MORNING, message_id="WAFIRST")
    await world.message(NUMBER, "Can you do 5 % off?", at=MORNING + timedelta(minutes=1), message_id="WAASK")
    await world.message(NUMBER, "Bis bald", at=MORNING + timedelta(minutes=2), message_id="WALAST")
    await world.sync(chat)
    return chat


async def _change(world: SyncWorld, kind: ChangeKind, text: str | None = None, target: str = "WAASK") -> None:
    change = MessageChanged(world.session, target, False, kind, MORNING + timedelta(minutes=5), text=text)
    applied = await world.inbox.apply_change(world.account_id, change)
    assert applied is not None


def _writes(before: Counter[str], after: dict[str, int]) -> Counter[str]:
    return Counter(after) - before


async def test_an_edit_rewrites_the_days_activity_once_with_the_new_text(world: SyncWorld) -> None:
    chat = await _day_with_three_lines(world)
    [activity] = world.activities()
    before = Counter(world.operations())
    await _change(world, ChangeKind.EDITED, "Can you do 10 % off?")
    await _change(world, ChangeKind.EDITED, "Can you do 10 % off?")  # the same edit delivered twice
    await world.sync(chat)
    await world.sync(chat)
    [rewritten] = world.activities()
    assert rewritten["id"] == activity["id"]
    note = rewritten["note"]
    assert "09:01 ← <b>Maria</b>: Can you do 10 % off? <i>(edited)</i></p>" in note
    assert "5 % off" not in note
    assert note.count("Guten Morgen") == 1 and note.count("Bis bald") == 1
    writes = _writes(before, world.operations())
    assert writes == Counter({"PATCH /api/v2/activities/{id}": 1}), writes


async def test_a_deletion_shows_where_the_message_stood_and_its_text_is_gone(world: SyncWorld) -> None:
    chat = await _day_with_three_lines(world)
    await _change(world, ChangeKind.REVOKED)
    await world.sync(chat)
    [activity] = world.activities()
    note = activity["note"]
    assert "09:01 ← <b>Maria</b>: <i>This message was deleted</i></p>" in note
    assert "5 % off" not in note
    assert note.index("Guten Morgen") < note.index("This message was deleted") < note.index("Bis bald")
    async with world.engine.connect() as connection:
        stored = (await connection.execute(text("select text, edit_history from message"))).all()
    assert all("5 % off" not in row[0] and "5 % off" not in row[1] for row in stored)


async def test_an_edit_then_a_deletion_leaves_nothing_of_either_text(world: SyncWorld) -> None:
    chat = await _day_with_three_lines(world)
    await _change(world, ChangeKind.EDITED, "Can you do 10 % off?")
    await world.sync(chat)
    await _change(world, ChangeKind.REVOKED)
    await _change(world, ChangeKind.EDITED, "too late")  # a deleted message stays deleted
    await world.sync(chat)
    [activity] = world.activities()
    assert "% off" not in activity["note"] and "too late" not in activity["note"]
    assert "(edited)" not in activity["note"]


async def test_a_company_may_keep_the_deleted_text_in_pipedrive(world: SyncWorld) -> None:
    await world.set_settings(keep_deleted_text=True)
    chat = await _day_with_three_lines(world)
    await _change(world, ChangeKind.REVOKED)
    await world.sync(chat)
    [activity] = world.activities()
    assert "<i>This message was deleted</i><br>Can you do 5 % off?</p>" in activity["note"]


async def test_a_change_to_a_message_never_stored_changes_nothing(world: SyncWorld) -> None:
    await _day_with_three_lines(world)
    change = MessageChanged(world.session, "WANEVER", False, ChangeKind.EDITED, MORNING, text="x")
    assert await world.inbox.apply_change(world.account_id, change) is None
    mine = MessageChanged(world.session, "WAASK", True, ChangeKind.REVOKED, MORNING)  # ours: another key
    assert await world.inbox.apply_change(world.account_id, mine) is None


async def test_ingest_applies_an_edit_delivered_twice_once(world: SyncWorld) -> None:
    chat = await _day_with_three_lines(world)
    edit = MessageChanged(
        world.session, "WAASK", False, ChangeKind.EDITED, MORNING, text="Can you do 10 % off?"
    )
    unknown = MessageChanged(world.session, "WANEVER", False, ChangeKind.REVOKED, MORNING)
    outcome = await ingest_events([edit, edit, unknown], transport="waha", store=world.inbox)
    assert outcome.changed_messages == [(world.account_id, chat)]
    assert outcome.touched_chats == {(world.account_id, chat)}
    assert outcome.early_changes == [f"{world.session}/in/WANEVER"] and outcome.new_messages == []


async def test_a_deleted_attachment_is_kept_nowhere(world: SyncWorld, tmp_path: Path) -> None:
    seed_person(world.pd, world.pd_company, "Maria Muster", phones=["+49 89 6364 8018"])
    photo = b"\x89PNG private photo"
    chat = await world.message(
        NUMBER, "my ID card", at=MORNING, media=photo, filename="id.png", message_id="WAPIC"
    )
    await world.message(NUMBER, "same photo again", at=MORNING, media=photo, message_id="WATWIN")
    await world.sync(chat)
    stored = [p for p in (tmp_path / "media").rglob("*") if p.is_file() and p.read_bytes() == photo]
    assert len(stored) == 1  # stored once by its hash, for both messages
    first = MessageChanged(world.session, "WAPIC", False, ChangeKind.REVOKED, MORNING + timedelta(minutes=5))
    assert await world.inbox.apply_change(world.account_id, first) is not None
    assert stored[0].exists()  # the other message still has it
    second = MessageChanged(
        world.session, "WATWIN", False, ChangeKind.REVOKED, MORNING + timedelta(minutes=6)
    )
    assert await world.inbox.apply_change(world.account_id, second) is not None
    assert not stored[0].exists()
    async with world.engine.connect() as connection:
        assert (await connection.execute(text("select count(*) from message_media"))).scalar() == 0
        assert (await connection.execute(text("select count(*) from media"))).scalar() == 0
        kinds = (await connection.execute(text("select media_kind, media_filename from message"))).all()
    assert all(kind == "" and name == "" for kind, name in kinds)
    await world.sync(chat)
    [activity] = world.activities()
    assert "id.png" not in activity["note"] and "ID card" not in activity["note"]
