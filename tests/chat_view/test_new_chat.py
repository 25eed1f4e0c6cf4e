"""A new chat from the chat view over HTTP: only for a signed-in user with the page's CSRF token, only from
one of their company's numbers, refusals named with what was typed kept, one message for a double click,
and the answer opens the new chat."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from server.domain.whatsapp import Peer
from server.storage.inbox import SqlInboxStore
from tests.chat_view.test_chat_view import browser, chat_id_of, conversation, csrf, sign_in
from tests.panel.world import PanelWorld


async def test_a_new_chat_is_sent_from_the_companys_number_and_opened(world: PanelWorld) -> None:
    chat_id = await conversation(world, 1)
    async with browser(world) as client:
        assert (await client.post("/chats/new", data={"to": "+4915112340000"})).status_code == 401
        page = await sign_in(world, client, world.anna, chat_id)
        assert 'id="new-chat-box"' in page.text and '<option value="DE" selected>' in page.text
        token, ref = csrf(page.text)
        form = {"to": "0151 1234 0000", "region": "DE", "account_id": "1", "text": "Hallo", "client_ref": ref}
        missing = await client.post("/chats/new", data=form)
        assert missing.status_code == 403 and 'data-reason="csrf_missing"' in missing.text
        form["csrf_token"] = token
        grace = await client.post("/chats/new", data={**form, "account_id": "2"})  # another company's number
        assert grace.status_code == 400 and 'data-reason="unknown_from_number"' in grace.text
        assert 'value="0151 1234 0000"' in grace.text and ">Hallo</textarea>" in grace.text
        long = await client.post("/chats/new", data={**form, "text": "x" * 4097})
        assert long.status_code == 400 and 'data-reason="message_too_long"' in long.text
        assert await world.outbox() == []

        sent = await client.post("/chats/new", data=form)
        again = await client.post("/chats/new", data=form)  # a double click
        assert sent.status_code == again.status_code == 204
        new_id = await chat_id_of(world, "+4915112340000")
        assert sent.headers["HX-Redirect"] == again.headers["HX-Redirect"] == f"/chats/{new_id}"
        [row] = await world.outbox()
        assert (row["to_chat"], row["text"], row["account_id"]) == ("+4915112340000", "Hallo", 1)
        opened = await client.get(f"/chats/{new_id}")
        assert opened.status_code == 200 and re.search(
            r'<h1 id="chat-title">\+4915112340000</h1>', opened.text
        )


async def test_a_chat_with_no_message_yet_polls_from_the_start_and_shows_the_first_one(
    world: PanelWorld,
) -> None:
    assert world.waha is not None
    empty = await SqlInboxStore(world.resources.engine).upsert_chat(
        1, Peer("4915112340001@s.whatsapp.net", e164="+4915112340001"), datetime.now(UTC)
    )
    async with browser(world) as client:
        await sign_in(world, client, world.anna, empty)
        history = await client.get(f"/chats/{empty}/messages")
        assert "No messages in this chat yet." in history.text
        poll = history.text.split('id="newer" hx-get="')[1].split('"')[0].replace("&amp;", "&")
        assert re.fullmatch(rf"/chats/{empty}/messages\?after=0&seen=\d+", poll), poll
        assert (await client.get(poll)).status_code == 204  # nothing yet, and no refusal

        world.waha.receive("wp-acme-anna", "4915112340001", "Erste Nachricht", push_name="Neu")
        await world.settle()
        brought = await client.get(poll)
        assert brought.status_code == 200, brought.text
        assert re.search(r'<article class="bubble in" data-message-id="\d+">', brought.text), brought.text
        assert ">Erste Nachricht<" in brought.text
