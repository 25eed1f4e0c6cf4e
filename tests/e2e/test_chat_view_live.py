"""The open chat view follows changes to the messages it shows, in Chromium against the demo: the contact
edits a message, reacts to it and deletes it on the WAHA sandbox's phone, and the open page shows each
change in that message's bubble, where it was: no reload, no second bubble, the reader's scroll untouched
(the bubble keeps its place on screen). The poll's interval is the demo's quick one (``QUICK_WAITS``);
Playwright's ``expect`` waits for what the page shows."""

from __future__ import annotations

import httpx
from playwright.sync_api import ConsoleMessage, Locator, Page, expect
from sqlalchemy import func, select

from server.storage.tables import Chat, Message, table_of
from tests.e2e.demo_world import DemoRuntime
from tests.e2e.panel_helpers import CONTACT_DIGITS, eventually
from tests.e2e.seen import expect_in_view, scroll_position, sight

TEXTS = [f"Nachricht {n:02d}" for n in range(1, 17)]
TARGET = "Nachricht 02"  # near the top: the reader scrolls up to it
EDITED = "Nachricht 02, korrigiert: <b>nicht fett</b>"


def contact_writes(runtime: DemoRuntime, session: str) -> dict[str, str]:
    """The contact wrote ``TEXTS`` a second apart, the last one now: each text's WAHA message id."""
    waha = runtime.addresses.waha
    now = httpx.get(f"{waha}/_sim/clock", timeout=10).json()["now"]
    httpx.post(f"{waha}/_sim/clock", json={"set": now - 1000 * len(TEXTS)}, timeout=10).raise_for_status()
    ids: dict[str, str] = {}
    for text in TEXTS:
        httpx.post(f"{waha}/_sim/clock", json={"advance": 1}, timeout=10).raise_for_status()
        answer = httpx.post(
            f"{waha}/_sim/{session}/inbound", json={"from": CONTACT_DIGITS, "text": text}, timeout=10
        )
        answer.raise_for_status()
        ids[text] = str(answer.json()["id"])
    return ids


def stored_chat(runtime: DemoRuntime) -> int | None:
    """The contact's chat once all of ``TEXTS`` are stored."""
    chats, messages = table_of(Chat), table_of(Message)
    query = (
        select(chats.c.id, func.count(messages.c.id))
        .select_from(chats.join(messages, messages.c.chat_id == chats.c.id))
        .where(chats.c.e164 == "+" + CONTACT_DIGITS)
        .group_by(chats.c.id)
    )

    async def read() -> int | None:
        async with runtime.resources.engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return int(row[0]) if row and row[1] >= len(TEXTS) else None

    return runtime.run(read())


def change(runtime: DemoRuntime, session: str, what: str, body: dict[str, str]) -> None:
    """The phone's control: ``edit``, ``react`` or ``revoke``."""
    answer = httpx.post(f"{runtime.addresses.waha}/_sim/{session}/{what}", json=body, timeout=10)
    assert answer.status_code < 300, answer.text


def order(page: Page) -> list[str]:
    ids: list[str] = page.locator("#history .bubble").evaluate_all(
        "bubbles => bubbles.map(b => b.dataset.messageId)"
    )
    return ids


def top_of(bubble: Locator) -> float:
    return sight(bubble).box.top


def test_an_open_chat_view_shows_edits_reactions_and_deletions_in_place(
    page: Page, runtime: DemoRuntime, session: str
) -> None:
    ids = contact_writes(runtime, session)
    chat_id = eventually(lambda: stored_chat(runtime), "the contact's messages")

    page.goto(f"{runtime.addresses.wapipe}/chats/{chat_id}")
    page.click("#allow")
    expect(page.locator("#chat-title")).to_be_visible(timeout=15_000)
    history = page.locator("#history")
    bubbles = history.locator(".bubble")
    expect(bubbles).to_have_count(len(TEXTS))
    expect(bubbles.locator(".text")).to_have_text(TEXTS)
    shown = order(page)
    page.evaluate("window.__notReloaded = true")
    errors: list[str] = []  # htmx reports a swap it could not place on the console
    page.on("console", lambda line: errors.append(line.text) if _is_error(line) else None)

    # The reader scrolls up to the top, away from the newest message.
    assert scroll_position(history).scrollable
    history.evaluate("list => { list.scrollTop = 0; }")
    target = history.locator(".bubble", has_text=TARGET)
    expect_in_view(target)
    top = top_of(target)

    # The contact edits the message: new text, "(edited)", the earlier version, where it was.
    change(runtime, session, "edit", {"id": ids[TARGET], "text": EDITED})
    edited = history.locator(f".bubble[data-message-id='{shown[1]}']")
    expect(edited.locator(".text")).to_have_text(f"{EDITED} (edited)")
    expect(edited.locator("details.edits summary")).to_have_text("Earlier versions")
    edited.locator("details.edits summary").click()
    expect(edited.locator(".earlier")).to_contain_text(TARGET)
    expect(edited.locator("b")).to_have_count(0)  # the contact's markup is text
    assert order(page) == shown and scroll_position(history).top == 0
    assert abs(top_of(edited) - top) <= 1

    # The contact reacts to it, then changes the reaction.
    change(runtime, session, "react", {"id": ids[TARGET], "reaction": "👍", "from": CONTACT_DIGITS})
    expect(edited.locator(".reaction")).to_have_text(["👍"])
    change(runtime, session, "react", {"id": ids[TARGET], "reaction": "😂", "from": CONTACT_DIGITS})
    expect(edited.locator(".reaction")).to_have_text(["😂"])
    expect(edited.locator(".text")).to_have_text(f"{EDITED} (edited)")
    assert order(page) == shown and scroll_position(history).top == 0

    # The contact deletes it: only "This message was deleted" is left of its text, in the same place.
    change(runtime, session, "revoke", {"id": ids[TARGET]})
    expect(edited.locator(".text")).to_have_text("This message was deleted")
    expect(edited).not_to_contain_text("korrigiert")
    expect(edited).not_to_contain_text(TARGET)
    expect(history.locator(".bubble", has_text="korrigiert")).to_have_count(0)
    assert order(page) == shown and scroll_position(history).top == 0
    assert abs(top_of(edited) - top) <= 1
    expect(bubbles).to_have_count(len(TEXTS))
    expect_in_view(edited)

    # A new message still arrives below, and the reader still has not been moved to it.
    httpx.post(
        f"{runtime.addresses.waha}/_sim/{session}/inbound",
        json={"from": CONTACT_DIGITS, "text": "Noch eine Frage"},
        timeout=10,
    ).raise_for_status()
    expect(bubbles).to_have_count(len(TEXTS) + 1)
    expect(bubbles.last.locator(".text")).to_have_text("Noch eine Frage")
    expect(page.locator("[data-new-messages-for='history']")).to_be_visible()
    assert scroll_position(history).top == 0
    assert page.evaluate("window.__notReloaded") is True
    assert errors == []


def _is_error(line: ConsoleMessage) -> bool:
    return line.type == "error"
