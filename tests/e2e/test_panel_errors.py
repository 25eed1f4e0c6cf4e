"""Every named refusal of the "Send WhatsApp message" panel, provoked through the real UI in Chromium (the
Pipedrive sandbox's Person and Deal pages, the WAHA sandbox's switches, a Cloud API number answering as
Meta does): each shows its reason with what to do, and what the user typed and chose is still there.
Also: re-linking the chat and pinning a Deal from the panel, seen in the settings page's audit log.
A refusal named on a sent message is checked to be on screen (``tests/e2e/seen.py``), not just rendered."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import FrameLocator, Page, expect

from server.domain.models import Account
from server.storage.accounts import SqlAccountStore
from server.storage.companies import SqlCompanyStore
from server.storage.outbox import SqlOutboxStore
from tests.e2e.cloud_number import CLOUD_NUMBER, add_cloud_number
from tests.e2e.demo_world import DemoRuntime
from tests.e2e.panel_helpers import (
    add_deal,
    add_file,
    add_person,
    company_id,
    eventually,
    open_panel,
    sandbox_state,
    write_history,
)
from tests.e2e.seen import expect_in_view
from tests.whatsapp.cloud_standin import CloudStandIn


@pytest.fixture(scope="module")
def cloud_account(runtime: DemoRuntime, session: str) -> Account:
    """A WhatsApp Cloud API number in Anna's company. Its stand-in for Meta's Graph API refuses
    free-form messages to anyone who has not written in the last 24 hours with error 131047, as Meta does."""
    return add_cloud_number(runtime, CloudStandIn(now=datetime.now(UTC)))


@pytest.fixture(scope="module")
def maria_chat(runtime: DemoRuntime, session: str) -> tuple[int, int]:
    """Maria (with a Deal) wrote to Anna's number from her phone: a chat the panel shows the link of."""
    maria = add_person(runtime.addresses, "Maria Kunde", ["+49 176 55503333"])
    deal = add_deal(runtime.addresses, "Maria's order", maria)
    httpx.post(
        f"{runtime.addresses.waha}/_sim/{session}/inbound",
        json={"from": "4917655503333", "text": "Hallo, ich habe eine Frage"},
        timeout=10,
    ).raise_for_status()
    return maria, deal


def count_requests(page: Page, path: str) -> list[str]:
    """The URLs of the page's requests to ``path`` from now on (the list grows as they are made)."""
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url) if path in request.url else None)
    return seen


def reason_in(frame: FrameLocator, reason: str, where: str = "#panel-form") -> None:
    notice = frame.locator(f'{where} [data-reason="{reason}"]')
    expect(notice).to_be_visible(timeout=15_000)


def test_a_person_without_a_phone_is_named_and_send_is_off(
    page: Page, runtime: DemoRuntime, session: str
) -> None:
    person = add_person(runtime.addresses, "Ohne Telefon", [])
    frame = open_panel(page, runtime.addresses, person)
    reason_in(frame, "no_phone_on_person")
    expect(frame.locator('[data-reason="no_phone_on_person"]')).to_contain_text(
        "Add a phone number to the Person in Pipedrive"
    )
    frame.locator("#text").fill("Hallo ohne Nummer")
    expect(frame.locator("#send")).to_be_disabled()
    expect(frame.locator("#text")).to_have_value("Hallo ohne Nummer")


def test_a_number_invalid_for_the_chosen_country_keeps_the_country_and_the_text(
    page: Page, runtime: DemoRuntime, session: str
) -> None:
    person = add_person(runtime.addresses, "Lokal Lisa", ["0176 5550 9999"])
    frame = open_panel(page, runtime.addresses, person)
    expect(frame.locator("#region-field")).to_be_visible()  # a number without its country code
    expect(frame.locator("#region")).to_have_value("DE")  # suggested from the From number
    frame.locator("#region").select_option("US")
    frame.locator("#text").fill("Hello Lisa")
    frame.locator("#send").click()
    reason_in(frame, "number_invalid")
    expect(frame.locator('[data-reason="number_invalid"]')).to_contain_text("Number invalid for the country")
    expect(frame.locator('[data-reason="number_invalid"]')).to_contain_text("US")
    expect(frame.locator("#region")).to_have_value("US")
    expect(frame.locator("#region-field")).to_be_visible()
    expect(frame.locator("#to")).to_have_value("0176 5550 9999")
    expect(frame.locator("#text")).to_have_value("Hello Lisa")


