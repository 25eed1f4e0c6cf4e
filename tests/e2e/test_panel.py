"""The "Send WhatsApp message" panel in Chromium, inside the Pipedrive sandbox's Person page, with the
WhatsApp sandbox's phone on the other end: install, link a number, send, receive, attach, open or create
the Person of a shared contact card; screenshots.
What a person sees is measured (``tests/e2e/seen.py``): the panel opens at the newest message, follows
new ones, and keeps the reader's place when they scrolled up. The named refusals are in
``test_panel_errors.py``."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from server.demo import DemoAddresses
from server.settings import Settings
from tests.e2e.panel_helpers import (
    CONTACT_DIGITS,
    PERSON,
    add_file,
    add_person,
    eventually,
    inbound,
    open_panel,
    outbox,
    sandbox_state,
    write_history,
)
from tests.e2e.seen import expect_in_view, in_view, scroll_position, sight, texts_in_view, texts_top_to_bottom


def test_the_panel_sends_receives_attaches_and_names_its_errors(
    page: Page, demo: tuple[Settings, DemoAddresses], session: str, artifacts: Path
) -> None:
    _, addresses = demo
    add_file(addresses, "price-list.pdf", b"%PDF-1.4 prices", person_id=PERSON)
    # The contact wrote before: more than the panel's message list shows at once.
    earlier = [f"Frühere Nachricht {n:02d}" for n in range(1, 13)]
    write_history(addresses, session, CONTACT_DIGITS, earlier)

    # initialize + resize + theme (light, then dark live)
    frame = open_panel(page, addresses)
    expect(frame.locator(".panel-person")).to_have_text("Munich Contact 1")
    texts = frame.locator("#panel-messages .bubble .text")
    expect(texts).to_have_count(len(earlier), timeout=15_000)
    frame = open_panel(page, addresses)  # opened again with the whole history: at its newest message
    expect(texts).to_have_count(len(earlier))
    assert scroll_position(frame.locator("#panel-messages")).scrollable
    assert texts_top_to_bottom(texts) == earlier
    expect_in_view(frame.locator(".bubble", has_text="Frühere Nachricht 12"))
    assert not in_view(frame.locator(".bubble", has_text="Frühere Nachricht 01"))
    calls = page.evaluate("() => window.__pdHost.calls.map(c => c.command)")
    assert calls[0] == "initialize"
    page.wait_for_function("() => window.__pdHost.calls.some(c => c.command === 'resize')")
    expect(frame.locator("html")).to_have_attribute("data-theme", "light")
    expect(frame.locator("#from option:checked")).to_contain_text("+491701112223")
    expect(frame.locator("#region-field")).to_be_hidden()  # the number has its country code
    page.evaluate("() => window.__pdHost.setTheme('dark')")
    expect(frame.locator("html")).to_have_attribute("data-theme", "dark")
    page.evaluate("() => window.__pdHost.setTheme('light')")
    expect(frame.locator("html")).to_have_attribute("data-theme", "light")

    # send text with a double click: one message reaches the phone, ticks update, a snackbar shows
    frame.locator("#text").fill("Guten Tag aus Pipedrive")
    frame.locator("#send").dblclick()
    bubble = frame.locator(".bubble.out", has_text="Guten Tag aus Pipedrive")
    expect(bubble).to_have_count(1, timeout=15_000)
    expect_in_view(bubble)
    expect(bubble).to_have_attribute("data-status", "sent", timeout=15_000)
    expect(frame.locator("#text")).to_have_value("")
    page.wait_for_function("() => window.__pdHost.snackbars.length >= 1")
    sent = eventually(
        lambda: [m for m in outbox(addresses, session) if m["text"] == "Guten Tag aus Pipedrive"],
        "the message on the phone",
    )
    assert len(sent) == 1
    httpx.post(
        f"{addresses.waha}/_sim/{session}/ack", json={"id": sent[0]["message_id"], "ack": 3}, timeout=10
    )
    expect(bubble).to_have_attribute("data-status", "read", timeout=15_000)

    # send a Person's file
    frame.locator("#file").select_option(label="price-list.pdf (Person)")
    frame.locator("#send").click()
    expect(frame.locator(".bubble.out", has_text="price-list.pdf")).to_have_count(1, timeout=15_000)
    expect_in_view(frame.locator(".bubble.out", has_text="price-list.pdf"))
    eventually(
        lambda: any(m.get("filename") == "price-list.pdf" for m in outbox(addresses, session)),
        "the file on the phone",
    )
    # What we sent, we have: the bubble links the file (never "not available"), the Person's activity
    # links it, and the Person's Files still hold it once.
    sent_file = frame.locator(".bubble.out", has_text="price-list.pdf").locator(".file a")
    expect(sent_file).to_have_text("price-list.pdf", timeout=15_000)
    expect(frame.locator(".bubble.out", has_text="price-list.pdf")).not_to_contain_text("not available")
    eventually(
        lambda: any(
            "price-list.pdf</a>" in str(a.get("note") or "") for a in sandbox_state(addresses)["activities"]
        ),
        "the sent file linked in the Person's WhatsApp chat activity",
    )
    assert not any(
        "not available" in str(a.get("note") or "") for a in sandbox_state(addresses)["activities"]
    )
    on_person = [f for f in sandbox_state(addresses)["files"] if f.get("person_id") == PERSON]
    assert [f["name"] for f in on_person if f.get("active_flag", True)] == ["price-list.pdf"]

    # a reply from the phone appears in the panel and in the Person's "WhatsApp chat" activity
    httpx.post(
        f"{addresses.waha}/_sim/{session}/inbound",
        json={"from": CONTACT_DIGITS, "text": "Danke, bis morgen!"},
        timeout=10,
    ).raise_for_status()
    expect_in_view(frame.locator(".bubble.in", has_text="Danke, bis morgen!"))
    eventually(
        lambda: any(
            "Danke, bis morgen!" in str(a.get("note") or "") for a in sandbox_state(addresses)["activities"]
        ),
        "the reply in the Person's WhatsApp chat activity",
    )

    # named errors, nothing typed lost: an empty message, then a disconnected From number
    frame.locator("#text").fill("   ")
    frame.locator("#send").click()
    expect(frame.locator('[data-reason="empty_message"]')).to_be_visible()
    expect(frame.locator("#text")).to_have_value("   ")
    # (every other named refusal, in Chromium: tests/e2e/test_panel_errors.py)

    # screenshots of the panel with a conversation (opened again: now with the chat's link), light and dark
    frame = open_panel(page, addresses)
    expect_in_view(frame.locator(".bubble.in", has_text="Danke, bis morgen!"))
    assert texts_top_to_bottom(texts) == [*earlier, "Guten Tag aus Pipedrive", "Danke, bis morgen!"]
    frame.locator("#text").fill("Bis morgen um 10!")
    page.screenshot(path=str(artifacts / "panel-light.png"), full_page=True)
    page.evaluate("() => window.__pdHost.setTheme('dark')")
    expect(frame.locator("html")).to_have_attribute("data-theme", "dark")
    page.screenshot(path=str(artifacts / "panel-dark.png"), full_page=True)


def test_a_long_conversation_opens_at_its_newest_message_and_keeps_the_place_of_a_reader_who_scrolled_up(
    page: Page, demo: tuple[Settings, DemoAddresses], session: str, artifacts: Path
) -> None:
    _, addresses = demo
    person = add_person(addresses, "Lange Geschichte", ["+49 176 55507777"])
    phone = "4917655507777"
    history = [f"Nachricht {n:02d}" for n in range(1, 26)]
    write_history(addresses, session, phone, history)
    frame = open_panel(page, addresses, person)
    messages = frame.locator("#panel-messages")
    texts = messages.locator(".bubble .text")
    expect(texts).to_have_count(len(history), timeout=20_000)

    # Opened with the whole history: the newest message shows, the oldest is scrolled away above.
    frame = open_panel(page, addresses, person)
    expect(texts).to_have_count(len(history))
    assert texts_top_to_bottom(texts) == history
    assert scroll_position(messages).scrollable
    expect_in_view(messages.locator(".bubble", has_text="Nachricht 25"))
    assert not in_view(messages.locator(".bubble", has_text="Nachricht 01"))

    # At the bottom, the list follows: the message just sent, then the contact's answer.
    frame.locator("#text").fill("Danke für die vielen Nachrichten")
    frame.locator("#send").click()
    expect_in_view(messages.locator(".bubble.out", has_text="Danke für die vielen Nachrichten"))
    inbound(addresses, session, phone, "Gern geschehen")
    expect_in_view(messages.locator(".bubble.in", has_text="Gern geschehen"))
    marker = frame.get_by_role("button", name="New messages")
    expect(marker).to_be_hidden()

    # Scrolled up, a new message moves nothing: the message at the top stays where it was in the list's
    # window (the frame's own page may scroll under Playwright's clicks; the list is what keeps a place),
    # and a "New messages" button shows; it leads down to the new message.
    messages.evaluate("list => { list.scrollTop = 300; }")
    [top_text, *_] = texts_in_view(texts)
    top = texts.filter(has_text=top_text)

    def from_list_top() -> float:
        return sight(top).box.top - sight(messages).box.top

    top_before = from_list_top()
    inbound(addresses, session, phone, "Noch eine Frage")
    arrived = messages.locator(".bubble.in", has_text="Noch eine Frage")
    expect(arrived).to_have_count(1, timeout=15_000)
    assert texts_in_view(texts)[0] == top_text
    assert abs(from_list_top() - top_before) <= 2
    assert not in_view(arrived)
    expect_in_view(marker)
    page.screenshot(path=str(artifacts / "panel-new-messages.png"), full_page=True)
    marker.click()
    expect_in_view(arrived)
    expect(marker).to_be_hidden()
    assert scroll_position(messages).at_bottom


def test_a_shared_contact_card_opens_its_person_or_creates_one(
    page: Page, demo: tuple[Settings, DemoAddresses], session: str
) -> None:
    _, addresses = demo
    httpx.post(f"{addresses.waha}/_sim/clock", json={"advance": 1}, timeout=10).raise_for_status()
    cards = [
        {"name": "Max", "phone": "+49 151 12345678"},
        {"name": "Neu <Nina>", "phone": "+49 176 55505555"},
    ]
    httpx.post(
        f"{addresses.waha}/_sim/{session}/inbound",
        json={"from": CONTACT_DIGITS, "text": "", "kind": "contact", "contacts": cards},
        timeout=10,
    ).raise_for_status()
    frame = open_panel(page, addresses)
    shown = frame.locator("#panel-messages .bubble").last.locator(".contact-card")
    expect(shown).to_have_count(2, timeout=15_000)
    expect(shown.nth(0)).to_contain_text("Max +49 151 12345678 Open Mobile Max")  # the demo's Person
    nina = shown.nth(1)
    expect(nina.locator(".card-name")).to_have_text("Neu <Nina>")
    expect_in_view(nina.get_by_role("button", name="Create Person"))

    nina.get_by_role("button", name="Create Person").click()
    opened = nina.get_by_role("link", name="Open Neu <Nina>")
    expect(opened).to_be_visible()
    [created] = [p for p in sandbox_state(addresses)["persons"] if p["name"] == "Neu <Nina>"]
    assert [phone["value"] for phone in created["phones"]] == ["+4917655505555"]

    opened.click()  # Pipedrive (the sandbox's host page) opens the Person
    expect(page).to_have_url(re.compile(rf"/person/{created['id']}(\?|$)"))
    expect(page.locator("#pd-title")).to_have_text("Neu <Nina>")


def test_a_groups_person_shows_who_wrote_what_and_answers_the_group(
    page: Page, demo: tuple[Settings, DemoAddresses], session: str
) -> None:
    _, addresses = demo
    page.goto(addresses.pipedrive + "/host/settings")
    settings = page.frame_locator("iframe")
    page.wait_for_function("() => window.__pdHost && window.__pdHost.initialized === true")
    settings.locator("#import_groups").check()
    settings.locator("#settings-save").click()
    expect(settings.locator("#settings-saved")).to_be_visible()

    waha = f"{addresses.waha}/_sim/{session}"
    members = ["4917655501111", "4917655502222"]
    group = httpx.post(f"{waha}/groups", json={"subject": "Einkauf Team", "members": members}, timeout=10)
    group.raise_for_status()
    group_id = group.json()["id"]
    for sender, name, text in [
        (members[0], "Klaus Einkauf", "Wer bestellt die Schrauben?"),
        (members[1], "Petra Lager", "Ich, sobald das Angebot da ist"),
    ]:
        httpx.post(f"{addresses.waha}/_sim/clock", json={"advance": 1}, timeout=10).raise_for_status()
        httpx.post(
            f"{waha}/inbound",
            json={"from": sender, "group": group_id, "text": text, "name": name},
            timeout=10,
        ).raise_for_status()
    person = eventually(
        lambda: next((p for p in sandbox_state(addresses)["persons"] if p["name"] == "Einkauf Team"), None),
        "the group's Person",
    )

    frame = open_panel(page, addresses, int(person["id"]))
    bubbles = frame.locator("#panel-messages .bubble.in")
    expect(bubbles).to_have_count(2, timeout=15_000)
    expect(bubbles.nth(0).locator(".author")).to_have_text("Klaus Einkauf")
    expect(bubbles.nth(0).locator(".text")).to_have_text("Wer bestellt die Schrauben?")
    expect(bubbles.nth(1).locator(".author")).to_have_text("Petra Lager")
    expect(bubbles.nth(1).locator(".text")).to_have_text("Ich, sobald das Angebot da ist")
    expect(frame.locator('[data-reason="no_phone_on_person"]')).to_have_count(0)
    expect(frame.locator("#panel")).not_to_contain_text("No WhatsApp messages with this person yet")
    expect(frame.locator("#to option:checked")).to_have_text("Einkauf Team (group)")

    frame.locator("#text").fill("Angebot kommt heute")
    frame.locator("#send").click()
    answer = frame.locator(".bubble.out", has_text="Angebot kommt heute")
    expect(answer).to_have_count(1, timeout=15_000)
    expect_in_view(answer)
    sent = eventually(
        lambda: [m for m in outbox(addresses, session) if m["text"] == "Angebot kommt heute"],
        "the answer on the phone",
    )
    assert [m["chat_id"] for m in sent] == [group_id]
    expect(answer).to_have_attribute("data-status", "sent", timeout=15_000)


def test_the_form_counts_characters_lists_each_number_once_and_fits_its_frame(
    page: Page, demo: tuple[Settings, DemoAddresses], session: str
) -> None:
    _, addresses = demo
    page.set_viewport_size({"width": 1100, "height": 1300})  # the whole 750 px frame on screen
    person = add_person(addresses, "Kurz Kai", ["+4915112345679", "0151 1234 5679", "0176 5550 4444"])
    write_history(addresses, session, "4915112345679", [f"Zeile {n:02d}" for n in range(1, 21)])
    frame = open_panel(page, addresses, person)
    expect(frame.locator("#panel-messages .bubble")).to_have_count(20, timeout=20_000)

    # +4915112345679 and 0151 1234 5679 are one number: To lists it once.
    assert frame.locator("#to option").all_inner_texts() == [
        "+4915112345679 (mobile)",
        "0176 5550 4444 (mobile)",
    ]

    # A paste over WhatsApp's limit is kept whole, counted and warned about; Send names the refusal.
    counter = frame.locator("#text-count")
    frame.locator("#text").fill("Hallo")
    expect(counter).to_have_text("5 / 4,096")
    frame.locator("#text").fill("x" * 5000)
    expect(frame.locator("#text")).to_have_value("x" * 5000)
    expect(counter).to_have_text(
        "5,000 / 4,096 characters: 904 too many for one WhatsApp message. Shorten it or split it."
    )
    frame.locator("#send").click()
    notice = frame.locator('#panel-form [data-reason="message_too_long"]')
    expect(notice).to_contain_text("WhatsApp messages are limited to 4096 characters; this one has 5000")
    expect(frame.locator("#text")).to_have_value("x" * 5000)

    # With the refusal shown and Country code asked for, the panel still fits its frame: Send in view.
    frame.locator("#to").select_option("0176 5550 4444")  # no country code
    expect(frame.locator("#region-field")).to_be_visible()
    frame_height = page.locator("iframe").evaluate("f => f.getBoundingClientRect().height")
    panel_height = frame.locator("#panel").evaluate("p => p.getBoundingClientRect().height")
    assert frame_height <= 750 and panel_height <= frame_height, (frame_height, panel_height)
    for shown in ("#send", "#region-field", '[data-reason="message_too_long"]', "#panel-messages"):
        expect_in_view(frame.locator(shown))
    expect_in_view(frame.locator(".bubble", has_text="Zeile 20"))  # the conversation still shows its newest


def test_files_added_to_the_person_since_the_panel_opened_are_loaded_on_refresh(
    page: Page, demo: tuple[Settings, DemoAddresses], session: str
) -> None:
    _, addresses = demo
    person = add_person(addresses, "Datei Dora", ["+49 176 55508080"])
    add_file(addresses, "erste.pdf", b"%PDF-1.4 eins", person_id=person)
    frame = open_panel(page, addresses, person)
    files = frame.locator("#file option")
    assert files.all_inner_texts() == ["No attachment", "erste.pdf (Person)"]
    frame.locator("#file").select_option(label="erste.pdf (Person)")
    frame.locator("#text").fill("Anbei")
    add_file(addresses, "zweite.pdf", b"%PDF-1.4 zwei", person_id=person)

    frame = open_panel(page, addresses, person)  # opened again at once: the Files read a moment ago
    assert files.all_inner_texts() == ["No attachment", "erste.pdf (Person)"]
    frame.locator("#file").select_option(label="erste.pdf (Person)")
    frame.locator("#text").fill("Anbei")
    frame.get_by_role("button", name="↻ Refresh Files").click()
    expect(files).to_have_text(["No attachment", "erste.pdf (Person)", "zweite.pdf (Person)"])
    expect(frame.locator("#file option:checked")).to_have_text("erste.pdf (Person)")  # the choice stays
    expect(frame.locator("#text")).to_have_value("Anbei")  # and what was typed
