"""The settings page's matching parts in Chromium, inside the Pipedrive sandbox's settings host: the preview
says in plain words what a typed number matches (and what a chat from an unknown one would create under
the settings as saved); the re-check list shows chats linked to a Person whose phones no longer match,
and an admin keeps one link and re-links another chat, which moves to the Person the rules find now.

The tests share one demo, where Anna installed WaPipe and linked her number once (``session``), and the
Persons they match against, in Pipedrive before that (WaPipe reads every Person once, when it starts to
sync the company; one Klaus Becker, as two Persons with his number would leave his chats to neither)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from playwright.sync_api import FrameLocator, Page, expect
from sqlalchemy import select

from server.domain.sync import ChatLink
from server.storage.tables import table_of
from tests.e2e.demo_world import DemoRuntime
from tests.e2e.panel_helpers import (
    CONTACT_DIGITS,
    add_person,
    eventually,
    inbound,
    open_panel,
    sandbox_state,
)
from tests.e2e.seen import expect_in_view
from tests.e2e.test_settings_page import save_settings

KLAUS = "493023456789"  # Klaus Becker's phone, stored as "+49 30 2345 6789"


@pytest.fixture(scope="module")
def persons(runtime: DemoRuntime) -> dict[str, int]:
    """The Persons of Anna's company the tests match against, by name; their ids."""
    phones = {
        "Klaus Becker": "+49 30 2345 6789",  # KLAUS
        "Bia Brasil": "+55 21 99876-5432",
        "Velho <b>Vitor</b>": "+55 21 9876-5432",
    }
    return {name: add_person(runtime.addresses, name, [phone]) for name, phone in phones.items()}


@pytest.fixture(scope="module")
def session(persons: dict[str, int], session: str) -> str:
    """Anna's linked number (``tests/e2e/conftest.py``), linked once the module's Persons are in
    Pipedrive."""
    return session


def settings_frame(page: Page, runtime: DemoRuntime) -> FrameLocator:
    page.goto(runtime.addresses.pipedrive + "/host/settings")
    page.wait_for_function("() => window.__pdHost && window.__pdHost.initialized === true")
    frame = page.frame_locator("iframe")
    expect(frame.locator("h1")).to_have_text("WaPipe settings")
    return frame


def person_id(runtime: DemoRuntime, name: str) -> int:
    [found] = [p["id"] for p in sandbox_state(runtime.addresses)["persons"] if p["name"] == name]
    return int(found)


def link_of(runtime: DemoRuntime, digits: str) -> dict[str, Any] | None:
    """The stored link of the chat with this number, read in WaPipe's database."""
    from server.storage.tables import Chat
    from server.storage.tables_sync import SyncChatLink

    chats, links = table_of(Chat), table_of(SyncChatLink)

    async def read() -> dict[str, Any] | None:
        query = (
            select(links)
            .select_from(links.join(chats, chats.c.id == links.c.chat_id))
            .where(chats.c.e164 == "+" + digits)
        )
        async with runtime.resources.engine.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        return dict(row) if row else None

    return runtime.run(read())


def link_to(runtime: DemoRuntime, chat_id: int, person: int, name: str) -> None:
    """Store the chat's link as an earlier version of the rules might have left it: matched to ``person``.
    Written under the chat's lease, as every link change is, so a sync still running cannot write over it."""
    from server.services.sync.links import change_link
    from server.storage.sync import SqlSyncStore

    resources = runtime.resources
    store = SqlSyncStore(resources.engine)

    def earlier(link: ChatLink) -> ChatLink:
        return replace(link, person_id=person, person_name=name, rule="index_exact", alternatives=())

    async def write() -> None:
        chat = await store.chat(chat_id)
        assert chat is not None
        now = resources.clock.now()
        await change_link(
            store, resources.queue, chat.company_id, chat_id, earlier, now=now, mark_dirty=False
        )

    runtime.run(write())


def linked(runtime: DemoRuntime, digits: str) -> dict[str, Any]:
    found: dict[str, Any] = eventually(
        lambda: (link := link_of(runtime, digits)) and link["person_id"] and link,
        f"the chat of +{digits} linked",
    )
    return found


def preview_row(frame: FrameLocator, typed: str) -> Any:
    return frame.locator("#preview-table tbody tr", has_text=typed)


