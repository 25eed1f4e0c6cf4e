"""Campaigns in the browser, from the Pipedrive sandbox's Person list: Anna ticks four Persons (one without
a phone, one who replied STOP), runs "Send WhatsApp campaign", previews the message and the skips with their
reasons, starts it after Pipedrive's confirmation, pauses and resumes it, and it finishes with each message
on the phone exactly once; and a campaign from a saved filter, previewed and run.

One demo for the module; each test adds the Persons (and the filter) it needs, so it passes alone and in
any order. The first campaign waits ten minutes between its two messages: paused after the first, the
test moves WaPipe's and the sandboxes' clocks past the gap (``DemoRuntime.pass_time``) and the second is
still not sent, then Resume sends it at once. The second campaign has no gap (the demo's campaigns look
at their outbox every half second, ``QUICK_WAITS``).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import FrameLocator, Page, expect

from server.demo import DemoAddresses
from server.settings import Settings
from tests.e2e.demo_world import DemoRuntime
from tests.e2e.panel_helpers import add_person, company_id, eventually, inbound, open_panel, outbox, settled
from tests.e2e.seen import expect_in_view, texts_top_to_bottom

NO_WAIT = {"#daily_cap": "0", "#quiet_start": "00:00", "#quiet_end": "00:00"}
GAP = 600  # seconds between two messages of the first campaign, skipped on the clocks, never waited for


def sent_to(addresses: DemoAddresses, session: str, digits: str) -> list[str]:
    """The texts the contact's phone got from the linked number."""
    return [m["text"] for m in outbox(addresses, session) if m["chat_id"].startswith(digits + "@")]


def open_modal(
    page: Page, addresses: DemoAddresses, ticked: list[int], filter_id: int | None = None
) -> FrameLocator:
    """The Persons list (with ``filter_id`` shown), the ``ticked`` rows ticked, the action run."""
    page.goto(f"{addresses.pipedrive}/host/persons" + (f"?filter_id={filter_id}" if filter_id else ""))
    for person in ticked:
        page.locator(f'.pd-row-select[value="{person}"]').check()
    page.locator("#pd-actions-toggle").click()
    page.locator("#pd-action-campaign").click()
    modal = page.frame_locator("#pd-modal-frame")
    expect(modal.locator('#campaign-root[data-step="compose"]')).to_be_visible(timeout=15_000)
    page.wait_for_function("() => window.__pdHost.modal.initialized === true")
    return modal


def fill(modal: FrameLocator, text: str, fields: dict[str, str]) -> None:
    for selector, value in fields.items():
        modal.locator(selector).fill(value)
    modal.locator("#campaign-text").fill(text)


def preview_rows(modal: FrameLocator) -> list[str]:
    return [" ".join(t.split()) for t in texts_top_to_bottom(modal.locator("#preview-rows > li"))]


def start(page: Page, modal: FrameLocator, question: str) -> None:
    button = settled(modal.locator("#campaign-start"))  # the preview swaps the button in with its rows
    button.scroll_into_view_if_needed()
    expect_in_view(button)
    button.click()
    confirm = page.locator("#pd-confirm")
    expect(confirm.locator("#pd-confirm-title")).to_have_text(question)
    confirm.locator("#pd-confirm-ok").click()
    expect(modal.locator('#campaign-root[data-step="progress"]')).to_be_visible(timeout=15_000)


def counts(modal: FrameLocator) -> dict[str, str]:
    found: dict[str, Any] = {}
    for item in modal.locator("#campaign-counts > div").all():
        status = item.get_attribute("data-status")
        found[str(status)] = item.locator("dd").inner_text()
    return found


