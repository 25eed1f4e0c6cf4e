"""The chat view's own sends in Chromium against the demo: a reply shows in the history within seconds
with its ticks moving as the phone reports them, the contact's answer follows without a reload; and a new
chat starts from a number, checked as the panel checks one (each refusal named, what was typed kept),
then opens with the message in it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
from playwright.sync_api import Browser, Page, expect

from server.demo import DemoAddresses
from server.settings import Settings
from tests.e2e.panel_helpers import CONTACT_DIGITS, eventually, inbound, open_panel, outbox
from tests.e2e.test_settings_page import sign_in_as

SECONDS = 5_000  # ms: "within a few seconds", as the panel


def test_a_reply_and_its_ticks_show_within_seconds_and_a_new_chat_starts_from_a_number(
    page: Page, demo: tuple[Settings, DemoAddresses], session: str
) -> None:
    _, addresses = demo
    inbound(addresses, session, CONTACT_DIGITS, "Hallo aus München")
    frame = open_panel(page, addresses)
    expect(frame.locator(".bubble.in", has_text="Hallo aus München")).to_have_count(1, timeout=15_000)
    chat_path = frame.locator("#open-chat").get_attribute("href")
    assert chat_path is not None
    sign_in_as(page, addresses, "Anna Admin", chat_path)

    page.fill("#reply-text", "Antwort aus dem Chat")
    page.click("#reply-send")
    expect(page.locator("#reply-sent")).to_have_text("Queued for sending.")
    reply = page.locator("#history .bubble.out", has_text="Antwort aus dem Chat")
    expect(reply).to_have_count(1, timeout=SECONDS)
    expect(reply.locator(".tick")).to_have_text("✓", timeout=SECONDS)
    [sent] = eventually(
        lambda: [m for m in outbox(addresses, session) if m["text"] == "Antwort aus dem Chat"], "the reply"
    )
    httpx.post(f"{addresses.waha}/_sim/{session}/ack", json={"id": sent["message_id"], "ack": 3}, timeout=10)
    expect(reply.locator(".tick")).to_have_class(re.compile(r"\bread\b"), timeout=SECONDS)
    expect(reply.locator(".tick")).to_have_text("✓✓")
    inbound(addresses, session, CONTACT_DIGITS, "Danke für die Antwort")
    expect(page.locator("#history .bubble.in", has_text="Danke für die Antwort")).to_have_count(
        1, timeout=SECONDS
    )

    # A new chat with a number: the same checks as the panel, each named, nothing typed lost.
    httpx.post(
        f"{addresses.waha}/_sim/directory", json={"phone": "4917655501313", "exists": False}, timeout=10
    )
    httpx.post(
        f"{addresses.waha}/_sim/directory", json={"phone": "4917655501212", "exists": True}, timeout=10
    )
    page.locator("#new-chat-box summary").click()
    expect(page.locator("#new-chat-region")).to_have_value("DE")  # the From number's country
    expect(page.locator("#new-chat-from option:checked")).to_contain_text("+491701112223")
    page.fill("#new-chat-to", "0176 5550 1212")
    page.fill("#new-chat-text", "Guten Tag, hier ist Anna von Acme")
    page.select_option("#new-chat-region", "")

    def refused(reason: str, says: str) -> None:
        page.click("#new-chat-send")
        notice = page.locator(f'#new-chat-box [data-reason="{reason}"]')
        expect(notice).to_contain_text(says, timeout=15_000)  # a bound for a loaded machine, not a figure
        expect(page.locator("#new-chat-text")).to_have_value("Guten Tag, hier ist Anna von Acme")

    refused("country_code_needed", "0176 5550 1212 has no country code: choose the country it belongs to")
    expect(page.locator("#new-chat-to")).to_have_value("0176 5550 1212")
    page.select_option("#new-chat-region", "DE")
    page.fill("#new-chat-to", "0176 5550 1313")
    refused("number_not_on_whatsapp", "+4917655501313 has no WhatsApp account")
    page.fill("#new-chat-to", "0176 5550 1212")
    page.fill("#new-chat-text", " ")
    page.click("#new-chat-send")
    expect(page.locator('#new-chat-box [data-reason="empty_message"]')).to_be_visible()
    page.fill("#new-chat-text", "Guten Tag, hier ist Anna von Acme")
    page.click("#new-chat-send")

    expect(page).not_to_have_url(addresses.wapipe + chat_path)  # the new chat opens
    expect(page).to_have_url(re.compile(r"/chats/\d+$"))
    expect(page.locator("#chat-title")).to_have_text("+4917655501212")
    started = page.locator("#history .bubble.out", has_text="Guten Tag, hier ist Anna von Acme")
    expect(started).to_have_count(1, timeout=SECONDS)  # the send job, then the page's next poll
    on_phone = eventually(
        lambda: [m for m in outbox(addresses, session) if m["text"] == "Guten Tag, hier ist Anna von Acme"],
        "the first message on the phone",
    )
    assert [m["chat_id"] for m in on_phone] == ["4917655501212@c.us"]


def test_the_panel_the_chat_view_and_the_phone_show_a_message_at_the_same_local_time(
    browser: Browser, demo: tuple[Settings, DemoAddresses], session: str
) -> None:
    """One rule: the reader's own time zone (here Tokyo's, UTC+9, while the company's is Berlin's)."""
    _, addresses = demo
    sent = datetime(2026, 12, 6, 5, 7, 30, tzinfo=UTC)
    expected = sent.astimezone(ZoneInfo("Asia/Tokyo"))  # 14:07 on 6 December
    waha = addresses.waha
    httpx.post(
        f"{waha}/_sim/clock", json={"set": int(sent.timestamp() * 1000)}, timeout=10
    ).raise_for_status()
    httpx.post(
        f"{waha}/_sim/{session}/inbound",
        json={"from": CONTACT_DIGITS, "text": "Wie spät ist es?"},
        timeout=10,
    ).raise_for_status()
    context = browser.new_context(timezone_id="Asia/Tokyo", viewport={"width": 1100, "height": 900})
    try:
        page = context.new_page()
        frame = open_panel(page, addresses)
        in_panel = frame.locator(".bubble.in", has_text="Wie spät ist es?").locator("footer time")
        expect(in_panel).to_have_text(expected.strftime("%d %b %H:%M"), timeout=15_000)
        chat_path = frame.locator("#open-chat").get_attribute("href")
        assert chat_path is not None
        sign_in_as(page, addresses, "Anna Admin", chat_path)
        in_chat = page.locator("#history .bubble", has_text="Wie spät ist es?").locator(".meta time")
        expect(in_chat).to_have_text(expected.strftime("%d %b %H:%M"))
        page.goto(f"{waha}/_sim/phone/{session}")
        page.locator(f'#chat-list li[data-chat-id="{CONTACT_DIGITS}@c.us"]').click()
        on_phone = page.locator("#bubbles .bubble", has_text="Wie spät ist es?").locator(".meta")
        expect(on_phone).to_have_text(re.compile("^" + expected.strftime("%H:%M")))
    finally:
        context.close()
