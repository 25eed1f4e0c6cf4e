"""Erasing a contact in Chromium, on the Pipedrive sandbox's settings host: a contact writes, the panel and
Pipedrive show it; the admin reviews and confirms the erasure on the settings page, which lists what stays
in Pipedrive; the panel and the chat view no longer have the messages."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from server.demo import DemoAddresses
from server.settings import Settings
from tests.e2e.panel_helpers import eventually

PERSON = 1  # "Munich Contact 1", +49 89 6364 8018, in the demo's first company
CONTACT_DIGITS = "498963648018"
SECRET = "Bitte löschen Sie meine Daten"


def activities(addresses: DemoAddresses) -> list[dict[str, Any]]:
    data: dict[str, Any] = httpx.get(addresses.pipedrive + "/_sandbox/state", timeout=10).json()
    found: list[dict[str, Any]] = data["companies"][0]["activities"]
    return found


def test_an_admin_erases_a_contact_from_the_settings_page(
    page: Page, demo: tuple[Settings, DemoAddresses], session: str, artifacts: Path
) -> None:
    _, addresses = demo  # Anna installed WaPipe and linked her number (session)
    httpx.post(
        f"{addresses.waha}/_sim/{session}/inbound", json={"from": CONTACT_DIGITS, "text": SECRET}, timeout=10
    ).raise_for_status()

    # The panel shows the message and Pipedrive gets the day's activity.
    page.goto(f"{addresses.pipedrive}/host/person/{PERSON}")
    page.wait_for_function("() => window.__pdHost && window.__pdHost.initialized === true")
    panel = page.frame_locator("iframe")
    expect(panel.locator(".bubble.in", has_text=SECRET)).to_have_count(1, timeout=15_000)
    chat_url = panel.locator("#open-chat").get_attribute("href")
    assert chat_url is not None
    eventually(
        lambda: any(SECRET in str(a.get("note") or "") for a in activities(addresses)),
        "the day's activity in Pipedrive",
    )

    # Review, then erase, on the settings page.
    page.goto(addresses.pipedrive + "/host/settings")
    page.wait_for_function("() => window.__pdHost && window.__pdHost.initialized === true")
    settings = page.frame_locator("iframe")
    settings.get_by_text("Erase a contact", exact=True).click()  # the tool opens on demand
    settings.locator("#erase-phone").fill("0049 89 63648018")
    settings.locator("#erase-review").click()
    expect(settings.locator("#erase-question")).to_contain_text("+498963648018")
    expect(settings.locator("#erase-preview")).to_contain_text("1 message(s)")
    settings.locator("#erase-confirm").click()
    done = settings.locator("#erase-done")
    expect(done).to_be_visible(timeout=15_000)
    expect(done).to_contain_text("1 chat(s), 1 message(s)")
    remaining = settings.locator("#erase-remaining")
    expect(remaining).to_contain_text(f"person {PERSON} (Munich Contact 1)")
    expect(remaining).to_contain_text("WhatsApp chat of")
    expect(settings.locator("#audit-log tr[data-action='contact.erase']")).to_have_count(1)
    expect(settings.locator("#audit-log")).to_contain_text("+49…018")
    page.screenshot(path=str(artifacts / "settings-erase.png"), full_page=True)

    # Bad input is refused by name.
    settings.locator("#erase-phone").fill("089 63648018")
    settings.locator("#erase-review").click()
    expect(settings.locator("[data-reason='phone_needs_country_code']")).to_be_visible()

    # Gone from the panel and from the chat view; the activity stays in Pipedrive.
    page.goto(f"{addresses.pipedrive}/host/person/{PERSON}")
    page.wait_for_function("() => window.__pdHost && window.__pdHost.initialized === true")
    expect(page.frame_locator("iframe").locator(".panel-person")).to_have_text("Munich Contact 1")
    expect(page.frame_locator("iframe").locator(".bubble", has_text=SECRET)).to_have_count(0)
    page.goto(chat_url if chat_url.startswith("http") else addresses.wapipe + chat_url)
    if re.search(r"/oauth/authorize", page.url):
        page.click("#allow")
    expect(page.locator("body")).not_to_contain_text(SECRET)
    expect(page.locator("[data-reason]").first).to_be_visible()
    assert any(SECRET in str(a.get("note") or "") for a in activities(addresses))
