"""WhatsApp-approved templates end to end, through the app and the in-process job runner against the Graph
API stand-in: an admin maps a template's variables on the settings page, free text to a contact outside
the 24-hour window is refused before it is queued, the template goes out as a template message and the
inbox shows its filled-in body, and each refusal names its reason."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from server.settings import Settings
from server.storage.accounts import SqlAccountStore
from server.storage.tables import AuditLog, Message
from server.storage.tables_cloud_templates import CloudTemplateMapping
from tests.chat_view.test_chat_view import browser, chat_id_of, csrf, sign_in
from tests.panel.world import PanelWorld, panel_world
from tests.whatsapp.cloud_standin import (
    BUSINESS_ACCOUNT_ID,
    PHONE_NUMBER_ID,
    TOKEN,
    CloudStandIn,
    template,
)
from tests.world import world_settings_overrides

MARIA = "4917655501234"  # Maria Kunde's first phone, "+49 176 55501234"
APP_SECRET = "templates-app-secret"
ORDER_BODY = "Hello Maria, your order A-17 is on its way."  # order_update filled for Maria, written out


@pytest.fixture
async def world(make_settings: Callable[..., Settings]) -> AsyncIterator[PanelWorld]:
    settings = make_settings(
        **world_settings_overrides(),
        cloud_access_token=TOKEN,
        cloud_app_secret=APP_SECRET,
        cloud_verify_token="templates-verify",
        cloud_business_account_id=BUSINESS_ACCOUNT_ID,
    )
    graph = CloudStandIn(now=datetime.now(UTC))
    async with panel_world(settings, cloud=httpx.MockTransport(graph.handle)) as world:
        world.graph = graph  # type: ignore[attr-defined]
        accounts = SqlAccountStore(world.resources.engine)
        cloud = await accounts.create(
            company_id=world.anna.company_id,
            owner_user_id=world.anna.id,
            transport="cloud",
            session_name=PHONE_NUMBER_ID,
        )
        await accounts.set_status(cloud.id, "connected")
        world.cloud_account = cloud.id  # type: ignore[attr-defined]
        yield world


def graph(world: PanelWorld) -> CloudStandIn:
    return world.graph  # type: ignore[attr-defined, no-any-return]


def send_form(world: PanelWorld, ref: str, **fields: Any) -> dict[str, Any]:
    form = {
        "person_id": world.persons["maria"],
        "client_ref": ref,
        "to": "+49 176 55501234",
        "account_id": world.cloud_account,  # type: ignore[attr-defined]
        "region": "",
        "file_id": "",
        "text": "",
    }
    form.update(fields)
    return form


async def send(world: PanelWorld, ref: str, **fields: Any) -> httpx.Response:
    return await world.client.post(
        "/panel/send", data=send_form(world, ref, **fields), headers=world.headers()
    )


async def map_template(world: PanelWorld, key: str, **variables: str) -> httpx.Response:
    form = {"template": key, **{f"var:{name}": value for name, value in variables.items()}}
    return await world.client.post("/settings/cloud-templates", data=form, headers=world.headers())


async def maria_writes(world: PanelWorld, text: str) -> None:
    """A signed Cloud API delivery of Maria's message to the Cloud number, as Meta sends it."""
    message = {
        "from": MARIA,
        "id": "wamid.HBgLin" + hashlib.sha256(text.encode()).hexdigest()[:12],
        "timestamp": str(int(world.clock.now().timestamp())),
        "type": "text",
        "text": {"body": text},
    }
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "49301234567", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": "Maria"}, "wa_id": MARIA}],
        "messages": [message],
    }
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
    }
    raw = json.dumps(body).encode()
    signature = "sha256=" + hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    answer = await world.client.post(
        "/webhooks/cloud",
        content=raw,
        headers={"content-type": "application/json", "x-hub-signature-256": signature},
    )
    assert answer.status_code == 200, answer.text
    graph(world).last_inbound[MARIA] = world.clock.now()
    await world.settle()


