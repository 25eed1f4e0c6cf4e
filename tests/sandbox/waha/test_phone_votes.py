"""The phone page votes on a poll: its state lists each poll's answers for the vote buttons (from the
phone, and as the contact in a direct chat), and its script casts the vote through `/_sim/{s}/vote`.
Chromium presses the buttons in tests/e2e/test_panel_kinds.py."""

from __future__ import annotations

import httpx

from tests.sandbox.waha.conftest import ANA


async def test_the_phone_page_knows_a_polls_answers_and_votes_through_the_vote_control(
    api: httpx.AsyncClient, linked: str
) -> None:
    poll = {"name": "Which day?", "options": ["Mon", "Tue", "Wed"], "multipleAnswers": True}
    asked = await api.post(f"/_sim/{linked}/inbound", json={"from": ANA, "kind": "poll", "poll": poll})
    assert asked.status_code == 201, asked.text
    await api.post(f"/_sim/{linked}/inbound", json={"from": ANA, "text": "Und?"})
    state = (await api.get(f"/_sim/phone/{linked}/state.json")).json()
    [chat] = [c for c in state["chats"] if c["id"] == f"{ANA}@c.us"]
    by_id = {m["id"]: m for m in chat["messages"]}
    assert by_id[asked.json()["id"]]["poll"] == {"options": ["Mon", "Tue", "Wed"], "multiple": True}
    assert [m["poll"] for m in chat["messages"] if m["body"] == "Und?"] == [None]

    script = (await api.get("/_sim/static/phone.js")).text
    for piece in ('"Vote from this phone"', '"Vote as the contact"', 'control + "/vote"'):
        assert piece in script, piece
