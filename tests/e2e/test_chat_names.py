"""Chats named as Pipedrive knows them, in the browser: the "WhatsApp chat" activity of a chat linked to
"Munich Contact 1" carries that Person's name (not the contact's WhatsApp name), and the settings page's
exclusion list names a group by its subject, though groups are not imported."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from server.demo import DemoAddresses
from server.settings import Settings
from tests.e2e.panel_helpers import CONTACT_DIGITS, eventually, sandbox_state


def test_activities_and_exclusions_name_the_person_and_the_group(
    page: Page, demo: tuple[Settings, DemoAddresses], session: str
) -> None:
    _, addresses = demo
    sim = f"{addresses.waha}/_sim/{session}"
    group = httpx.post(
        f"{sim}/groups", json={"subject": "Lager Nord", "members": [CONTACT_DIGITS]}, timeout=10
    )
    group.raise_for_status()
    httpx.post(
        f"{sim}/inbound",
        json={"from": CONTACT_DIGITS, "text": "Ist die Ware da?", "name": "Klaus Becker"},
        timeout=10,
    ).raise_for_status()
    httpx.post(
        f"{sim}/inbound",
        json={
            "from": CONTACT_DIGITS,
            "text": "Bestand?",
            "group": group.json()["id"],
            "name": "Klaus Becker",
        },
        timeout=10,
    ).raise_for_status()

    [activity] = eventually(
        lambda: [
            a for a in sandbox_state(addresses)["activities"] if "Ist die Ware da?" in str(a.get("note"))
        ],
        "the chat's activity in Pipedrive",
    )
    assert activity["subject"] == "WhatsApp chat with Munich Contact 1"

    page.goto(addresses.pipedrive + "/host/settings")
    page.wait_for_function("() => window.__pdHost && window.__pdHost.initialized === true")
    frame = page.frame_locator("iframe")
    options = frame.locator("#exclude-chat option")
    expect(options.nth(0)).to_have_text("Lager Nord (group)")  # newest first
    expect(options.nth(1)).to_have_text("Munich Contact 1 · +498963648018")
    expect(options.filter(has_text="Klaus Becker")).to_have_count(0)