def test_the_preview_says_what_a_number_matches_in_plain_words(
    page: Page, runtime: DemoRuntime, session: str
) -> None:
    inbound(runtime.addresses, session, CONTACT_DIGITS, "Guten Tag")  # the sync reads every Person once
    linked(runtime, CONTACT_DIGITS)

    frame = settings_frame(page, runtime)
    frame.get_by_text("Matching preview", exact=True).click()  # the tool opens on demand
    frame.locator("#preview-numbers").fill("+49 30 23456789\n+55 21 99876-5432\n+49 40 5550 1111")
    frame.locator("#preview-run").click()
    klaus = preview_row(frame, "+49 30 23456789").locator(".match-sentence")
    klaus.scroll_into_view_if_needed()
    expect_in_view(klaus)
    expect(klaus).to_have_text("Matched +49 30 2345 6789 on Person Klaus Becker exactly")
    brazil = preview_row(frame, "+55 21 99876-5432")
    expect(brazil.locator(".match-sentence")).to_have_text(
        "Matched +55 21 99876-5432 on Person Bia Brasil exactly"
    )
    variant = "as a country variant (Brazilian mobile without its 9)"
    expect(brazil.locator(".match-others li")).to_have_text(
        [f"Person Velho <b>Vitor</b>: +55 21 9876-5432 matches {variant}"]
    )
    expect(frame.locator("#preview-table b")).to_have_count(0)  # the name's markup is text, not bold
    stranger = preview_row(frame, "+49 40 5550 1111").locator(".match-sentence")
    expect(stranger).to_have_text("No Person matches; a chat from this number would create a Person")

    # The demo's Mobile Max is +49 151 12345678 (also stored as 0151 1234 5678): numbers abroad sharing
    # his last 8 digits are no match for him.
    abroad = ("+52 1 55 1234 5678", "+33 6 12 34 56 78", "+61 4 1234 5678")
    frame.locator("#preview-numbers").fill("\n".join(abroad))
    frame.locator("#preview-run").click()
    for typed in abroad:
        row = preview_row(frame, typed)
        expect(row.locator(".match-sentence")).to_have_text(
            "No Person matches; a chat from this number would create a Person"
        )
        expect(row).not_to_contain_text("Mobile Max")

    # Saved settings change what the preview says an unknown number would create.
    save_settings(page, runtime.addresses, action="deal", pipeline="WhatsApp inbound")
    frame = settings_frame(page, runtime)
    frame.get_by_text("Matching preview", exact=True).click()  # the tool opens on demand
    frame.locator("#preview-numbers").fill("+49 40 5550 1111")
    frame.locator("#preview-run").click()
    expect(preview_row(frame, "+49 40 5550 1111").locator(".match-sentence")).to_have_text(
        "No Person matches; a chat from this number would create a Person and a Deal in WhatsApp inbound"
    )


def test_the_recheck_list_keeps_one_link_and_relinks_another_chat(
    page: Page, runtime: DemoRuntime, session: str, persons: dict[str, int]
) -> None:
    klaus = persons["Klaus Becker"]
    inbound(runtime.addresses, session, CONTACT_DIGITS, "Grüße aus München")
    inbound(runtime.addresses, session, KLAUS, "Hallo, hier ist Klaus")
    munich_chat, klaus_chat = linked(runtime, CONTACT_DIGITS), linked(runtime, KLAUS)
    assert klaus_chat["person_id"] == klaus
    # Both chats stored on Mobile Max (+49 151 12345678), as no rule today would link them.
    max_id = person_id(runtime, "Mobile Max")
    link_to(runtime, munich_chat["chat_id"], max_id, "Mobile Max")
    link_to(runtime, klaus_chat["chat_id"], max_id, "Mobile Max")
    max_panel = open_panel(page, runtime.addresses, max_id)
    expect(max_panel.locator(".bubble", has_text="Hallo, hier ist Klaus")).to_have_count(1, timeout=15_000)

    frame = settings_frame(page, runtime)
    rows = frame.locator("#recheck-table tbody tr")
    expect(rows).to_have_count(2, timeout=15_000)
    munich = rows.filter(has_text="+49 89 63648018")
    klaus_row = rows.filter(has_text="+49 30 23456789")
    for row in (munich, klaus_row):
        expect(row).to_contain_text("Person Mobile Max")
        expect(row).to_contain_text(
            "+4915112345678 is another number (+49 1511 2345678), stored with its country code"
        )
    munich.scroll_into_view_if_needed()
    expect_in_view(munich)

    munich.get_by_role("button", name="Keep").click()
    notice = frame.locator("#recheck-notice")
    expect(notice).to_have_text(
        "The link of +49 89 63648018 to Person Mobile Max is kept: it is a manual link now, not listed again"
    )
    expect(rows).to_have_count(1)
    expect(munich).to_have_count(0)

    klaus_row.get_by_role("button", name="Re-link").click()
    expect(notice).to_have_text(
        "The chat with +49 30 23456789 is now linked to Person Klaus Becker: matched +49 30 2345 6789 exactly"
    )
    expect(rows).to_have_count(0)
    expect(frame.locator("#recheck-empty")).to_be_visible()
    expect(frame.locator("#audit-log tr[data-action='chat.keep_link']")).to_have_count(1)
    expect(frame.locator("#audit-log tr[data-action='chat.rematch']")).to_have_count(1)

    # Reloaded, the list stays empty: the kept link is not listed again.
    frame = settings_frame(page, runtime)
    expect(frame.locator("#recheck-empty")).to_be_visible(timeout=15_000)

    # The chat moved: Mobile Max's panel no longer shows Klaus's messages (the kept chat it still does),
    # and Klaus's next message is logged on Klaus Becker in Pipedrive.
    max_panel = open_panel(page, runtime.addresses, max_id)
    expect(max_panel.locator(".bubble", has_text="Grüße aus München")).to_have_count(1, timeout=15_000)
    expect(max_panel.locator(".bubble", has_text="Hallo, hier ist Klaus")).to_have_count(0)
    inbound(runtime.addresses, session, KLAUS, "Noch eine Frage")
    eventually(
        lambda: any(
            "Noch eine Frage" in str(a.get("note") or "")
            and [p["person_id"] for p in a.get("participants") or []] == [klaus]
            for a in sandbox_state(runtime.addresses)["activities"]
        ),
        "Klaus's next message logged on Klaus Becker",
    )