def test_a_campaign_from_selected_persons_previews_skips_pauses_resumes_and_sends_each_once(
    page: Page, runtime: DemoRuntime, session: str, artifacts: Path
) -> None:
    addresses = runtime.addresses
    anton = add_person(addresses, "Anton Auswahl", ["+49 170 5550101"])
    berta = add_person(addresses, "Berta Auswahl", ["+49 170 5550102"])
    nophone = add_person(addresses, "Otto Ohnenummer", [])
    stopped = add_person(addresses, "Stefan Stopp", ["+49 170 5550103"])
    # Stefan replied STOP to an earlier message: once the panel shows his reply, WaPipe has read it.
    inbound(addresses, session, "491705550103", "STOP")
    panel = open_panel(page, addresses, stopped)
    expect(panel.locator("#panel-messages .bubble .text", has_text="STOP")).to_have_count(1, timeout=15_000)

    modal = open_modal(page, addresses, [anton, berta, nophone, stopped])
    expect(modal.locator("#campaign-source")).to_have_text("4 selected Persons")
    fill(
        modal,
        "Hallo {{person.first_name}}, unser Frühlingsangebot ist da.",
        {**NO_WAIT, "#min_gap": str(GAP), "#max_gap": str(GAP)},
    )
    expect(modal.locator("#preview-body")).to_have_attribute("data-will-send", "2", timeout=15_000)
    assert preview_rows(modal) == [
        "Anton Auswahl +491705550101 from +491701112223 Hallo Anton, unser Frühlingsangebot ist da.",
        "Berta Auswahl +491705550102 from +491701112223 Hallo Berta, unser Frühlingsangebot ist da.",
        "Otto Ohnenummer — Skipped: No phone number",
        "Stefan Stopp +491705550103 Skipped: Opted out",
    ]
    assert texts_top_to_bottom(modal.locator("#skip-counts > li")) == ["No phone number: 1", "Opted out: 1"]
    page.screenshot(path=str(artifacts / "campaign-preview.png"))

    start(page, modal, "Send this message to 2 people now?")

    def received() -> list[str]:
        return sent_to(addresses, session, "491705550101") + sent_to(addresses, session, "491705550102")

    eventually(received, "the first message on the phone")  # the second waits for the gap
    modal.locator("#campaign-pause").click()
    expect(modal.locator("#campaign-progress")).to_have_attribute("data-status", "paused")
    expect(modal.locator("#campaign-resume")).to_be_visible()
    runtime.pass_time(GAP + 1)  # the second message's turn has come, and its run has been
    assert received() == ["Hallo Anton, unser Frühlingsangebot ist da."]  # paused: not sent
    modal.locator("#campaign-resume").click()
    expect(modal.locator("#campaign-progress")).to_have_attribute("data-status", "finished", timeout=20_000)
    expect(modal.locator("#campaign-done")).to_have_text("100% of 4 recipients done")
    done = counts(modal)
    assert done["pending"] == "0" and done["queued"] == "0" and done["skipped"] == "2"
    assert int(done["sent"]) + int(done["delivered"]) + int(done["read"]) == 2
    assert texts_top_to_bottom(modal.locator("#progress-skips > li")) == [
        "No phone number: 1",
        "Opted out: 1",
    ]
    history = [
        " ".join(t.split(",")[0].split()) for t in texts_top_to_bottom(modal.locator("#campaign-audit > li"))
    ]
    assert history == [
        "Created by Anna Admin",
        "Started by Anna Admin",
        "Paused by Anna Admin",
        "Resumed by Anna Admin",
    ]
    expect_in_view(modal.locator("#campaign-bar"))
    page.screenshot(path=str(artifacts / "campaign-progress.png"))

    # The result per recipient, downloaded with the page's token.
    with page.expect_download() as download:
        modal.locator("#results-csv").click()
    assert download.value.suggested_filename == "campaign-{}-results.csv".format(
        modal.locator("#campaign-root").get_attribute("data-campaign-id")
    )
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text("utf-8-sig"))))
    assert [row[1] for row in rows[1:]] == [
        "Anton Auswahl",
        "Berta Auswahl",
        "Otto Ohnenummer",
        "Stefan Stopp",
    ]

    assert sent_to(addresses, session, "491705550101") == ["Hallo Anton, unser Frühlingsangebot ist da."]
    assert sent_to(addresses, session, "491705550102") == ["Hallo Berta, unser Frühlingsangebot ist da."]
    assert sent_to(addresses, session, "491705550103") == []