def test_a_number_not_on_whatsapp_is_named_before_anything_is_queued(
    page: Page, runtime: DemoRuntime, session: str
) -> None:
    person = add_person(runtime.addresses, "Nicht Auf WhatsApp", ["+49 176 00000000", "+49 176 55501234"])
    httpx.post(
        runtime.addresses.waha + "/_sim/directory",
        json={"phone": "4917600000000", "exists": False},
        timeout=10,
    ).raise_for_status()
    frame = open_panel(page, runtime.addresses, person)
    frame.locator("#to").select_option("+49 176 00000000")
    frame.locator("#text").fill("Sind Sie auf WhatsApp?")
    frame.locator("#send").click()
    reason_in(frame, "number_not_on_whatsapp")
    expect(frame.locator('[data-reason="number_not_on_whatsapp"]')).to_contain_text(
        "+4917600000000 has no WhatsApp account"
    )
    expect(frame.locator("#to")).to_have_value("+49 176 00000000")
    expect(frame.locator("#text")).to_have_value("Sind Sie auf WhatsApp?")
    expect(frame.locator(".bubble.out")).to_have_count(0)


def test_an_attachment_too_large_for_whatsapp_is_refused_with_the_choice_kept(
    page: Page, runtime: DemoRuntime, session: str
) -> None:
    person = add_person(runtime.addresses, "Katalog Kunde", ["+49 176 55504444"])
    catalogue = add_file(
        runtime.addresses, "catalogue.pdf", b"%PDF-1.4 " + b"0" * (65 * 1024 * 1024), person_id=person
    )
    frame = open_panel(page, runtime.addresses, person)
    frame.locator("#file").select_option(label="catalogue.pdf (Person)")
    frame.locator("#text").fill("Hier ist unser Katalog")
    frame.locator("#send").click()
    reason_in(frame, "attachment_too_large")
    notice = frame.locator('[data-reason="attachment_too_large"]')
    expect(notice).to_contain_text("catalogue.pdf is 65 MB; WhatsApp takes attachments up to 64 MB")
    expect(notice).to_contain_text("Choose a smaller file")
    expect(frame.locator("#file")).to_have_value(str(catalogue))
    expect(frame.locator("#text")).to_have_value("Hier ist unser Katalog")


def test_free_text_outside_the_cloud_api_24_hour_window_is_refused_before_it_is_queued(
    page: Page, runtime: DemoRuntime, session: str, cloud_account: Account, artifacts: Path
) -> None:
    person = add_person(runtime.addresses, "Cloud Kunde", ["+49 176 55505555"])
    # The contact wrote to Anna's WAHA number before (not to the Cloud number): more than the list shows.
    earlier = [f"Frühere Nachricht {n:02d}" for n in range(1, 13)]
    write_history(runtime.addresses, session, "4917655505555", earlier)
    frame = open_panel(page, runtime.addresses, person)
    expect(frame.locator("#panel-messages .bubble")).to_have_count(12, timeout=15_000)
    frame = open_panel(page, runtime.addresses, person)
    frame.locator("#from").select_option(str(cloud_account.id))
    frame.locator("#text").fill("Unser Angebot gilt noch bis Freitag")
    frame.locator("#send").click()
    reason_in(frame, "outside_cloud_window")
    notice = frame.locator('#panel-form [data-reason="outside_cloud_window"]')
    expect(notice).to_contain_text("Pick an approved template")
    expect(notice).to_contain_text("has not written to this number in the last 24 hours")
    expect_in_view(notice)
    page.screenshot(path=str(artifacts / "panel-outside-24h-window.png"), full_page=True)
    # Nothing was queued, and nothing typed is lost.
    expect(frame.locator(".bubble.out", has_text="Unser Angebot gilt noch bis Freitag")).to_have_count(0)
    expect(frame.locator("#text")).to_have_value("Unser Angebot gilt noch bis Freitag")
    expect(frame.locator("#from")).to_have_value(str(cloud_account.id))
    expect(frame.locator("#to")).to_have_value("+49 176 55505555")


