"""The "Send WhatsApp message" panel in Chromium, inside the Pipedrive sandbox's Person page, with the
WhatsApp sandbox's phone on the other end: install, link a number, send, receive, attach; screenshots.
The named refusals are in ``test_panel_errors.py``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from server.demo import DemoAddresses
from server.settings import Settings
from tests.e2e.demo_world import running_demo
from tests.e2e.panel_helpers import (
    CONTACT_DIGITS,
    PERSON,
    add_file,
    eventually,
    install_and_link,
    open_panel,
    outbox,
    sandbox_state,
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, DemoAddresses]]:
    with running_demo(tmp_path_factory.mktemp("panel-e2e")) as running:
        yield running


def test_the_panel_sends_receives_attaches_and_names_its_errors(
    page: Page, demo: tuple[Settings, DemoAddresses], artifacts: Path
) -> None:
    _, addresses = demo
    session = install_and_link(page, addresses)
    add_file(addresses, "price-list.pdf", b"%PDF-1.4 prices", person_id=PERSON)

    # initialize + resize + theme (light, then dark live)
    frame = open_panel(page, addresses)
    expect(frame.locator(".panel-person")).to_have_text("Munich Contact 1")
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
    eventually(
        lambda: any(m.get("filename") == "price-list.pdf" for m in outbox(addresses, session)),
        "the file on the phone",
    )

    # a reply from the phone appears in the panel and in the Person's "WhatsApp chat" activity
    httpx.post(
        f"{addresses.waha}/_sim/{session}/inbound",
        json={"from": CONTACT_DIGITS, "text": "Danke, bis morgen!"},
        timeout=10,
    ).raise_for_status()
    expect(frame.locator(".bubble.in", has_text="Danke, bis morgen!")).to_have_count(1, timeout=15_000)
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
    expect(frame.locator(".bubble.in", has_text="Danke, bis morgen!")).to_have_count(1)
    frame.locator("#text").fill("Bis morgen um 10!")
    frame.locator("#panel-link summary").click()
    page.screenshot(path=str(artifacts / "panel-light.png"), full_page=True)
    page.evaluate("() => window.__pdHost.setTheme('dark')")
    expect(frame.locator("html")).to_have_attribute("data-theme", "dark")
    page.screenshot(path=str(artifacts / "panel-dark.png"), full_page=True)
