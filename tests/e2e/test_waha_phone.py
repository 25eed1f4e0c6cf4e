"""The WAHA sandbox's simulated phone in Chromium: link a number, write as a customer, watch the ticks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from sandbox.waha import Clock, SandboxState, create_app
from tests.e2e.live_server import serve

API_KEY = "e2e-key"


@pytest.fixture
def base_url() -> Iterator[str]:
    state = SandboxState(clock=Clock(follow_wall_clock=True), ack_delays=(0.2, 0.4, 0.6))
    with serve(create_app(state, api_key=API_KEY)) as url:
        state.public_url = url
        yield url


def test_link_by_scanning_then_chat_as_a_customer(page: Page, base_url: str, artifacts: Path) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    api = httpx.Client(base_url=base_url, headers={"X-Api-Key": API_KEY}, timeout=10)
    assert api.post("/api/sessions", json={"name": "default"}).status_code == 201

    page.goto(base_url + "/_sim/phone/default")
    expect(page.locator("#screen-qr")).to_be_visible()
    expect(page.locator("#status")).to_have_text("SCAN_QR_CODE")
    expect(page.locator("#qr")).to_have_attribute("src", "/_sim/phone/default/qr.png?v=1.0")
    assert page.evaluate("document.getElementById('qr').naturalWidth") > 200
    page.fill("#link-phone", "+49 151 55501234")
    page.fill("#link-name", "Mia Schmidt")
    page.click("#scan")

    expect(page.locator("#screen-app")).to_be_visible()
    expect(page.locator("#status")).to_have_text("WORKING")
    expect(page.locator("#me-number")).to_have_text("+4915155501234")
    me = api.get("/api/sessions/default/me").json()
    assert (me["id"], me["pushName"]) == ("4915155501234@c.us", "Mia Schmidt")
    assert me["lid"].endswith("@lid")
    expect(page.locator("#chat-list li")).to_have_count(3)  # the history a linked phone already has

    page.select_option("#customer", "447911123456")
    page.fill("#customer-text", "Hi! Is the <b>blue</b> model in stock?")
    page.click("#send-text")
    first = page.locator("#chat-list li").first
    expect(first.locator(".chat-name")).to_have_text("Priya Nair")
    expect(first.locator(".chat-last")).to_have_text("Hi! Is the <b>blue</b> model in stock?")

    page.fill("#customer-text", "This one")
    page.click("#customer-form button[data-kind=image]")
    expect(first.locator(".chat-last")).to_have_text("Photo: This one")

    reply = api.post(
        "/api/sendText", json={"session": "default", "chatId": "447911123456@c.us", "text": "Yes!"}
    )
    assert reply.status_code == 201
    first.click()
    expect(page.locator("#conv-title")).to_have_text("Priya Nair")
    outgoing = page.locator("#bubbles .bubble.out").last
    expect(outgoing.locator(".text")).to_have_text("Yes!")
    expect(outgoing.locator(".tick")).to_have_attribute("data-ack", "3", timeout=10_000)
    expect(outgoing.locator(".tick")).to_have_class("tick read")

    page.fill("#owner-text", "Sending the photos in a minute")
    page.press("#owner-text", "Enter")
    last_out = page.locator("#bubbles .bubble.out").last
    expect(last_out.locator(".text")).to_have_text("Sending the photos in a minute")
    expect(last_out.locator(".tick")).to_have_attribute("data-ack", "3", timeout=10_000)
    expect(page.locator("#bubbles .bubble img")).to_have_count(1)
    assert page.evaluate("document.querySelector('#bubbles .bubble img').naturalWidth") == 64
    typed = api.get("/api/default/chats/447911123456@c.us/messages", params={"limit": 1}).json()[0]
    assert (typed["fromMe"], typed["source"]) == (True, "app")

    page.screenshot(path=str(artifacts / "phone-page.png"), full_page=True)
    assert all(url.startswith(base_url) for url in requests), [
        u for u in requests if not u.startswith(base_url)
    ]
    api.close()