def test_relink_and_pin_from_the_panel_are_audited(
    page: Page, runtime: DemoRuntime, maria_chat: tuple[int, int]
) -> None:
    addresses = runtime.addresses
    maria, deal = maria_chat
    other = add_person(addresses, "Maria Zweitkontakt", ["+49 176 55503334"])
    frame = open_panel(page, addresses, maria)
    expect(frame.locator(".bubble.in", has_text="ich habe eine Frage")).to_have_count(1, timeout=15_000)
    frame.locator("#text").fill("Guten Morgen Maria")
    frame.locator("#send").click()
    expect(frame.locator(".bubble.out", has_text="Guten Morgen Maria")).to_have_attribute(
        "data-status", "sent", timeout=15_000
    )

    frame = open_panel(page, addresses, maria)  # the chat exists now: the panel shows how it is linked
    frame.locator("#panel-link summary").click()
    # Found by name as the user types (one search once they pause), chosen from the hits.
    searches = count_requests(page, "/panel/search")
    frame.locator("#relink-person").press_sequentially("Zweitk", delay=30)
    hit = frame.locator("#relink-hits .search-hit")
    expect(hit).to_have_count(1)
    expect(hit).to_contain_text("Maria Zweitkontakt")
    expect(hit).to_contain_text("+49 176 55503334")
    assert 1 <= len(searches) < len("Zweitk"), searches  # debounced: not one search per key
    # By phone, written nationally, the same Person is found.
    frame.locator("#relink-person").fill("0176 5550 3334")
    expect(hit).to_have_count(1)
    expect(hit).to_contain_text("Maria Zweitkontakt")
    hit.click()
    expect(frame.locator("#panel-link .notice.ok")).to_have_text(
        f"The chat is now linked to Maria Zweitkontakt (Person #{other})"
    )
    expect(frame.locator("#panel-link summary")).to_contain_text(
        f"Linked to Person #{other} · by a manual link"
    )

    frame = open_panel(page, addresses, deal, "deal")  # on the Deal, "Pin" suggests that Deal
    frame.locator("#panel-link summary").click()
    expect(frame.locator("#pin-deal")).to_have_value(str(deal))
    frame.locator("#pin-deal").fill("order")
    deal_hit = frame.locator("#pin-hits .search-hit")
    expect(deal_hit).to_have_count(1)
    expect(deal_hit).to_contain_text("Maria's order")
    deal_hit.click()
    expect(frame.locator("#panel-link .notice.ok")).to_have_text(
        f"“Maria's order” (Deal #{deal}) is pinned to this chat"
    )
    frame.locator("#panel-link button[name='unpin']").click()
    expect(frame.locator("#panel-link .notice.ok")).to_have_text("The Deal is no longer pinned")

    page.goto(addresses.pipedrive + "/host/settings")
    settings = page.frame_locator("iframe")
    expect(settings.locator("#audit-log tr[data-action='chat.relink']")).to_have_count(1)
    expect(settings.locator("#audit-log tr[data-action='chat.pin']")).to_have_count(1)
    expect(settings.locator("#audit-log tr[data-action='chat.unpin']")).to_contain_text(f'"before": {deal}')
    expect(settings.locator("#audit-log tr[data-action='message.send']").first).to_be_visible()
    expect(settings.locator("#audit-log tr[data-action='chat.relink']")).to_contain_text(str(other))
    expect(settings.locator("#audit-log tr[data-action='chat.relink']")).to_contain_text("Anna Admin")