async def test_free_text_outside_the_window_is_refused_and_a_mapped_template_goes_out(
    world: PanelWorld,
) -> None:
    refused = await send(world, "ref-cloud-000001", text="Hallo Maria")
    assert refused.status_code == 400 and 'data-reason="outside_cloud_window"' in refused.text
    assert "Hallo Maria" in refused.text  # what was typed stays in the form
    assert await world.outbox() == []

    unmapped = await send(world, "ref-cloud-000002", cloud_template="order_update:en_US")
    assert unmapped.status_code == 400 and 'data-reason="unmapped_template_variable"' in unmapped.text

    saved = await map_template(
        world, "order_update:en_US", **{"1": "person.first_name|there", "2": "{{deal.title|A-17}}"}
    )
    assert saved.status_code == 200 and 'data-saved="yes"' in saved.text
    [mapping] = await world.rows(CloudTemplateMapping)
    assert json.loads(mapping["mapping"]) == {"1": "person.first_name|there", "2": "deal.title|A-17"}
    assert any(row["action"] == "cloud_template.map" for row in await world.rows(AuditLog))
    audit = await world.client.get("/settings/audit", headers=world.headers())
    assert "WhatsApp-approved template mapped" in audit.text

    answer = await send(world, "ref-cloud-000003", cloud_template="order_update:en_US")
    assert answer.status_code == 200, answer.text
    await world.settle()
    [row] = await world.outbox()
    assert (row["status"], row["template_name"], row["template_language"]) == (
        "sent",
        "order_update",
        "en_US",
    )
    assert row["text"] == ORDER_BODY
    [sent] = graph(world).sent
    assert sent["type"] == "template" and sent["to"] == MARIA
    assert sent["template"] == {
        "name": "order_update",
        "language": {"code": "en_US"},
        "components": [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "Maria"}, {"type": "text", "text": "A-17"}],
            }
        ],
    }
    [stored] = [
        m for m in await world.rows(Message) if m["from_me"] and m["account_id"] == world.cloud_account
    ]  # type: ignore[attr-defined]
    assert stored["text"] == ORDER_BODY
    page = await world.client.get(
        "/panel/messages", params={"person_id": world.persons["maria"]}, headers=world.headers()
    )
    assert ORDER_BODY in page.text


async def test_free_text_goes_out_within_24_hours_of_the_contacts_last_message(world: PanelWorld) -> None:
    await maria_writes(world, "Is my order on its way?")
    answer = await send(world, "ref-cloud-000010", text="Yes, tomorrow")
    assert answer.status_code == 200, answer.text
    await world.settle()
    assert [m["text"]["body"] for m in graph(world).sent] == ["Yes, tomorrow"]  # type: ignore[index]
    world.clock.advance(timedelta(hours=24, seconds=1).total_seconds())
    graph(world).now = world.clock.now()
    late = await send(world, "ref-cloud-000011", text="Anything else?")
    assert late.status_code == 400 and 'data-reason="outside_cloud_window"' in late.text


async def test_a_template_from_a_whatsapp_web_number_is_refused_by_name(world: PanelWorld) -> None:
    answer = await send(world, "ref-cloud-000020", account_id=1, cloud_template="welcome_back:en_US")
    assert answer.status_code == 400 and 'data-reason="template_needs_cloud_number"' in answer.text
    assert await world.outbox() == [] and graph(world).sent == []


async def test_a_template_without_variables_needs_no_mapping(world: PanelWorld) -> None:
    answer = await send(world, "ref-cloud-000030", cloud_template="welcome_back:en_US")
    assert answer.status_code == 200, answer.text
    await world.settle()
    [row] = await world.outbox()
    assert (row["status"], row["text"]) == ("sent", "Welcome back! Reply to continue.")


async def test_an_unknown_or_unapproved_template_is_refused_before_queueing(world: PanelWorld) -> None:
    for key in ("spring_sale:en_US", "order_update:fr", "not a key"):
        answer = await send(world, "ref-cloud-000040", cloud_template=key)
        assert answer.status_code == 400 and 'data-reason="unknown_template"' in answer.text, key
    assert await world.outbox() == []


async def test_a_template_meta_changed_since_it_was_read_fails_by_name(world: PanelWorld) -> None:
    await map_template(world, "order_update:en_US", **{"1": "person.first_name", "2": "me.first_name"})
    assert (await send(world, "ref-cloud-000050", cloud_template="order_update:en_US")).status_code == 200
    graph(world).templates[0] = template(
        "order_update", "Hi {{1}}, order {{2}} ships {{3}}."
    )  # edited at Meta
    await world.settle()
    [row] = await world.outbox()
    assert (row["status"], row["error_reason"]) == ("failed", "template_parameter_mismatch")


