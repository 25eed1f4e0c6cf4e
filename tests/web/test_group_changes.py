"""Reactions and edits in an imported group chat, end to end: the WAHA sandbox's webhooks (in WAHA's own
shapes) reach our route, ingest stores them, the sync writes the group's day activity in the Pipedrive
sandbox. A reaction names the member who reacted (by the name they wrote under, else by their number);
an edit rewrites the day's activity once, with the new text in place of the old."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from sandbox.pipedrive.state import SandboxState as PipedriveState
from sandbox.waha.message_changes import edit, react
from sandbox.waha.models import Group, Member
from sandbox.waha.state import SandboxState as WahaState
from server.settings import Settings
from tests.panel.world import PanelWorld, panel_world
from tests.settings_page.test_settings_page import save
from tests.world import to_next_noon_utc, world_settings_overrides

SESSION = "wp-acme-anna"  # Anna's linked number in the panel's world
GROUP = "120363041234567890@g.us"
JONAS, LEA, OLE = "4917611111111", "4917622222222", "4917633333333"  # Ole never writes, only reacts
PATCH = "PATCH /v2/activities/{id}"


def phone(world: PanelWorld) -> WahaState:
    assert world.waha is not None
    return world.waha


def pipedrive(world: PanelWorld) -> PipedriveState:
    assert world.pd is not None
    return world.pd


@pytest.fixture
async def world(make_settings: Callable[..., Settings]) -> AsyncIterator[PanelWorld]:
    async with panel_world(make_settings(**world_settings_overrides())) as world:
        assert (await save(world, import_groups="on")).status_code == 200
        members = [Member("", phone, None) for phone in (JONAS, LEA, OLE)]
        phone(world).session(SESSION).groups[GROUP] = Group(GROUP, "Team Nord", members)
        yield world


def group_activities(world: PanelWorld) -> list[dict[str, Any]]:
    data = pipedrive(world).data[world.anna.company_id]
    [team] = [p for p in data.persons.values() if p["name"] == "Team Nord"]
    return [
        a
        for a in data.activities.values()
        if not a["is_deleted"] and a["participants"][0]["person_id"] == team["id"]
    ]


def writes(world: PanelWorld) -> dict[str, int]:
    """Pipedrive API calls so far by operation."""
    return dict(pipedrive(world).limiter.usage_for(world.anna.company_id).per_operation)


async def group_day(world: PanelWorld) -> tuple[str, str]:
    """Jonas asks, Lea answers; the message ids on the phone."""
    asked = phone(world).receive(SESSION, JONAS, "Meeting Donnerstag?", group=GROUP, push_name="Jonas")
    world.clock.advance(60)  # the sandbox's clock follows: a minute later
    answered = phone(world).receive(SESSION, LEA, "Passt mir", group=GROUP, push_name="Lea")
    await world.settle()
    [activity] = group_activities(world)
    assert activity["subject"] == "WhatsApp chat with Team Nord"
    return asked.id, answered.id


async def test_a_reaction_in_a_group_names_the_member_who_reacted(world: PanelWorld) -> None:
    to_next_noon_utc(world.clock)  # the group's messages and reactions fall on one day in Berlin
    asked, answered = await group_day(world)
    session = phone(world).session(SESSION)
    world.clock.advance(60)
    react(phone(world), session, asked, "👍", sender=LEA)
    world.clock.advance(60)
    react(phone(world), session, answered, "❤️", sender=OLE)
    await world.settle()
    [activity] = group_activities(world)
    note = activity["note"]
    assert " ← <b>Lea</b>: 👍 to “Meeting Donnerstag?”</p>" in note
    assert " ← <b>+4917633333333</b>: ❤️ to “Passt mir”</p>" in note  # Ole wrote nothing: his number
    lines = note.split("</p>")
    assert [line.split(" ← ")[1] for line in lines if " ← " in line] == [
        "<b>Jonas</b>: Meeting Donnerstag?",
        "<b>Lea</b>: Passt mir",
        "<b>Lea</b>: 👍 to “Meeting Donnerstag?”",
        "<b>+4917633333333</b>: ❤️ to “Passt mir”",
    ]

    react(phone(world), session, asked, "", sender=LEA)  # Lea takes hers back
    await world.settle()
    [activity] = group_activities(world)
    assert "👍" not in activity["note"] and "❤️ to “Passt mir”" in activity["note"]


async def test_an_edit_in_a_group_rewrites_the_days_activity_once(world: PanelWorld) -> None:
    asked, _ = await group_day(world)
    [before] = group_activities(world)
    patches = writes(world).get(PATCH, 0)
    session = phone(world).session(SESSION)
    world.clock.advance(60)
    edit(phone(world), session, asked, "Meeting Freitag?")
    await world.settle()
    [after] = group_activities(world)
    assert after["id"] == before["id"]
    assert writes(world).get(PATCH, 0) - patches == 1
    note = after["note"]
    assert " ← <b>Jonas</b>: Meeting Freitag? <i>(edited)</i></p>" in note
    assert "Donnerstag" not in note and note.count("<b>Lea</b>: Passt mir</p>") == 1
    assert note.index("Meeting Freitag?") < note.index("Passt mir")  # in its place, not moved to the end

    edit(phone(world), session, asked, "Meeting Freitag?")  # the same edit again: nothing to rewrite
    await world.settle()
    assert writes(world).get(PATCH, 0) - patches == 1