def test_a_campaign_from_a_saved_filter_previews_and_runs(
    page: Page, demo: tuple[Settings, DemoAddresses], session: str
) -> None:
    _, addresses = demo
    people = {
        "491705550201": add_person(addresses, "Filter Frieda", ["+49 170 5550201"]),
        "491705550202": add_person(addresses, "Filter Fritz", ["+49 170 5550202"]),
    }
    condition = {"object": "person", "field_key": "name", "operator": "LIKE '$%'", "value": "Filter F"}
    saved = httpx.post(
        f"{addresses.pipedrive}/_sandbox/companies/{company_id(addresses)}/filters",
        json={
            "name": "Filter people",
            "type": "people",
            "conditions": {"glue": "and", "conditions": [{"glue": "and", "conditions": [condition]}]},
        },
        timeout=10,
    )
    assert saved.status_code == 201, saved.text

    modal = open_modal(page, addresses, [], filter_id=int(saved.json()["id"]))
    expect(modal.locator("#campaign-source")).to_have_text("Saved filter: Filter people")
    fill(modal, "Guten Tag {{person.name}}", {**NO_WAIT, "#min_gap": "0", "#max_gap": "0"})
    expect(modal.locator("#preview-body")).to_have_attribute("data-will-send", "2", timeout=15_000)
    assert preview_rows(modal) == [
        "Filter Frieda +491705550201 from +491701112223 Guten Tag Filter Frieda",
        "Filter Fritz +491705550202 from +491701112223 Guten Tag Filter Fritz",
    ]
    start(page, modal, "Send this message to 2 people now?")
    expect(modal.locator("#campaign-progress")).to_have_attribute("data-status", "finished", timeout=20_000)
    # The settings page leads to the campaigns, inside the same frame: the list, then this campaign.
    page.goto(f"{addresses.pipedrive}/host/settings")
    settings = page.frame_locator("iframe")
    settings.locator("#open-campaigns").click()
    listed = settings.locator('#campaign-table tr[data-status="finished"]', has_text="Filter people")
    expect(listed).to_have_count(1, timeout=15_000)
    listed.locator("a.open-campaign").click()
    expect(settings.locator("#campaign-name")).to_have_text("Filter people")
    expect(settings.locator("#campaign-done")).to_have_text("100% of 2 recipients done")
    for digits, person in people.items():
        name = "Filter Frieda" if person == people["491705550201"] else "Filter Fritz"
        assert eventually(lambda d=digits: sent_to(addresses, session, d), "the message") == [
            f"Guten Tag {name}"
        ]


def test_a_preview_coming_back_while_pipedrive_asks_does_not_swallow_the_start(
    page: Page, demo: tuple[Settings, DemoAddresses], session: str
) -> None:
    """Anna edits the message and clicks Start before the preview of her edit came back: Pipedrive's
    confirmation is open when the preview swaps in a new Start button. Her Yes starts the campaign from the
    new button, without asking again, and the edited text is what goes out."""
    _, addresses = demo
    people = [add_person(addresses, name, [phone]) for name, phone in RACE_PEOPLE.items()]
    modal = open_modal(page, addresses, people)
    fill(modal, "Erster Entwurf {{person.name}}", {**NO_WAIT, "#min_gap": "0", "#max_gap": "0"})
    expect(modal.locator("#preview-body")).to_have_attribute("data-will-send", "2", timeout=15_000)
    button = settled(modal.locator("#campaign-start"))
    button.evaluate("button => { button.dataset.first = 'yes'; }")
    button.click()
    confirm = page.locator("#pd-confirm")
    expect(confirm.locator("#pd-confirm-title")).to_have_text("Send this message to 2 people now?")
    # The host's dialog is modal (the frame is inert behind it): the edit arrives the way htmx hears typing.
    modal.locator("#campaign-text").evaluate(
        "(box, text) => { box.value = text; box.dispatchEvent(new Event('input', { bubbles: true })); }",
        "Hallo {{person.name}}",
    )
    expect(modal.locator("#preview-rows")).to_contain_text("Hallo Race Rita", timeout=15_000)
    expect(modal.locator("#campaign-start")).to_have_count(1)
    expect(modal.locator("#campaign-start[data-first]")).to_have_count(0)  # the clicked button is gone
    confirm.locator("#pd-confirm-ok").click()
    expect(modal.locator('#campaign-root[data-step="progress"]')).to_be_visible(timeout=15_000)
    expect(modal.locator("#campaign-progress")).to_have_attribute("data-status", "finished", timeout=20_000)
    assert [c["title"] for c in page.evaluate("() => window.__pdHost.confirmations")] == [
        "Send this message to 2 people now?"
    ]
    for name, phone in RACE_PEOPLE.items():
        digits = phone.replace("+", "").replace(" ", "")
        assert eventually(lambda d=digits: sent_to(addresses, session, d), "the message") == [f"Hallo {name}"]


RACE_PEOPLE = {"Race Rita": "+49 170 5550401", "Race Rudi": "+49 170 5550402"}
