"""The demo's story as a new user follows it in Chromium: the phone page offers the Persons in Pipedrive
as the people who write; what they write lands in Pipedrive, and the Person's and Deal's pages show it as
Pipedrive does: the "WhatsApp chat" activity with its transcript, the attachment under Files (downloadable),
the "WhatsApp chat link" field as a link. Notes are shown formatted; nothing in them runs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from server.demo import DemoAddresses
from server.settings import Settings
from tests.e2e.panel_helpers import PERSON, eventually, sandbox_state

HOSTILE = "<img src=x onerror=\"document.title='ran'\">Is the <b>blue</b> one in stock?"


def test_the_seeded_deal_and_the_app_name_are_there_before_any_chat(
    page: Page, demo: tuple[Settings, DemoAddresses]
) -> None:
    _, addresses = demo
    page.goto(f"{addresses.pipedrive}/host/deal/1")
    expect(page.locator("#pd-title")).to_have_text("Office chairs for the Munich office")
    expect(page.locator(".pd-fields")).to_contain_text("4,800 EUR")
    expect(page.locator(".pd-fields")).to_contain_text("Munich Contact 1")
    expect(page.locator("#pd-panel-toggle")).to_have_text("WaPipe")
    expect(page.locator("#pd-activities .pd-empty")).to_have_text("No activities yet.")
    expect(page.locator("#pd-files .pd-empty")).to_have_text("No files yet.")
    page.goto(f"{addresses.pipedrive}/host/settings")
    expect(page.locator("h1.pd-title")).to_have_text("WaPipe settings")


def test_a_contact_picked_on_the_phone_shows_up_on_the_person_and_deal_pages(
    page: Page, demo: tuple[Settings, DemoAddresses], session: str, artifacts: Path
) -> None:
    _, addresses = demo
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    # The phone page: the Persons in Pipedrive come first under "Who writes", the first one chosen.
    page.goto(f"{addresses.waha}/_sim/phone/{session}")
    expect(page.locator("#status")).to_have_text("WORKING")
    crm = page.locator('#customer optgroup[label="People in Pipedrive"] option')
    expect(crm).to_have_text(["Munich Contact 1 · +498963648018", "Mobile Max · +4915112345678"])
    others = page.locator('#customer optgroup[label="Other WhatsApp users"] option')
    expect(others.first).to_have_text("Ana Souza · +5511987654321")
    expect(page.locator("#customer")).to_have_value("498963648018")
    page.fill("#customer-text", HOSTILE)
    page.click("#send-text")
    expect(page.locator("#customer-result")).to_contain_text("Sent text")
    page.fill("#customer-text", "Our offer, signed")
    page.click("#customer-form button[data-kind=document]")
    expect(page.locator("#customer-result")).to_contain_text("Sent document")

    def chat_in_pipedrive() -> dict[str, Any] | None:
        """The sandbox once the chat, its attachment and the Person's chat link are all written."""
        state = sandbox_state(addresses)
        notes = [a["note"] or "" for a in state["activities"]]
        activity = any("Is the" in note and "Brochure.pdf" in note for note in notes)
        stored = any(f["name"] == "Brochure.pdf" and f["person_id"] == PERSON for f in state["files"])
        keys = [f["key"] for f in state["person_fields"] if f["name"] == "WhatsApp chat link"]
        [person] = [p for p in state["persons"] if p["id"] == PERSON]
        linked = bool(keys) and bool(person["custom_fields"].get(keys[0]))
        return state if activity and stored and linked else None

    state = eventually(chat_in_pipedrive, "the chat, its attachment and link in Pipedrive", timeout=60)
    [stored] = [f for f in state["files"] if f["name"] == "Brochure.pdf" and f["person_id"] == PERSON]
    [link_field] = [f for f in state["person_fields"] if f["name"] == "WhatsApp chat link"]
    [person] = [p for p in state["persons"] if p["id"] == PERSON]
    chat_url = person["custom_fields"][link_field["key"]]

    # The Person's page: the chat link, the activity with the transcript (formatted, nothing run), Files.
    page.goto(f"{addresses.pipedrive}/host/person/{PERSON}")
    link = page.locator(".pd-fields dd a", has_text=chat_url)
    expect(link).to_have_attribute("href", chat_url)
    assert re.fullmatch(rf"{re.escape(addresses.wapipe)}/chats/\d+", chat_url)
    activity = page.locator("#pd-activities .pd-activity").first
    expect(activity.locator(".pd-item-title")).to_contain_text("WhatsApp chat")
    expect(activity.locator(".pd-rich")).to_contain_text(
        "<img src=x onerror=\"document.title='ran'\">Is the <b>blue</b> one in stock?"
    )
    expect(activity.locator(".pd-rich")).to_contain_text("Brochure.pdf")
    expect(activity.locator(".pd-rich b").first).to_be_visible()  # the sender's name, bold
    assert activity.locator(".pd-rich img").count() == 0
    file_row = page.locator("#pd-files .pd-file", has_text="Brochure.pdf")
    expect(file_row).to_contain_text(f"{stored['file_size']} B" if stored["file_size"] < 1024 else "KB")
    with page.expect_download() as downloading:
        file_row.locator("a").click()
    download = downloading.value
    assert download.suggested_filename == "Brochure.pdf"
    fetched = httpx.get(f"{addresses.pipedrive}/api/v1/files/{stored['id']}/download", timeout=10)
    assert fetched.status_code == 401  # the API wants a token; the page's link is the user's own way
    saved = Path(download.path()).read_bytes()
    assert saved.startswith(b"%PDF") and len(saved) == stored["file_size"]
    page.screenshot(path=str(artifacts / "demo-person-page.png"), full_page=True)

    # The Deal of that Person shows the same chat.
    page.goto(f"{addresses.pipedrive}/host/deal/1")
    expect(page.locator("#pd-activities .pd-activity .pd-rich").first).to_contain_text("one in stock?")
    expect(page.locator("#pd-files")).to_contain_text("Brochure.pdf")
    assert page.title() != "ran" and dialogs == []