@pytest.mark.parametrize(
    ("variables", "reason"),
    [
        ({"1": "person.shoe_size", "2": "me.name"}, "unknown_template_field"),
        ({"1": "person.first_name|there"}, "unmapped_template_variable"),
        ({"1": "person.first_name", "2": "  "}, "unmapped_template_variable"),
        ({"1": "person.first_name", "2": "me.name", "3": "me.name"}, "unknown_template_variable"),
        ({"1": "person.first_name}} and {{me.name", "2": "me.name"}, "template_syntax"),
        ({"1": "person.first_name", "2": "me.name}} Sales"}, "template_syntax"),
        ({"1": "shop.name", "2": "me.name"}, "unknown_template_field"),
    ],
)
async def test_a_mapping_that_cannot_be_filled_is_refused_by_name_and_keeps_what_was_typed(
    world: PanelWorld, variables: dict[str, str], reason: str
) -> None:
    answer = await map_template(world, "order_update:en_US", **variables)
    assert answer.status_code == 400 and f'data-reason="{reason}"' in answer.text
    assert await world.rows(CloudTemplateMapping) == []


async def test_the_settings_section_lists_approved_templates_and_only_admins_map_them(
    world: PanelWorld,
) -> None:
    section = await world.client.get("/settings/cloud-templates", headers=world.headers())
    assert section.status_code == 200
    for key in ("order_update:en_US", "appointment_reminder:en_US", "welcome_back:en_US", "order_update:de"):
        assert f'data-template="{key}"' in section.text
    assert "spring_sale" not in section.text and "bad_idea" not in section.text
    assert 'name="var:first_name"' in section.text and 'name="var:day"' in section.text
    assert world.pd is not None
    agent = world.pd.add_user(world.anna.company_id, "Alex Agent", "alex@acme.test", is_admin=False)
    await world.install(agent)
    read_only = await world.client.get("/settings/cloud-templates", headers=world.headers(agent))
    assert (
        read_only.status_code == 200 and "disabled" in read_only.text and "Save mapping" not in read_only.text
    )
    refused = await world.client.post(
        "/settings/cloud-templates",
        data={"template": "order_update:en_US", "var:1": "person.name", "var:2": "me.name"},
        headers=world.headers(agent),
    )
    assert refused.status_code == 403 and 'data-reason="admin_only"' in refused.text
    assert await world.rows(CloudTemplateMapping) == []


# --- the picker in the panel and the chat view ------------------------------------------------------------


def picker_params(world: PanelWorld, account_id: int, **extra: Any) -> dict[str, Any]:
    return {"person_id": world.persons["maria"], "account_id": account_id, **extra}


async def test_the_panel_picker_offers_approved_templates_only_for_a_cloud_from_number(
    world: PanelWorld,
) -> None:
    cloud = world.cloud_account  # type: ignore[attr-defined]
    await map_template(
        world, "order_update:en_US", **{"1": "person.first_name|there", "2": "deal.title|A-17"}
    )
    picker = await world.client.get(
        "/panel/templates", params=picker_params(world, cloud), headers=world.headers()
    )
    assert picker.status_code == 200
    assert 'data-group="cloud"' in picker.text
    assert '<option value="cloud:order_update:en_US">order_update (en_US)</option>' in picker.text
    assert '<option value="cloud:order_update:de">order_update (de, not set up yet)</option>' in picker.text
    assert "spring_sale" not in picker.text
    web = await world.client.get("/panel/templates", params=picker_params(world, 1), headers=world.headers())
    assert web.status_code == 200 and 'data-group="cloud"' not in web.text

    chosen = await world.client.get(
        "/panel/templates/render",
        params=picker_params(world, cloud, template="cloud:order_update:en_US"),
        headers=world.headers(),
    )
    assert chosen.status_code == 200, chosen.text
    assert ORDER_BODY in chosen.text and 'data-reason="cloud_template_chosen"' in chosen.text
    assert 'name="cloud_template" value="order_update:en_US" hx-swap-oob="true"' in chosen.text
    unmapped = await world.client.get(
        "/panel/templates/render",
        params=picker_params(world, cloud, template="cloud:order_update:de"),
        headers=world.headers(),
    )
    assert 'data-reason="unmapped_template_variable"' in unmapped.text
    assert 'name="cloud_template" value="" hx-swap-oob="true"' in unmapped.text

    # Send as the form is after choosing: the box holds the body (edited or not), the template is sent.
    answer = await send(
        world, "ref-cloud-000060", text=ORDER_BODY + " (edited)", cloud_template="order_update:en_US"
    )
    assert answer.status_code == 200, answer.text
    assert 'name="cloud_template" value=""' in answer.text  # the next message starts without one
    await world.settle()
    [row] = await world.outbox()
    assert (row["status"], row["text"]) == ("sent", ORDER_BODY)


