"""The "Send WhatsApp message" panel in Chromium, inside the Pipedrive sandbox's Person page, with the
WhatsApp sandbox's phone on the other end: install, link a number, send, receive, attach, fail by name."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import FrameLocator, Page, expect

from server.demo import DemoAddresses
from server.settings import Settings
from tests.e2e.demo_world import running_demo

PERSON = 1  # "Munich Contact 1", +49 89 6364 8018, in the demo's first company
CONTACT_DIGITS = "498963648018"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, DemoAddresses]]:
    with running_demo(tmp_path_factory.mktemp("panel-e2e")) as running:
        yield running


def sandbox_state(addresses: DemoAddresses) -> dict[str, Any]:
    data: dict[str, Any] = httpx.get(addresses.pipedrive + "/_sandbox/state", timeout=10).json()
    company: dict[str, Any] = data["companies"][0]
    return company


def install_and_link(page: Page, addresses: DemoAddresses) -> str:
    page.goto(addresses.wapipe + "/install")
    page.click("#allow")
    expect(page.locator("#install-setup")).to_have_attribute("data-setup", "complete", timeout=15_000)
    page.goto(addresses.pipedrive + "/host/settings")
    frame = page.frame_locator("iframe")
    frame.locator("#link-number").click()
    expect(frame.locator("#pairing img.qr")).to_be_visible(timeout=15_000)
    phone_url = frame.locator("#pairing .demo-hint a").get_attribute("href")
    assert phone_url is not None
    phone = page.context.new_page()
    phone.goto(phone_url)
    phone.fill("#link-phone", "+49 170 1112223")
    phone.fill("#link-name", "Anna Admin")
    phone.click("#scan")
    expect(phone.locator("#status")).to_have_text("WORKING")
    expect(frame.locator("#pairing.done")).to_be_visible(timeout=15_000)
    phone.close()
    return phone_url.rsplit("/", 1)[1]


def open_panel(page: Page, addresses: DemoAddresses) -> FrameLocator:
    page.goto(f"{addresses.pipedrive}/host/person/{PERSON}")
    page.wait_for_function("() => window.__pdHost && window.__pdHost.initialized === true")
    return page.frame_locator("iframe")


def outbox(addresses: DemoAddresses, session: str) -> list[dict[str, Any]]:
    answer: list[dict[str, Any]] = httpx.get(f"{addresses.waha}/_sim/{session}/outbox", timeout=10).json()
    return answer


def test_the_panel_sends_receives_attaches_and_names_its_errors(
    page: Page, demo: tuple[Settings, DemoAddresses], artifacts: Path
) -> None:
    _, addresses = demo
    session = install_and_link(page, addresses)
    company_id = sandbox_state(addresses)["company"]["id"]
    httpx.post(
        f"{addresses.pipedrive}/_sandbox/companies/{company_id}/files",
        json={
            "name": "price-list.pdf",
            "content_base64": base64.b64encode(b"%PDF-1.4 prices").decode(),
            "person_id": PERSON,
        },
        timeout=10,
    ).raise_for_status()

    # initialize + resize + theme (light, then dark live)
    frame = open_panel(page, addresses)
    expect(frame.locator(".panel-person")).to_have_text("Munich Contact 1")
    calls = page.evaluate("() => window.__pdHost.calls.map(c => c.command)")
    assert calls[0] == "initialize"
    page.wait_for_function("() => window.__pdHost.calls.some(c => c.command === 'resize')")
    expect(frame.locator("html")).to_have_attribute("data-theme", "light")
    expect(frame.locator("#from option:checked")).to_contain_text("+491701112223")
    page.screenshot(path=str(artifacts / "panel-light.png"), full_page=True)
    page.evaluate("() => window.__pdHost.setTheme('dark')")
    expect(frame.locator("html")).to_have_attribute("data-theme", "dark")
    page.screenshot(path=str(artifacts / "panel-dark.png"), full_page=True)
    page.evaluate("() => window.__pdHost.setTheme('light')")

    # send text with a double click: one message reaches the phone, ticks update, a snackbar shows
    frame.locator("#text").fill("Guten Tag aus Pipedrive")
    frame.locator("#send").dblclick()
    bubble = frame.locator(".bubble.out", has_text="Guten Tag aus Pipedrive")
    expect(bubble).to_have_count(1, timeout=15_000)
    expect(bubble).to_have_attribute("data-status", "sent", timeout=15_000)
    expect(frame.locator("#text")).to_have_value("")
    page.wait_for_function("() => window.__pdHost.snackbars.length >= 1")
    time.sleep(1)
    sent = [m for m in outbox(addresses, session) if m["text"] == "Guten Tag aus Pipedrive"]
    assert len(sent) == 1
    httpx.post(
        f"{addresses.waha}/_sim/{session}/ack", json={"id": sent[0]["message_id"], "ack": 3}, timeout=10
    )
    expect(bubble).to_have_attribute("data-status", "read", timeout=15_000)

    # send a Person's file
    frame.locator("#file").select_option(label="price-list.pdf (Person)")
    frame.locator("#send").click()
    expect(frame.locator(".bubble.out", has_text="price-list.pdf")).to_have_count(1, timeout=15_000)
    deadline = time.monotonic() + 15
    while not any(m.get("filename") == "price-list.pdf" for m in outbox(addresses, session)):
        assert time.monotonic() < deadline, outbox(addresses, session)
        time.sleep(0.3)

    # a reply from the phone appears in the panel and in the Person's "WhatsApp chat" activity
    httpx.post(
        f"{addresses.waha}/_sim/{session}/inbound",
        json={"from": CONTACT_DIGITS, "text": "Danke, bis morgen!"},
        timeout=10,
    ).raise_for_status()
    expect(frame.locator(".bubble.in", has_text="Danke, bis morgen!")).to_have_count(1, timeout=15_000)
    deadline = time.monotonic() + 30
    while True:
        notes = [str(a.get("note") or "") for a in sandbox_state(addresses)["activities"]]
        if any("Danke, bis morgen!" in note for note in notes):
            break
        assert time.monotonic() < deadline, notes
        time.sleep(0.5)

    # named errors, nothing typed lost: an empty message, then a disconnected From number
    frame.locator("#text").fill("   ")
    frame.locator("#send").click()
    expect(frame.locator('[data-reason="empty_message"]')).to_be_visible()
    httpx.post(f"{addresses.waha}/_sim/{session}/fail", json={"reason": "phone off"}, timeout=10)
    frame.locator("#text").fill("Bitte nicht verlieren")
    deadline = time.monotonic() + 15
    while True:
        frame.locator("#send").click()
        reason = frame.locator("#panel-form [data-reason]")
        try:
            expect(reason).to_have_attribute("data-reason", "from_disconnected", timeout=2_000)
            break
        except AssertionError:
            assert time.monotonic() < deadline
    expect(frame.locator("#text")).to_have_value("Bitte nicht verlieren")
