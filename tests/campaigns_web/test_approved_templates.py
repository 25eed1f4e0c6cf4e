"""A campaign from a WhatsApp Business (Cloud API) number sent as a WhatsApp-approved template, through the
modal's pages against the Graph API stand-in: the template choice offers the approved templates only when a
chosen From number is a Cloud API number, choosing one fills the message box and the form's hidden
``approved_template``, the preview shows the template filled per recipient (or why they are skipped), Start
sends template messages, and a template the number does not have is refused by name."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from server.settings import Settings
from server.storage.accounts import SqlAccountStore
from tests.campaigns_web.steps import QUICK, account_id, get, open_campaign, post, reasons, text_of
from tests.panel.world import PanelWorld, panel_world
from tests.whatsapp.cloud_standin import BUSINESS_ACCOUNT_ID, PHONE_NUMBER_ID, TOKEN, CloudStandIn
from tests.world import world_settings_overrides

CLOUD_NUMBER = "+49301234567"
ORDER = "order_update:en_US"
# order_update's body, "Hello {{1}}, your order {{2}} is on its way.", with the mapping below in place
ORDER_TEXT = "Hello {{person.first_name|there}}, your order {{deal.title|A-17}} is on its way."


@dataclass
class Cloud:
    world: PanelWorld
    graph: CloudStandIn
    cloud: int  # Anna's company's Cloud API number (account id)
    web: int  # Anna's WhatsApp Web number

    def template_reads(self) -> int:
        """Pages of the business account's template list read from the Graph API so far."""
        return sum(r.url.path.endswith("/message_templates") for r in self.graph.requests)


@pytest.fixture
async def cloud(make_settings: Callable[..., Settings]) -> AsyncIterator[Cloud]:
    settings = make_settings(
        **world_settings_overrides(),
        cloud_access_token=TOKEN,
        cloud_app_secret="campaign-app-secret",
        cloud_verify_token="campaign-verify",
        cloud_business_account_id=BUSINESS_ACCOUNT_ID,
    )
    graph = CloudStandIn(now=datetime.now(UTC))
    async with panel_world(settings, cloud=httpx.MockTransport(graph.handle)) as world:
        web = await account_id(world)
        accounts = SqlAccountStore(world.resources.engine)
        number = await accounts.create(
            company_id=world.anna.company_id,
            owner_user_id=world.anna.id,
            transport="cloud",
            session_name=PHONE_NUMBER_ID,
        )
        await accounts.set_number(number.id, CLOUD_NUMBER, "Acme")
        await accounts.set_status(number.id, "connected")
        yield Cloud(world, graph, number.id, web)


async def map_order_update(world: PanelWorld, **variables: str) -> None:
    mapping = variables or {"1": "person.first_name|there", "2": "deal.title|A-17"}
    form = {"template": ORDER, **{f"var:{name}": value for name, value in mapping.items()}}
    saved = await world.client.post("/settings/cloud-templates", data=form, headers=world.headers())
    assert saved.status_code == 200 and 'data-saved="yes"' in saved.text, saved.text


def compose(numbers: list[int], text: str = ORDER_TEXT, key: str = ORDER, **changes: Any) -> dict[str, Any]:
    """The compose form after choosing the approved template ``key`` (empty: free text)."""
    return {
        "text": text,
        "template_id": f"cloud:{key}" if key else "",
        "approved_template": key,
        "from_mode": "fixed",
        "account_ids": [str(n) for n in numbers],
        **QUICK,
        **changes,
    }


def preview_rows(html: str) -> list[tuple[str, str]]:
    rows = re.findall(r'<li class="preview-row[^"]*" data-skip="([a-z_]*)">(.*?)</li>', html, re.S)
    return [(skip, text_of(body)) for skip, body in rows]