async def test_the_chat_view_replies_with_an_approved_template_outside_the_window(world: PanelWorld) -> None:
    await maria_writes(world, "Hello?")
    world.clock.advance(timedelta(hours=25).total_seconds())
    graph(world).now = world.clock.now()
    await map_template(
        world, "order_update:en_US", **{"1": "person.first_name|there", "2": "deal.title|A-17"}
    )
    chat_id = await chat_id_of(world, "+" + MARIA)
    async with browser(world) as client:
        page = await sign_in(world, client, world.anna, chat_id)
        token, ref = csrf(page.text)
        assert 'id="cloud-template" name="cloud_template" value=""' in page.text
        picker = await client.get(f"/chats/{chat_id}/templates")
        assert '<option value="cloud:order_update:en_US">' in picker.text
        chosen = await client.get(
            f"/chats/{chat_id}/templates/render", params={"template": "cloud:order_update:en_US"}
        )
        box = re.search(
            r'<textarea id="reply-text" name="text" rows="3" hx-swap-oob="true">(.*?)</textarea>', chosen.text
        )
        assert (
            box is not None
            and box.group(1).startswith("Hello ")
            and box.group(1).endswith(", your order A-17 is on its way.")
        )
        refused = await client.post(
            f"/chats/{chat_id}/reply", data={"text": "Still there?", "client_ref": ref, "csrf_token": token}
        )
        assert refused.status_code == 400 and 'data-reason="outside_cloud_window"' in refused.text
        form = {
            "text": box.group(1),
            "client_ref": ref,
            "csrf_token": token,
            "cloud_template": "order_update:en_US",
        }
        answer = await client.post(f"/chats/{chat_id}/reply", data=form)
        assert answer.status_code == 200, answer.text
    await world.settle()
    [sent] = graph(world).sent
    assert sent["type"] == "template" and sent["template"]["name"] == "order_update"  # type: ignore[index]


async def test_another_company_sees_and_uses_none_of_it(world: PanelWorld) -> None:
    await map_template(world, "order_update:en_US", **{"1": "person.first_name", "2": "me.name"})
    grace = world.headers(world.grace)
    section = await world.client.get("/settings/cloud-templates", headers=grace)
    assert section.status_code == 200 and 'data-reason="no_cloud_number"' in section.text
    assert "order_update" not in section.text
    posted = await world.client.post(
        "/settings/cloud-templates",
        data={"template": "order_update:en_US", "var:1": "me.name", "var:2": "me.name"},
        headers=grace,
    )
    assert posted.status_code == 400 and 'data-reason="no_cloud_number"' in posted.text
    [mapping] = await world.rows(CloudTemplateMapping)
    assert json.loads(mapping["mapping"]) == {"1": "person.first_name", "2": "me.name"}
    form = {
        "person_id": world.persons["globex"],
        "client_ref": "ref-cloud-000070",
        "to": "+1 415 555 0132",
        "account_id": world.cloud_account,  # type: ignore[attr-defined]  # Acme's number
        "text": "",
        "cloud_template": "order_update:en_US",
    }
    answer = await world.client.post("/panel/send", data=form, headers=grace)
    assert answer.status_code in (400, 404) and 'data-reason="unknown_from_number"' in answer.text
    assert await world.outbox() == [] and graph(world).sent == []
