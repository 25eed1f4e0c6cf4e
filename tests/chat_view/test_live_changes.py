"""The open chat view's poll over HTTP: besides the messages stored after its newest, it brings back each
message it shows that changed after the revision it has seen (an edit, a reaction, a tick, a deletion) as an
out-of-band swap of that bubble, once; the first message the page shows bounds what comes back; bad input
is refused with a named reason; another company's user gets nothing.

Expected markup is written out here; revisions are counted by hand (one per change applied)."""

from __future__ import annotations

import re

from tests.chat_view.test_chat_view import browser, chat_id_of, sign_in
from tests.panel.world import PanelWorld

SESSION = "wp-acme-anna"
MARIA = "4917655501234"
ASKED = "Kannst du 5 % machen?"
EDITED = "Kannst du <10 %> machen?"
ANSWER = "Ich frage nach"
THANKS = "Danke"


def oob_ids(text: str) -> list[int]:
    return [
        int(i)
        for i in re.findall(r"hx-swap-oob=\"outerHTML:#history \.bubble\[data-message-id='(\d+)'\]\"", text)
    ]


def bubble(text: str, message_id: int) -> str:
    """The markup of one bubble in ``text``."""
    start = text.index(f'data-message-id="{message_id}"')
    return text[start : text.index("</article>", start)]


def poll_url(text: str) -> str:
    return text.split('id="newer" hx-get="')[1].split('"')[0].replace("&amp;", "&")


async def test_the_poll_brings_back_each_changed_message_in_place_once(world: PanelWorld) -> None:
    assert world.waha is not None
    asked = world.waha.receive(SESSION, MARIA, ASKED, push_name="Maria")
    answer = world.waha.type_on_phone(SESSION, f"{MARIA}@c.us", ANSWER)
    thanks = world.waha.receive(SESSION, MARIA, THANKS, push_name="Maria")
    await world.waha.elapse(20)  # the phone's answer is delivered (revision 1), then read (2)
    await world.settle()
    chat_id = await chat_id_of(world, "+" + MARIA)
    async with browser(world) as client:
        page = await sign_in(world, client, world.anna, chat_id)
        first, second, third = [int(p.split('"')[0]) for p in page.text.split('data-message-id="')[1:]]
        assert '<span class="tick read" title="Read">✓✓</span>' in bubble(page.text, second)
        url = poll_url(page.text)
        assert url == f"/chats/{chat_id}/messages?after={third}&seen=2"
        assert (await client.get(url)).status_code == 204

        world.waha.edit_message(SESSION, asked.raw_id, EDITED)  # revision 3
        world.waha.set_ack(SESSION, answer.raw_id, 4)  # 4: played
        world.waha.react(SESSION, thanks.raw_id, "👍")  # 5: from the phone
        await world.settle()
        answered = await client.get(f"{url}&from={first}")
        assert answered.status_code == 200
        text = answered.text
        assert oob_ids(text) == [first, second, third]
        assert text.count("<article ") == 3  # nothing new: no bubble but the changed ones
        edited = bubble(text, first)
        assert (
            '<p class="text">Kannst du &lt;10 %&gt; machen? <span class="edited">(edited)</span></p>'
            in edited
        )
        assert "<summary>Earlier versions</summary>" in edited and f"UTC</time> {ASKED}</p>" in edited
        assert '<span class="tick played" title="Played">✓✓</span>' in bubble(text, second)
        assert '<span class="reaction" title="You">👍</span>' in bubble(text, third)
        url = poll_url(text)
        assert url == f"/chats/{chat_id}/messages?after={third}&seen=5"
        assert (await client.get(f"{url}&from={first}")).status_code == 204  # each change once
        # A number the chat has not reached is taken back to the chat's own.
        ahead = await client.get(f"/chats/{chat_id}/messages?after={third}&seen=40&from={first}")
        assert oob_ids(ahead.text) == [] and poll_url(ahead.text) == url

        # A page that does not show the first message (not loaded) gets only what it shows.
        world.waha.revoke_message(SESSION, asked.raw_id)  # 6
        world.waha.react(SESSION, thanks.raw_id, "")  # 7: removed
        await world.settle()
        partial = await client.get(f"{url}&from={second}")
        assert oob_ids(partial.text) == [third] and "👍" not in partial.text
        whole = await client.get(f"{url}&from={first}")
        assert oob_ids(whole.text) == [first, third]
        assert '<p class="text deleted"><i>This message was deleted</i></p>' in bubble(whole.text, first)
        assert "machen?" not in whole.text and "👍" not in whole.text
        assert poll_url(whole.text) == f"/chats/{chat_id}/messages?after={third}&seen=7"

        # A new message and a change to a shown one come in the same answer: the new one as a bubble of
        # the list, the changed one out of band; the new one is not also swapped.
        world.waha.receive(SESSION, MARIA, "Noch da?", push_name="Maria")
        world.waha.react(SESSION, answer.raw_id, "❤️", sender=MARIA)  # 8
        await world.settle()
        both = await client.get(f"{poll_url(whole.text)}&from={first}")
        shown = [int(i) for i in re.findall(r'data-message-id="(\d+)"', both.text)]
        assert oob_ids(both.text) == [second] and len(shown) == 2 and shown[0] > third
        fourth = shown[0]
        assert "Noch da?" in bubble(both.text, fourth) and "hx-swap-oob" not in bubble(both.text, fourth)
        assert '<span class="reaction" title="Maria">❤️</span>' in bubble(both.text, second)
        assert poll_url(both.text) == f"/chats/{chat_id}/messages?after={fourth}&seen=8"


async def test_bad_poll_input_is_refused_with_a_reason_and_other_companies_get_nothing(
    world: PanelWorld,
) -> None:
    assert world.waha is not None
    asked = world.waha.receive(SESSION, MARIA, ASKED, push_name="Maria")
    await world.settle()
    chat_id = await chat_id_of(world, "+" + MARIA)
    async with browser(world) as client:
        await sign_in(world, client, world.anna, chat_id)
        for seen in ("-1", "x", "01", "1.5", " 1", "99999999999999999999999"):
            refused = await client.get(f"/chats/{chat_id}/messages", params={"after": "1", "seen": seen})
            assert refused.status_code == 400 and 'data-reason="invalid_seen"' in refused.text, seen
            assert "seen must be a change number" in refused.text
        bad_from = await client.get(
            f"/chats/{chat_id}/messages", params={"after": "1", "seen": "0", "from": "x"}
        )
        assert bad_from.status_code == 400 and 'data-reason="invalid_request"' in bad_from.text
        assert "from must be a message id" in bad_from.text

    world.waha.edit_message(SESSION, asked.raw_id, EDITED)
    await world.settle()
    async with browser(world) as stranger:
        refused_page = await sign_in(world, stranger, world.grace, chat_id)
        assert refused_page.status_code == 403
        answer = await stranger.get(f"/chats/{chat_id}/messages", params={"after": "999", "seen": "0"})
        assert answer.status_code == 403 and "10 %" not in answer.text and "Maria" not in answer.text