async def test_the_approved_templates_are_offered_only_when_a_cloud_number_is_chosen(cloud: Cloud) -> None:
    world = cloud.world
    created = await post(world, "/campaigns/modal/source", {"resource": "person", "selectedIds": "1"})
    assert created.status_code == 200, created.text
    assert f'id="account-{cloud.cloud}"> {CLOUD_NUMBER}' in created.text  # offered as a From number
    assert 'data-group="cloud"' not in created.text  # her WhatsApp Web number is chosen first
    assert 'id="approved_template" name="approved_template" value=""' in created.text

    offered = await get(world, f"/campaigns/templates?account_ids={cloud.web}&account_ids={cloud.cloud}")
    assert offered.status_code == 200, offered.text
    assert '<optgroup label="WhatsApp-approved templates" data-group="cloud">' in offered.text
    assert '<option value="cloud:order_update:en_US">order_update (en_US, not set up yet)</option>' in (
        offered.text
    )
    assert '<option value="cloud:welcome_back:en_US">welcome_back (en_US)</option>' in offered.text
    assert "spring_sale" not in offered.text and "bad_idea" not in offered.text  # pending, rejected
    assert "hx-trigger-after-settle" not in offered.headers

    chosen = "template_id=cloud:welcome_back:en_US&approved_template=welcome_back:en_US"
    kept = await get(world, f"/campaigns/templates?account_ids={cloud.cloud}&{chosen}")
    assert '<option value="cloud:welcome_back:en_US" selected>' in kept.text
    assert 'name="approved_template" value="welcome_back:en_US"' in kept.text

    dropped = await get(world, f"/campaigns/templates?account_ids={cloud.web}&{chosen}")
    assert dropped.status_code == 200 and 'data-group="cloud"' not in dropped.text
    assert 'name="approved_template" value=""' in dropped.text
    assert dropped.headers["hx-trigger-after-settle"] == "template-picked"  # the preview is asked again

    reads = cloud.template_reads()
    assert reads > 0
    for _ in range(3):
        await get(world, f"/campaigns/templates?account_ids={cloud.cloud}")
    assert cloud.template_reads() == reads  # Meta's list is read once, then kept

    theirs = await get(world, f"/campaigns/templates?account_ids={cloud.cloud}", world.grace)
    assert theirs.status_code == 200 and 'data-group="cloud"' not in theirs.text  # Acme's number


async def test_choosing_an_approved_template_fills_the_box_and_the_hidden_field(cloud: Cloud) -> None:
    world = cloud.world
    await map_order_update(world)
    box = await get(world, f"/campaigns/template?template_id=cloud:{ORDER}&account_ids={cloud.cloud}")
    assert box.status_code == 200, box.text
    assert box.headers["hx-trigger-after-settle"] == "template-picked"
    assert "hx-reswap" not in box.headers
    assert f'placeholder="Hello {{{{person.first_name|there}}}}, …">{ORDER_TEXT}</textarea>' in box.text
    assert f'name="approved_template" value="{ORDER}" hx-swap-oob="true"' in box.text
    assert 'data-reason="approved_template_chosen"' in box.text
    assert "WhatsApp Web numbers send the text below" in text_of(box.text)

    for query, reason in (
        (f"template_id=cloud:order_update:de&account_ids={cloud.cloud}", "unmapped_template_variable"),
        (f"template_id=cloud:spring_sale:en_US&account_ids={cloud.cloud}", "unknown_template"),
        (f"template_id=cloud:{ORDER}&account_ids={cloud.web}", "template_needs_cloud_number"),
    ):
        refused = await get(world, f"/campaigns/template?{query}")
        assert refused.status_code == 200 and refused.headers["hx-reswap"] == "none", query
        assert "<textarea" not in refused.text  # the box stays as typed
        assert reasons(refused.text) == [reason], (query, refused.text)
        assert 'name="approved_template" value="" hx-swap-oob="true"' in refused.text

    free = await get(world, "/campaigns/template?template_id=")
    assert 'name="approved_template" value="" hx-swap-oob="true"' in free.text


async def test_preview_and_start_send_the_template_filled_for_each_recipient(cloud: Cloud) -> None:
    world = cloud.world
    await map_order_update(world)
    persons = world.persons
    campaign = await open_campaign(world, [persons["maria"], persons["local"], persons["nophone"]])

    free = await post(world, f"/campaigns/{campaign}/preview", compose([cloud.cloud], "Hallo", key=""))
    assert free.status_code == 200, free.text
    assert [skip for skip, _ in preview_rows(free.text)] == [
        "outside_cloud_window",  # neither ever wrote to the Cloud API number
        "outside_cloud_window",
        "no_phone",
    ]
    assert 'data-will-send="0"' in free.text

    answer = await post(world, f"/campaigns/{campaign}/preview", compose([cloud.cloud]))
    assert answer.status_code == 200, answer.text
    assert preview_rows(answer.text) == [
        (
            "",
            f"Maria Kunde +4917655501234 from {CLOUD_NUMBER} WhatsApp-approved template "
            "Hello Maria, your order A-17 is on its way.",
        ),
        (
            "",
            f"Lokal Lisa +4917655509999 from {CLOUD_NUMBER} WhatsApp-approved template "
            "Hello Lokal, your order A-17 is on its way.",
        ),
        ("no_phone", "Ohne Telefon — Skipped: No phone number"),
    ]
    assert f'data-template="{ORDER}"' in answer.text and 'data-will-send="2"' in answer.text
    reads = cloud.template_reads()
    await post(world, f"/campaigns/{campaign}/preview", compose([cloud.cloud]))
    assert cloud.template_reads() == reads  # a preview per keystroke asks Meta nothing more

    started = await post(world, f"/campaigns/{campaign}/start", compose([cloud.cloud]))
    assert started.status_code == 200, started.text
    await world.settle()
    rows = await world.outbox()
    assert sorted((r["status"], r["template_name"], r["template_language"], r["text"]) for r in rows) == [
        ("sent", "order_update", "en_US", "Hello Lokal, your order A-17 is on its way."),
        ("sent", "order_update", "en_US", "Hello Maria, your order A-17 is on its way."),
    ]
    assert sorted(json.loads(r["template_parameters"])["values"][0] for r in rows) == ["Lokal", "Maria"]
    sent = cloud.graph.sent
    assert sorted(str(message["to"]) for message in sent) == ["4917655501234", "4917655509999"]
    assert {message["type"] for message in sent} == {"template"}


