"""The app settings page in the Pipedrive sandbox's settings host, in Chromium: install, change settings
(the pipeline choice appears for "create a deal"), see them saved and audited; and the chat view's
sign-in through the sandbox's OAuth page in a top-level window, and what its reader sees of a long chat
(``tests/e2e/seen.py``): the newest message, their reply, the contact's answer, their place kept.

The tests share one demo, where Anna installed WaPipe and linked her number once (``session``). The test
that needs a fresh install has a company of its own; each chat view test has a contact of its own."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, expect

from sandbox.waha.png import sample_picture
from server.demo import DemoAddresses
from server.settings import Settings
from tests.e2e.panel_helpers import (
    CONTACT_DIGITS,
    add_company,
    add_person,
    choose_user,
    eventually,
    inbound,
    open_panel,
    sandbox_state,
    write_history,
)
from tests.e2e.seen import expect_in_view, in_view, scroll_position, sight, texts_in_view, texts_top_to_bottom


def install(page: Page, addresses: DemoAddresses, user: str) -> None:
    page.goto(addresses.wapipe + "/install")
    expect(page).to_have_url(re.compile(re.escape(addresses.pipedrive + "/oauth/authorize?")))
    choose_user(page, user)
    page.click("#allow")
    expect(page.locator("#install-setup")).to_have_attribute("data-setup", "complete", timeout=15_000)


def test_settings_are_changed_saved_and_audited_in_the_host(
    page: Page, demo: tuple[Settings, DemoAddresses], artifacts: Path
) -> None:
    _, addresses = demo
    # A company of its own, installed now: its settings and its audit log as a first install has them.
    ines = add_company(addresses, "Initech GmbH", "Ines Admin")
    install(page, addresses, "Ines Admin")
    page.goto(f"{addresses.pipedrive}/host/settings?user_id={ines}")
    frame = page.frame_locator("iframe")
    expect(frame.locator("h1")).to_have_text("WaPipe settings")
    page.wait_for_function("() => window.__pdHost && window.__pdHost.initialized === true")
    expect(frame.locator("#pipeline_id")).to_have_count(0)

    frame.locator("#import_frequency").select_option("6h")
    frame.locator("#new_chat_action").select_option("deal")
    pipeline = frame.locator("#pipeline_id")
    expect(pipeline).to_be_visible()
    values = [v for v in pipeline.locator("option").evaluate_all("os => os.map(o => o.value)") if v]
    pipeline.select_option(values[0])
    frame.locator("#settings-save").click()
    expect(frame.locator("#settings-saved")).to_be_visible()
    expect(frame.locator("#import_frequency")).to_have_value("6h")
    expect(frame.locator("#audit-log tr[data-action='settings.update']")).to_have_count(1)
    expect(frame.locator("#audit-log")).to_contain_text('"after": "6h"')
    page.screenshot(path=str(artifacts / "settings-page.png"), full_page=True)

    frame.locator("#auto_add_persons").uncheck()
    frame.locator("#import_groups").check()
    frame.locator("#settings-save").click()
    expect(frame.locator("[data-reason='groups_need_auto_add']")).to_be_visible()
    expect(frame.locator("#import_groups")).to_be_checked()


def save_settings(page: Page, addresses: DemoAddresses, **choices: object) -> None:
    """Open the settings page inside the host, change what is given, save, see it saved."""
    page.goto(addresses.pipedrive + "/host/settings")
    frame = page.frame_locator("iframe")
    page.wait_for_function("() => window.__pdHost && window.__pdHost.initialized === true")
    if "frequency" in choices:
        frame.locator("#import_frequency").select_option(str(choices["frequency"]))
    auto_add = frame.locator("#auto_add_persons")
    if choices.get("auto_add") is True:
        auto_add.check()
    elif choices.get("auto_add") is False:
        auto_add.uncheck()
    if "action" in choices:
        frame.locator("#new_chat_action").select_option(str(choices["action"]))
    if "pipeline" in choices:
        frame.locator("#pipeline_id").select_option(label=str(choices["pipeline"]))
    frame.locator("#settings-save").click()
    expect(frame.locator("#settings-saved")).to_be_visible()


def persons_with_phone(addresses: DemoAddresses, digits: str) -> list[dict[str, Any]]:
    persons: list[dict[str, Any]] = sandbox_state(addresses)["persons"]
    return [
        p
        for p in persons
        if any(digits in "".join(filter(str.isdigit, str(ph))) for ph in p.get("phones") or [])
    ]


def test_settings_changes_take_effect_in_the_sync(
    page: Page, demo: tuple[Settings, DemoAddresses], session: str
) -> None:
    _, addresses = demo

    # "Add new chats as Persons" off: a stranger's message creates no Person (a known contact's message,
    # sent after it, is logged: the sync ran, in real time).
    save_settings(page, addresses, auto_add=False, frequency="realtime")
    stranger = "4915155500001"
    inbound(addresses, session, stranger, "Hallo, wer ist da?")
    inbound(addresses, session, CONTACT_DIGITS, "Ich bin es, Ihr Kunde")
    eventually(
        lambda: any("Ihr Kunde" in str(a.get("note") or "") for a in sandbox_state(addresses)["activities"]),
        "the known contact's message in Pipedrive",
    )
    assert persons_with_phone(addresses, stranger) == []

    # On again, and a new chat creates a Deal in the chosen pipeline's first stage.
    save_settings(page, addresses, auto_add=True, action="deal", pipeline="WhatsApp inbound")
    newcomer = "4915155500002"
    inbound(addresses, session, newcomer, "Ich interessiere mich für Ihr Angebot")
    title = f"WhatsApp Deal (+{newcomer})"
    state = eventually(
        lambda: (
            (found := sandbox_state(addresses)) and any(d["title"] == title for d in found["deals"]) and found
        ),
        f"the Deal {title!r}",
    )
    [deal] = [d for d in state["deals"] if d["title"] == title]
    [pipeline] = [p for p in state["pipelines"] if p["name"] == "WhatsApp inbound"]
    stages = sorted(
        (s for s in state["stages"] if s["pipeline_id"] == pipeline["id"]), key=lambda s: s["order_nr"]
    )
    assert deal["pipeline_id"] == pipeline["id"] and deal["stage_id"] == stages[0]["id"]
    assert stages[0]["name"] == "New chat"
    [person] = persons_with_phone(addresses, newcomer)
    assert deal["person_id"] == person["id"]


def sign_in_as(page: Page, addresses: DemoAddresses, user: str, chat_path: str) -> None:
    """Open a chat view link without a session: WaPipe sends the browser to Pipedrive's consent page,
    where ``user`` allows, and back to the chat."""
    page.goto(addresses.wapipe + chat_path)
    expect(page).to_have_url(re.compile(re.escape(addresses.pipedrive + "/oauth/authorize?")))
    choose_user(page, user)
    page.click("#allow")
    expect(page).to_have_url(addresses.wapipe + chat_path)


def test_the_chat_view_signs_in_through_pipedrive_and_refuses_another_companys_user(
    browser: Browser, page: Page, demo: tuple[Settings, DemoAddresses], session: str, artifacts: Path
) -> None:
    _, addresses = demo  # Anna, of Acme Sales, linked her number (session)
    person = add_person(addresses, "Lena Lager", ["+49 30 5550 1234"])
    contact = "493055501234"
    inbound(addresses, session, contact, "Guten Tag, hier ist das Foto vom Lager")
    picture = base64.b64encode(sample_picture(320, 200, hue=140)).decode()
    httpx.post(
        f"{addresses.waha}/_sim/{session}/inbound",
        json={
            "from": contact,
            "kind": "image",
            "data": picture,
            "mimetype": "image/png",
            "text": "Regal 4",
        },
        timeout=10,
    ).raise_for_status()
    httpx.post(
        f"{addresses.waha}/_sim/{session}/phone-message",
        json={"chatId": f"{contact}@c.us", "text": "Danke! Wir liefern am Donnerstag."},
        timeout=10,
    ).raise_for_status()
    # The panel links the full chat: that is the chat view's address.
    frame = open_panel(page, addresses, person)
    expect(frame.locator(".bubble", has_text="Wir liefern am Donnerstag")).to_have_count(1, timeout=15_000)
    chat_path = frame.locator("#open-chat").get_attribute("href")
    assert chat_path is not None and re.fullmatch(r"/chats/\d+", chat_path)

    # Grace, admin of Globex (which installed WaPipe too), opens Acme's chat: refused, nothing shown.
    grace = browser.new_context(viewport={"width": 1100, "height": 800})
    try:
        other = grace.new_page()
        other.goto(addresses.wapipe + "/install")
        choose_user(other, "Grace Admin")
        other.click("#allow")
        expect(other.locator("#install-setup")).to_have_attribute("data-setup", "complete", timeout=15_000)
        answer = other.request.get(addresses.wapipe + chat_path, max_redirects=0)
        assert answer.status == 303  # no chat session yet: sign in first
        sign_in_as(other, addresses, "Grace Admin", chat_path)
        expect(other.locator("[data-reason='forbidden']")).to_contain_text("not in your Pipedrive company")
        assert other.request.get(addresses.wapipe + chat_path).status == 403
        content = other.content()
        for leaked in ("Foto vom Lager", "Regal 4", "Donnerstag", "Lena Lager", contact, "/media"):
            assert leaked not in content
        expect(other.locator("img")).to_have_count(0)
        other.screenshot(path=str(artifacts / "chat-view-refused.png"), full_page=True)
    finally:
        grace.close()

    # Anna, of the chat's own company, reads it: text, her reply with its tick, the image previewed.
    sign_in_as(page, addresses, "Anna Admin", chat_path)
    expect(page.locator(".bubble.in", has_text="Foto vom Lager")).to_have_count(1)
    expect_in_view(page.locator(".bubble.out", has_text="Wir liefern am Donnerstag"))
    assert texts_top_to_bottom(page.locator("#history .bubble .text")) == [
        "Guten Tag, hier ist das Foto vom Lager",
        "Regal 4",
        "Danke! Wir liefern am Donnerstag.",
    ]
    image = page.locator(".bubble img.media")
    expect(image).to_have_count(1, timeout=15_000)
    expect(image).to_have_js_property("naturalWidth", 320)  # loaded and decoded
    page.screenshot(path=str(artifacts / "chat-view.png"), full_page=True)


def test_the_chat_view_opens_at_the_newest_message_follows_new_ones_and_keeps_a_readers_place(
    page: Page, demo: tuple[Settings, DemoAddresses], session: str, artifacts: Path
) -> None:
    _, addresses = demo
    person = add_person(addresses, "Rita Reader", ["+49 30 5550 2345"])
    contact = "493055502345"
    history = [f"Nachricht {n:02d}" for n in range(1, 56)]  # the chat view shows the newest 50 at first
    write_history(addresses, session, contact, history)
    frame = open_panel(page, addresses, person)
    expect(frame.locator(".bubble", has_text="Nachricht 55")).to_have_count(1, timeout=20_000)
    chat_path = frame.locator("#open-chat").get_attribute("href")
    assert chat_path is not None
    sign_in_as(page, addresses, "Anna Admin", chat_path)

    # Opened at the newest message, the oldest scrolled away above; the reply box on screen too.
    messages = page.locator("#history")
    texts = messages.locator(".bubble .text")
    expect(texts).to_have_count(50)
    assert texts_top_to_bottom(texts) == history[5:]
    expect_in_view(messages.locator(".bubble", has_text="Nachricht 55"))
    assert not in_view(messages.locator(".bubble", has_text="Nachricht 06"))
    expect_in_view(page.locator("#reply-send"))

    # At the bottom, the history follows: the reply once it went out, then the contact's answer.
    page.fill("#reply-text", "Danke, wir melden uns")
    page.click("#reply-send")
    expect_in_view(messages.locator(".bubble.out", has_text="Danke, wir melden uns"))
    inbound(addresses, session, contact, "Super, bis bald")
    expect_in_view(messages.locator(".bubble.in", has_text="Super, bis bald"))
    marker = page.get_by_role("button", name="New messages")
    expect(marker).to_be_hidden()

    # Scrolled up, a new message moves nothing; "New messages" leads down to it.
    messages.evaluate("history => { history.scrollTop = 300; }")
    [top_text, *_] = texts_in_view(texts)
    top = texts.filter(has_text=top_text)
    top_before = sight(top).box.top
    inbound(addresses, session, contact, "Eine Frage noch")
    arrived = messages.locator(".bubble.in", has_text="Eine Frage noch")
    expect(arrived).to_have_count(1, timeout=15_000)
    assert texts_in_view(texts)[0] == top_text
    assert abs(sight(top).box.top - top_before) <= 2
    assert not in_view(arrived)
    expect_in_view(marker)
    page.screenshot(path=str(artifacts / "chat-view-new-messages.png"), full_page=True)
    marker.click()
    expect_in_view(arrived)
    expect(marker).to_be_hidden()
    assert scroll_position(messages).at_bottom

    # Reading back: older messages load above the one being read, which stays where it is.
    messages.evaluate("history => { history.scrollTop = 0; }")
    reading = messages.locator(".bubble", has_text="Nachricht 06")
    reading_top = sight(reading).box.top
    page.get_by_role("button", name="Load older messages").click()
    expect(texts).to_have_count(len(history) + 3)
    assert abs(sight(reading).box.top - reading_top) <= 2
    assert not in_view(messages.locator(".bubble", has_text="Nachricht 05"))
    sent_and_received = ["Danke, wir melden uns", "Super, bis bald", "Eine Frage noch"]
    assert texts_top_to_bottom(texts) == [*history, *sent_and_received]
