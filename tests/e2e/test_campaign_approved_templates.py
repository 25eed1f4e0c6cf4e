"""A campaign sent as a WhatsApp-approved template, in the browser: Anna's company has a Cloud API number
(its Graph API a stand-in that lists Meta's templates and refuses free text outside the 24-hour window).
In the campaign modal the approved templates come and go with the Cloud API number among the chosen From
numbers; choosing one fills the message box and the form's hidden field, the preview shows each
recipient's filled template, and Start sends template messages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect

from server.demo import DemoAddresses
from server.domain.models import Account
from server.settings import Settings
from tests.e2e.cloud_number import CLOUD_NUMBER, add_cloud_number
from tests.e2e.demo_world import DemoRuntime
from tests.e2e.panel_helpers import add_person, eventually, settled
from tests.e2e.test_campaigns import NO_WAIT, open_modal, preview_rows, start
from tests.whatsapp.cloud_standin import BUSINESS_ACCOUNT_ID, CloudStandIn

ORDER_TEXT = "Hello {{person.first_name|there}}, your order {{deal.title|A-17}} is on its way."


@pytest.fixture(scope="module")
def graph() -> CloudStandIn:
    return CloudStandIn(now=datetime.now(UTC))


@pytest.fixture(scope="module")
def cloud_account(runtime: DemoRuntime, session: str, graph: CloudStandIn) -> Account:
    """A Cloud API number in Anna's company, order_update's variables mapped by an admin."""
    mapping = {"1": "person.first_name|there", "2": "deal.title|A-17"}
    return add_cloud_number(
        runtime, graph, business_account=BUSINESS_ACCOUNT_ID, mapping=("order_update:en_US", mapping)
    )


def test_a_campaign_from_a_cloud_number_is_sent_as_the_chosen_approved_template(
    page: Page,
    demo: tuple[Settings, DemoAddresses],
    session: str,
    cloud_account: Account,
    graph: CloudStandIn,
) -> None:
    _, addresses = demo
    clara = add_person(addresses, "Clara Wolke", ["+49 170 5550301"])
    carl = add_person(addresses, "Carl Wolke", ["+49 170 5550302"])
    modal = open_modal(page, addresses, [clara, carl])
    cloud = modal.locator(f"#account-{cloud_account.id}")
    web = modal.locator('#from-fields [name="account_ids"]:checked')  # Anna's WhatsApp Web number
    approved_group = modal.locator('#template_id optgroup[data-group="cloud"]')
    expect(approved_group).to_have_count(0)

    web.uncheck()
    cloud.check()
    expect(approved_group).to_have_count(1)
    settled(modal.locator("#template_id")).select_option("cloud:order_update:en_US")
    expect(modal.locator("#campaign-text")).to_have_value(ORDER_TEXT)
    expect(modal.locator("#approved_template")).to_have_value("order_update:en_US")
    expect(modal.locator('#template-notice[data-reason="approved_template_chosen"]')).to_be_visible()

    cloud.uncheck()  # no Cloud API number chosen: the approved templates go, and the choice with them
    expect(approved_group).to_have_count(0)
    expect(modal.locator("#approved_template")).to_have_value("")
    cloud.check()
    expect(approved_group).to_have_count(1)
    settled(modal.locator("#template_id")).select_option("cloud:order_update:en_US")
    expect(modal.locator("#approved_template")).to_have_value("order_update:en_US")

    for selector, value in {**NO_WAIT, "#min_gap": "0", "#max_gap": "0"}.items():
        modal.locator(selector).fill(value)
    expect(modal.locator("#preview-body")).to_have_attribute("data-will-send", "2", timeout=15_000)
    assert preview_rows(modal) == [
        f"Clara Wolke +491705550301 from {CLOUD_NUMBER} WhatsApp-approved template "
        "Hello Clara, your order A-17 is on its way.",
        f"Carl Wolke +491705550302 from {CLOUD_NUMBER} WhatsApp-approved template "
        "Hello Carl, your order A-17 is on its way.",
    ]
    # A Cloud API number cannot ask whether a number has WhatsApp: the send finds out.
    expect(modal.locator("#preview-body")).to_have_attribute("data-unchecked", "2")
    start(page, modal, "Send this message to up to 2 people now?")
    expect(modal.locator("#campaign-progress")).to_have_attribute("data-status", "finished", timeout=20_000)
    sent = eventually(lambda: len(graph.sent) == 2 and graph.sent, "both template messages")
    assert sorted((m["to"], m["type"]) for m in sent) == [
        ("491705550301", "template"),
        ("491705550302", "template"),
    ]