async def test_in_a_mixed_campaign_the_whatsapp_web_number_sends_the_text(cloud: Cloud) -> None:
    world = cloud.world
    await map_order_update(world)
    campaign = await open_campaign(world, [world.persons["maria"], world.persons["local"]])
    fields = compose([cloud.web, cloud.cloud], from_mode="round_robin")

    answer = await post(world, f"/campaigns/{campaign}/preview", fields)
    assert answer.status_code == 200, answer.text
    assert preview_rows(answer.text) == [
        ("", "Maria Kunde +4917655501234 from +4915112345678 Hello Maria, your order A-17 is on its way."),
        (
            "",
            f"Lokal Lisa +4917655509999 from {CLOUD_NUMBER} WhatsApp-approved template "
            "Hello Lokal, your order A-17 is on its way.",
        ),
    ]

    started = await post(world, f"/campaigns/{campaign}/start", fields)
    assert started.status_code == 200, started.text
    await world.settle()
    assert world.waha is not None
    assert [m["text"] for m in world.waha.outbox("wp-acme-anna")] == [
        "Hello Maria, your order A-17 is on its way."
    ]
    [template] = cloud.graph.sent
    assert template["type"] == "template" and template["to"] == "4917655509999"
    rows = {r["account_id"]: r for r in await world.outbox()}
    assert (rows[cloud.web]["template_name"], rows[cloud.cloud]["template_name"]) == ("", "order_update")


async def test_an_approved_template_needs_no_text_unless_a_whatsapp_web_number_sends_too(
    cloud: Cloud,
) -> None:
    world = cloud.world
    await map_order_update(world)
    campaign = await open_campaign(world, [world.persons["maria"]])

    alone = await post(world, f"/campaigns/{campaign}/preview", compose([cloud.cloud], text=""))
    assert alone.status_code == 200, alone.text
    assert "empty_message" not in reasons(alone.text)
    assert 'data-will-send="1"' in alone.text and "Hello Maria, your order A-17 is on its way." in alone.text

    mixed = await post(world, f"/campaigns/{campaign}/preview", compose([cloud.web, cloud.cloud], text=""))
    assert mixed.status_code == 400 and reasons(mixed.text) == ["template_needs_cloud_number"]
    no_template = await post(world, f"/campaigns/{campaign}/preview", compose([cloud.cloud], text="", key=""))
    assert no_template.status_code == 400 and reasons(no_template.text) == ["empty_message"]


async def test_a_recipient_the_template_cannot_be_filled_for_is_skipped_in_the_preview(cloud: Cloud) -> None:
    world = cloud.world
    await map_order_update(world, **{"1": "person.first_name", "2": "org.name"})  # no fallback
    campaign = await open_campaign(world, [world.persons["maria"]])
    answer = await post(world, f"/campaigns/{campaign}/preview", compose([cloud.cloud]))
    assert answer.status_code == 200, answer.text
    [(skip, shown)] = preview_rows(answer.text)
    assert skip == "template_unavailable" and "Skipped:" in shown
    assert 'data-reason="template_unavailable">' in answer.text and 'data-will-send="0"' in answer.text


async def test_a_template_the_number_does_not_have_is_refused_by_name(cloud: Cloud) -> None:
    world = cloud.world
    await map_order_update(world)
    campaign = await open_campaign(world, [world.persons["maria"]])
    cases = [
        (compose([cloud.cloud], key="spring_sale:en_US"), "template_id", "unknown_template"),  # pending
        (compose([cloud.cloud], key="order_update:fr"), "template_id", "unknown_template"),
        (compose([cloud.cloud], key="not a key"), "template_id", "unknown_template"),
        (compose([cloud.cloud], key="order_update:de"), "template_id", "unmapped_template_variable"),
        (compose([cloud.web]), "account_ids", "template_needs_cloud_number"),
    ]
    for fields, field, reason in cases:
        for path in (f"/campaigns/{campaign}/preview", f"/campaigns/{campaign}/start"):
            answer = await post(world, path, fields)
            assert answer.status_code == 400, (fields, path, answer.text)
            assert f'data-field="{field}" data-reason="{reason}"' in answer.text, (fields, answer.text)
            assert 'id="campaign-start"' not in answer.text
    progress = await get(world, f"/campaigns/{campaign}/progress")
    assert 'data-status="draft"' in progress.text  # nothing was started
    assert await world.outbox() == [] and cloud.graph.sent == []