def test_a_from_number_unlinked_meanwhile_stays_chosen_and_is_refused_by_name(
    page: Page, runtime: DemoRuntime, session: str, cloud_account: Account
) -> None:
    person = add_person(runtime.addresses, "Umsicht Ute", ["+49 176 55507070"])
    frame = open_panel(page, runtime.addresses, person)
    frame.locator("#from").select_option(str(cloud_account.id))
    frame.locator("#text").fill("Von der Firmennummer")
    accounts = SqlAccountStore(runtime.resources.engine)
    runtime.run(accounts.set_status(cloud_account.id, "unlinked", "unlinked in WaPipe"))
    try:
        for _ in range(2):  # a second click is refused the same way: never sent from another number
            frame.locator("#send").click()
            reason_in(frame, "from_disconnected")
            notice = frame.locator('#panel-form [data-reason="from_disconnected"]')
            expect(notice).to_contain_text(f"{CLOUD_NUMBER} is not connected – unlinked in WaPipe")
            expect(notice).to_contain_text("Link it again on the WhatsApp numbers page")
            expect(notice).to_contain_text("Or choose another From number")
            expect(notice).not_to_contain_text("Reconnect")
            expect(notice).not_to_contain_text("Relink")
            expect(frame.locator("#from")).to_have_value(str(cloud_account.id))
            expect(frame.locator("#from option:checked")).to_have_text(f"{CLOUD_NUMBER} – unlinked in WaPipe")
            expect(frame.locator("#text")).to_have_value("Von der Firmennummer")
        state = sandbox_state(runtime.addresses)
        assert not any("Von der Firmennummer" in str(a.get("note") or "") for a in state["activities"])
        outbox_rows = runtime.run(
            SqlOutboxStore(runtime.resources.engine).for_person(runtime.run(_company_id(runtime)), person)
        )
        assert outbox_rows == []
    finally:
        runtime.run(accounts.set_status(cloud_account.id, "connected"))


async def _company_id(runtime: DemoRuntime) -> int:
    company = await SqlCompanyStore(runtime.resources.engine).get(company_id(runtime.addresses))
    assert company is not None
    return company.id


def test_a_disconnected_from_number_is_named_and_nothing_is_lost(
    page: Page, runtime: DemoRuntime, session: str
) -> None:
    person = add_person(runtime.addresses, "Offline Olga", ["+49 176 55506666"])
    frame = open_panel(page, runtime.addresses, person)
    from_number = frame.locator("#from").input_value()
    frame.locator("#text").fill("Bitte nicht verlieren")
    httpx.post(f"{runtime.addresses.waha}/_sim/{session}/fail", json={"reason": "phone off"}, timeout=10)
    accounts = SqlAccountStore(runtime.resources.engine)

    def disconnected() -> bool:
        account = runtime.run(accounts.by_session("waha", session))
        return account is not None and account.status != "connected"

    eventually(disconnected, "WaPipe to see the number disconnected")
    frame.locator("#send").click()
    reason_in(frame, "from_disconnected")
    notice = frame.locator('[data-reason="from_disconnected"]')
    why = "connection failed: the phone may be offline or logged out"
    expect(notice).to_contain_text(f"+491701112223 is not connected – {why}")
    expect(notice).to_contain_text("WhatsApp numbers page")
    expect(frame.locator("#text")).to_have_value("Bitte nicht verlieren")
    expect(frame.locator("#from")).to_have_value(from_number)
    expect(frame.locator(f'#from option[value="{from_number}"]')).to_have_text(f"+491701112223 – {why}")


def test_an_exhausted_pipedrive_budget_is_named_and_nothing_is_lost(
    page: Page, runtime: DemoRuntime, maria_chat: tuple[int, int]
) -> None:
    """Last in the module: WaPipe then leaves Pipedrive alone for up to an hour before it asks again."""
    addresses = runtime.addresses
    maria, _ = maria_chat
    frame = open_panel(page, addresses, maria)
    expect(frame.locator("#panel-link")).to_be_visible()
    frame.locator("#text").fill("Noch eine Frage")
    budget = f"{addresses.pipedrive}/_sandbox/companies/{company_id(addresses)}/budget"
    httpx.post(budget, json={"exhaust": True}, timeout=10).raise_for_status()

    # Re-linking asks Pipedrive whether the Person exists: refused by name, the typed id kept.
    frame.locator("#panel-link summary").click()
    frame.locator("#relink-person").fill(str(maria))
    frame.locator("#relink").click()
    reason_in(frame, "budget_exhausted", "#panel-link")
    notice = frame.locator('#panel-link [data-reason="budget_exhausted"]')
    expect(notice).to_contain_text("Pipedrive budget exhausted")
    expect(notice).to_contain_text("nothing you typed was sent or lost")
    expect(frame.locator("#relink-person")).to_have_value(str(maria))
    expect(frame.locator("#text")).to_have_value("Noch eine Frage")

    # A panel whose Person WaPipe has not just read names the same reason for the whole panel.
    nina = add_person(addresses, "Neu Nina", ["+49 176 55508888"])
    frame = open_panel(page, addresses, nina)
    expect(frame.locator('#panel [data-reason="budget_exhausted"]')).to_contain_text(
        "Pipedrive budget exhausted"
    )
