"""Replies end to end, on WAHA and on the Cloud API, from the contact and from the salesperson's phone: each
carries a short quote of the message it answers in the Pipedrive transcript, the panel and the chat view;
the quote follows the answered message when its sender deletes it."""

from __future__ import annotations

import pytest

from tests.chat_view.test_message_changes import (
    ASKED,
    MARIA,
    SESSION,
    Cloud,
    Waha,
    activities,
    chat_page,
    panel_page,
    phone,
    world,
)
from tests.panel.world import PanelWorld

__all__ = ["world"]

ANSWER = "Yes, for you <3"


async def reply(side: Waha | Cloud, name: str, text: str, to: str, *, from_phone: bool) -> None:
    if isinstance(side, Waha):
        if from_phone:
            message = side.waha.type_on_phone(SESSION, f"{MARIA}@c.us", text, reply_to=side.ids[to])
        else:
            message = side.waha.receive(SESSION, MARIA, text, push_name="Maria", reply_to=side.ids[to])
        side.ids[name] = message.raw_id
    else:
        message = {"id": f"wamid.{name}", "type": "text", "text": {"body": text}}
        await side._post({**message, "context": {"from": MARIA, "id": f"wamid.{to}"}}, from_phone)


@pytest.mark.parametrize("transport", ["waha", "cloud"])
async def test_a_reply_carries_a_quote_of_the_message_it_answers_everywhere(
    world: PanelWorld, transport: str
) -> None:
    side = await phone(world, transport)
    await side.say("ask", ASKED, from_phone=False)
    await reply(side, "answer", ANSWER, "ask", from_phone=True)
    await reply(side, "thanks", "Great, thanks!", "answer", from_phone=False)
    await world.settle()
    [note] = [a["note"] for a in activities(world) if "Great, thanks!" in a["note"]]
    assert f"→ <b>You</b>: <i>↪ “{ASKED}”</i><br>Yes, for you &lt;3</p>" in note
    assert "← <b>Maria</b>: <i>↪ “Yes, for you &lt;3”</i><br>Great, thanks!</p>" in note
    panel = await panel_page(world)
    assert f'<blockquote class="quote" dir="auto">↪ {ASKED}</blockquote>' in panel
    assert '<blockquote class="quote" dir="auto">↪ Yes, for you &lt;3</blockquote>' in panel
    chat = await chat_page(world)
    assert f'<blockquote class="quote">↪ {ASKED}</blockquote>' in chat
    assert '<blockquote class="quote">↪ Yes, for you &lt;3</blockquote>' in chat

    await side.delete("ask", from_phone=False)
    await world.settle()
    [note] = [a["note"] for a in activities(world) if "Great, thanks!" in a["note"]]
    assert "→ <b>You</b>: <i>↪ “This message was deleted”</i><br>Yes, for you &lt;3</p>" in note
    assert "% off" not in note
    panel, chat = await panel_page(world), await chat_page(world)
    assert '<blockquote class="quote" dir="auto">↪ This message was deleted</blockquote>' in panel
    assert '<blockquote class="quote">↪ This message was deleted</blockquote>' in chat
    assert "% off" not in panel and "% off" not in chat


@pytest.mark.parametrize("transport", ["waha", "cloud"])
async def test_a_reply_to_a_message_wapipe_never_saw_quotes_what_the_transport_says(
    world: PanelWorld, transport: str
) -> None:
    side = await phone(world, transport)
    if isinstance(side, Waha):  # the gateway has the old message; WaPipe does not (before it was linked)
        assert world.waha is not None
        old = side.waha.receive(SESSION, MARIA, "The old offer, from last year", push_name="Maria")
        side.ids["old"] = old.raw_id
        world.waha.events.clear()
        quoted = "↪ The old offer, from last year"
    else:  # the Cloud API names the answered message by its id only
        quoted = "↪ an earlier message"
    await world.settle()
    await reply(side, "late", "Is it still valid?", "old", from_phone=False)
    await world.settle()
    [note] = [a["note"] for a in activities(world) if "Is it still valid?" in a["note"]]
    assert f"← <b>Maria</b>: <i>{quoted.replace('↪ ', '↪ “')}”</i><br>Is it still valid?</p>" in note
    assert f'<blockquote class="quote" dir="auto">{quoted}</blockquote>' in await panel_page(world)
    assert f'<blockquote class="quote">{quoted}</blockquote>' in await chat_page(world)
