"""Catch-up and changes to messages, end to end over the WAHA sandbox: its history answers a message as
first sent (as GOWS does), so a catch-up cannot see an edit or a deletion; one whose webhook came before
the missed message is applied when the catch-up brings that message."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from server.jobs.inbound import catch_up_account
from server.settings import Settings
from server.storage.message_changes import earlier_versions
from tests.web.inbound_world import LINKED_NUMBER, SESSION, InboundWorld, inbound_world

CUSTOMER = "4917655501234"


@pytest.fixture
async def world(make_settings: Callable[..., Settings]) -> AsyncIterator[InboundWorld]:
    async with inbound_world(make_settings(public_url="http://wapipe.test")) as world:
        await world.resources.transports["waha"].connect(SESSION)
        await world.waha.elapse(2)
        world.waha.scan(SESSION, LINKED_NUMBER, "Anna Admin")
        await world.settle()
        yield world


async def _catch_up(world: InboundWorld) -> str:
    ctx = {**world.resources.queue.ctx, "job_try": 1}  # type: ignore[attr-defined]
    result: str = await catch_up_account(ctx, world.account.id, "watchdog")
    await world.settle()
    return result


async def _by_text(world: InboundWorld) -> dict[str, dict[str, Any]]:
    return {m["wa_message_id"].rsplit("_", 1)[-1]: m for m in await world.messages()}


async def test_history_answers_an_edited_or_deleted_message_as_first_sent(world: InboundWorld) -> None:
    edited = world.waha.receive(SESSION, CUSTOMER, "Can you do 5 % off?")
    deleted = world.waha.receive(SESSION, CUSTOMER, "my PIN is 4711")
    world.waha.edit_message(SESSION, edited.raw_id, "Can you do 10 % off?")
    world.waha.revoke_message(SESSION, deleted.raw_id)
    http = world.resources.transports["waha"].http  # type: ignore[attr-defined]
    answer = await http.get(
        f"/api/{SESSION}/chats/all/messages", params={"limit": 10, "downloadMedia": "false"}
    )
    listed = [(m["id"].rsplit("_", 1)[-1], m["body"]) for m in answer.json()]
    assert listed == [(deleted.raw_id, "my PIN is 4711"), (edited.raw_id, "Can you do 5 % off?")]
    assert all("editedMessageId" not in json.dumps(m) for m in answer.json())
    await world.settle()


async def test_a_catch_up_keeps_what_the_webhooks_already_changed(world: InboundWorld) -> None:
    edited = world.waha.receive(SESSION, CUSTOMER, "Can you do 5 % off?")
    deleted = world.waha.receive(SESSION, CUSTOMER, "my PIN is 4711")
    await world.settle()
    world.waha.edit_message(SESSION, edited.raw_id, "Can you do 10 % off?")
    world.waha.revoke_message(SESSION, deleted.raw_id)
    await world.settle()
    assert await _catch_up(world) == "0 new, 2 already stored"
    rows = await _by_text(world)
    assert (
        rows[edited.raw_id]["text"] == "Can you do 10 % off?" and rows[edited.raw_id]["edited_at"] is not None
    )
    assert rows[deleted.raw_id]["text"] == "" and rows[deleted.raw_id]["revoked_at"] is not None


async def test_a_change_to_a_missed_message_is_applied_when_the_catch_up_brings_it(
    world: InboundWorld,
) -> None:
    world.waha.faults(SESSION).silent = True  # the session looks fine but pushes nothing
    edited = world.waha.receive(SESSION, CUSTOMER, "Can you do 5 % off?")
    deleted = world.waha.receive(SESSION, CUSTOMER, "my PIN is 4711")
    await world.settle()
    world.waha.faults(SESSION).silent = False
    world.waha.edit_message(SESSION, edited.raw_id, "Can you do 10 % off?")
    world.waha.revoke_message(SESSION, deleted.raw_id)
    await world.settle()
    # The changes name messages WaPipe does not have. The catch-up brings them (the timer's, which may
    # run while the changes are tried again, or this one), and the waiting changes with them.
    assert all("4711" not in str(m["text"]) for m in await world.messages())
    assert await _catch_up(world) in ("2 new, 0 already stored", "0 new, 2 already stored")
    rows = await _by_text(world)
    assert rows[deleted.raw_id]["text"] == "" and rows[deleted.raw_id]["revoked_at"] is not None
    assert all("4711" not in str(value) for value in rows[deleted.raw_id].values())
    assert rows[edited.raw_id]["text"] == "Can you do 10 % off?"
    versions = earlier_versions(rows[edited.raw_id]["edit_history"])
    assert [old for old, _ in versions] == ["Can you do 5 % off?"]
    assert await _catch_up(world) == "0 new, 2 already stored"
    assert (await _by_text(world))[edited.raw_id]["text"] == "Can you do 10 % off?"
