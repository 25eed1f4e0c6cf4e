"""Reactions end to end, on WAHA and on the Cloud API, from the contact and from the salesperson's phone:
a line "👍 to “…”" in the day's transcript, a badge on the message in the panel and the chat view; a removed
reaction disappears everywhere; a reaction to a message WaPipe does not have starts no chat."""

from __future__ import annotations

from typing import Any

import pytest

from server.storage.tables import Chat
from tests.chat_view.test_message_changes import (
    ASKED,
    MARIA,
    SESSION,
    Cloud,
    Waha,
    activities,
    chat_page,
    conversation,
    panel_page,
    phone,
    rewritten,
    world,
)
from tests.panel.world import PanelWorld

__all__ = ["world"]

MINE = '<span class="reaction" title="You">👍</span>'
HERS = '<span class="reaction" title="Maria">❤️</span>'


async def react(side: Waha | Cloud, to: str, emoji: str, *, from_phone: bool) -> None:
    if isinstance(side, Waha):
        side.waha.react(SESSION, side.ids[to], emoji, sender=None if from_phone else MARIA)
    else:
        reaction: dict[str, Any] = {"message_id": f"wamid.{to}"}
        if emoji:
            reaction["emoji"] = emoji
        await side._post({"id": side._id(), "type": "reaction", "reaction": reaction}, from_phone)


@pytest.mark.parametrize("transport", ["waha", "cloud"])
async def test_reactions_show_in_the_transcript_and_on_the_message_and_go_when_removed(
    world: PanelWorld, transport: str
) -> None:
    side, today = await conversation(world, transport)
    count = len(activities(world))
    await react(side, "ask", "👍", from_phone=True)
    await react(side, "answer", "❤️", from_phone=False)
    await world.settle()
    note = rewritten(world, today, count)
    assert f"→ <b>You</b>: 👍 to “{ASKED}”</p>" in note
    assert "← <b>Maria</b>: ❤️ to “Let me check &lt;with the boss&gt;”</p>" in note
    assert note.count(ASKED) == 2 and note.count("Let me check") == 2  # the lines they are on stay
    panel = await panel_page(world)
    assert MINE in panel and HERS in panel
    chat = await chat_page(world)
    assert MINE in chat and HERS in chat

    await react(side, "ask", "", from_phone=True)
    await world.settle()
    note = rewritten(world, today, count)
    assert "👍" not in note and "❤️ to" in note
    panel, chat = await panel_page(world), await chat_page(world)
    assert MINE not in panel and MINE not in chat
    assert "❤️</span>" in panel and "❤️</span>" in chat


@pytest.mark.parametrize("transport", ["waha", "cloud"])
async def test_a_reaction_to_a_message_wapipe_does_not_have_starts_nothing(
    world: PanelWorld, transport: str
) -> None:
    side = await phone(world, transport)
    await world.settle()
    assert world.pd is not None
    data = world.pd.company_data(world.anna.company_id)
    before = (len(await world.rows(Chat)), len(data.persons), len(data.deals), len(activities(world)))
    stranger = "4915799999999"
    if isinstance(side, Waha):  # a message of a chat WaPipe never saw (sent before the number was linked)
        session = side.waha.session(SESSION)
        reaction = {"text": "👍", "messageId": f"false_{stranger}@c.us_3EB0NEVERSTORED"}
        payload = {"id": f"false_{stranger}@c.us_3EB0R1", "timestamp": 1, "from": f"{stranger}@c.us"}
        side.waha.emit(session, "message.reaction", {**payload, "fromMe": False, "reaction": reaction})
    else:
        reaction = {"message_id": "wamid.unknown", "emoji": "👍"}
        await side._post({"id": "wamid.r1", "type": "reaction", "reaction": reaction}, False)
    await world.settle()
    after = (len(await world.rows(Chat)), len(data.persons), len(data.deals), len(activities(world)))
    assert after == before
