"""A message its sender deleted takes its file out of Pipedrive's Files too: once, again after a failure,
and only when the company does not keep deleted messages in Pipedrive."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from sandbox.pipedrive.seed import seed_person
from server.domain.errors import Permanent
from server.domain.message_changes import ChangeKind, MessageChanged
from server.pipedrive.sync_adapter import PipedriveCrm
from tests.sync.world import SyncWorld

NUMBER = "+498963648018"
MORNING = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
PHOTO = b"\x89PNG private photo"
DELETE = "DELETE /api/v1/files/{id}"


async def _photo_in_files(world: SyncWorld, *, twin: bool = False) -> tuple[int, int]:
    """A photo message (and, with ``twin``, a second message with the same photo) synced: the chat and
    the Pipedrive file id."""
    seed_person(world.pd, world.pd_company, "Maria Muster", phones=["+49 89 6364 8018"])
    chat = await world.message(
        NUMBER, "my ID card", at=MORNING, media=PHOTO, filename="id.png", message_id="WAPIC"
    )
    if twin:
        await world.message(NUMBER, "again", at=MORNING, media=PHOTO, filename="id.png", message_id="WATWIN")
    await world.sync(chat)
    [stored] = [f for f in world.data.files.values() if f.content == PHOTO]
    assert stored.record["active_flag"] is True and stored.record["name"] == "id.png"
    return chat, stored.record["id"]


async def _revoke(world: SyncWorld, message_id: str, minutes: int = 5) -> None:
    change = MessageChanged(
        world.session, message_id, False, ChangeKind.REVOKED, MORNING + timedelta(minutes=minutes)
    )
    assert await world.inbox.apply_change(world.account_id, change) is not None


def _active(world: SyncWorld, file_id: int) -> bool:
    return bool(world.data.files[file_id].record["active_flag"])


async def test_a_deleted_messages_file_is_deleted_from_pipedrive_once(world: SyncWorld) -> None:
    chat, file_id = await _photo_in_files(world)
    await _revoke(world, "WAPIC")
    await _revoke(world, "WAPIC", minutes=6)  # the deletion delivered again
    await world.sync(chat)
    await world.sync(chat)
    assert not _active(world, file_id)
    assert world.operations()[DELETE] == 1
    [activity] = world.activities()
    assert "id.png" not in activity["note"] and "This message was deleted" in activity["note"]


async def test_a_file_another_message_still_has_stays_until_that_one_is_deleted(world: SyncWorld) -> None:
    chat, file_id = await _photo_in_files(world, twin=True)
    await _revoke(world, "WAPIC")
    await world.sync(chat)
    assert _active(world, file_id)
    assert DELETE not in world.operations()
    await _revoke(world, "WATWIN", minutes=7)
    await world.sync(chat)
    assert not _active(world, file_id)
    assert world.operations()[DELETE] == 1


async def test_a_company_keeping_deleted_messages_keeps_the_file(world: SyncWorld) -> None:
    await world.set_settings(keep_deleted_text=True)
    chat, file_id = await _photo_in_files(world)
    await _revoke(world, "WAPIC")
    await world.sync(chat)
    assert _active(world, file_id)
    assert DELETE not in world.operations()
    [activity] = world.activities()
    assert "This message was deleted" in activity["note"]


async def test_a_failed_deletion_is_tried_again_and_done_once(
    world: SyncWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat, file_id = await _photo_in_files(world)
    original: Callable[[PipedriveCrm, int], Awaitable[None]] = PipedriveCrm.delete_file
    calls: list[int] = []

    async def failing_first(self: PipedriveCrm, file: int) -> None:
        calls.append(file)
        if len(calls) == 1:
            world.pd.limiter.faults.force_5xx = 1000  # Pipedrive answers 5xx to every try of this run
        else:
            world.pd.limiter.faults.force_5xx = 0
        await original(self, file)

    monkeypatch.setattr(PipedriveCrm, "delete_file", failing_first)
    await _revoke(world, "WAPIC")
    await world.sync(chat)
    assert calls == [file_id, file_id]
    assert not _active(world, file_id)
    await world.sync(chat)
    assert calls == [file_id, file_id]
    assert len(world.activities()) == 1


async def test_a_file_already_gone_from_pipedrive_is_done_without_a_problem(world: SyncWorld) -> None:
    chat, file_id = await _photo_in_files(world)
    world.data.files[file_id].record["active_flag"] = False  # a user deleted it in Pipedrive first
    await _revoke(world, "WAPIC")
    await world.sync(chat)
    await world.sync(chat)
    async with world.engine.connect() as connection:
        reasons = (await connection.execute(text("select reason from sync_problem"))).scalars().all()
        waiting = (await connection.execute(text("select count(*) from file_deletion"))).scalar()
    assert "file_not_deleted" not in reasons and waiting == 0


async def test_a_deletion_pipedrive_refuses_is_shown_to_the_admins(
    world: SyncWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat, file_id = await _photo_in_files(world)

    async def refused(self: PipedriveCrm, file: int) -> None:
        raise Permanent("You do not have permission to delete this file")

    monkeypatch.setattr(PipedriveCrm, "delete_file", refused)
    await _revoke(world, "WAPIC")
    await world.sync(chat)
    async with world.engine.connect() as connection:
        problems = (await connection.execute(text("select reason, chat_id, detail from sync_problem"))).all()
        waiting = (await connection.execute(text("select count(*) from file_deletion"))).scalar()
    [(_, chat_id, detail)] = [p for p in problems if p[0] == "file_not_deleted"]
    assert chat_id == chat and f"File {file_id}" in detail and NUMBER in detail
    assert "permission" in detail and waiting == 0
