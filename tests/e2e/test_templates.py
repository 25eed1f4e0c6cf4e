"""Message templates in Chromium against the demo: an admin makes a template with placeholders on the
templates page (reached from the settings page, a placeholder put in by a click on the help); in the Person
panel she picks it, sees it rendered from the sandbox's Person in the message box, edits it and sends it,
and the simulated phone receives what she sent; the chat view's reply box offers it too."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from server.demo import DemoAddresses
from server.settings import Settings
from tests.e2e.panel_helpers import PERSON, eventually, open_panel, outbox, sandbox_state, settled
from tests.e2e.test_settings_page import sign_in_as


def test_a_template_with_placeholders_is_made_picked_edited_and_sent(
    page: Page, demo: tuple[Settings, DemoAddresses], session: str
) -> None:
    _, addresses = demo
    state = sandbox_state(addresses)
    person = next(p for p in state["persons"] if p["id"] == PERSON)
    anna = next(u for u in state["users"] if u["name"] == "Anna Admin")
    first_name = person["name"].split()[0]

    page.goto(addresses.pipedrive + "/host/settings")
    frame = page.frame_locator("iframe")
    frame.locator("#templates-link").click()
    expect(frame.locator("h1")).to_have_text("Message templates")
    expect(frame.locator("#no-templates")).to_be_visible()
    frame.locator("#template-name").fill("Begrüßung")
    frame.locator("input[name=scope][value=company]").check()
    text = frame.locator("#template-text")
    text.fill("Hallo ")
    frame.locator("#placeholder-help [data-placeholder='{{person.first_name}}']").click()
    text.press("End")
    text.press_sequentially(", hier ist {{me.first_name}}. {{deal.title|Ihre Anfrage}}")
    expect(text).to_have_value(
        "Hallo {{person.first_name}}, hier ist {{me.first_name}}. {{deal.title|Ihre Anfrage}}"
    )
    frame.locator("#template-save").click()
    expect(frame.locator("#template-saved")).to_be_visible()
    expect(frame.locator("#templates-table .template-name")).to_have_text(["Begrüßung"])

    panel = open_panel(page, addresses)
    picker = settled(panel.locator("#template-picker"))
    picker.select_option(label="Begrüßung (Company)")
    rendered = f"Hallo {first_name}, hier ist {anna['name'].split()[0]}. Ihre Anfrage"
    box = panel.locator("#text")
    expect(box).to_have_value(rendered)
    expect(panel.locator("#template-warnings [data-reason]")).to_have_count(0)
    edited = rendered + " – bis bald!"
    box.fill(edited)
    panel.locator("#send").click()
    expect(box).to_have_value("")  # a fresh form once queued
    eventually(lambda: [m for m in outbox(addresses, session) if m["text"] == edited], "the edited template")

    # The chat view's reply box offers the same template, rendered for the chat's Person.
    chat_path = open_panel(page, addresses).locator("#open-chat").get_attribute("href")
    assert chat_path is not None
    sign_in_as(page, addresses, "Anna Admin", chat_path)
    settled(page.locator("#template-picker")).select_option(label="Begrüßung (Company)")
    expect(page.locator("#reply-text")).to_have_value(rendered)
