"""Every request the client sends must validate against its operation in Pipedrive's official OpenAPI."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from openapi_core.exceptions import OpenAPIError
from openapi_core.validation.request.exceptions import InvalidParameter, InvalidRequestBody

from server.pipedrive.metering import TokenCostTable
from tests.pipedrive.contract import ContractChecker
from tests.pipedrive.fakes import API_DOMAIN, FakePipedrive, Harness, envelope, form_of, token_response

PERSON = {
    "id": 42,
    "name": "Ana Lima",
    "owner_id": 7,
    "org_id": None,
    "phones": [{"value": "+55 11 91234-5678", "primary": True, "label": "mobile"}],
    "emails": [],
    "custom_fields": {"a" * 40: "https://wa.example/c/1"},
    "is_deleted": False,
}
DEAL = {"id": 5, "title": "WhatsApp: Ana", "person_id": 42, "pipeline_id": 1, "stage_id": 2, "value": 10.5}
LEAD = {
    "id": "adf21080-0e10-11eb-879b-05d71fb426ec",
    "title": "WhatsApp lead",
    "person_id": 42,
    "label_ids": [],
}
ACTIVITY = {
    "id": 9,
    "subject": "WhatsApp chat",
    "type": "whatsapp_chat",
    "participants": [{"person_id": 42, "primary": True}],
    "done": True,
    "note": "<p>hi</p>",
}
FILE = {"id": 3, "name": "photo.jpg", "file_size": 4, "person_id": 42, "file_type": "img"}
FIELD = {
    "field_code": "b" * 40,
    "field_name": "WhatsApp chat link",
    "field_type": "varchar",
    "is_custom_field": True,
}
PAGINATION = {"pagination": {"start": 0, "limit": 100, "more_items_in_collection": False}}


ME = {"id": 1, "company_id": 77, "name": "Admin", "email": "a@acme.test", "company_domain": "acme"}
HIT = {
    "result_score": 1.5,
    "item": {
        "id": 42,
        "name": "Ana",
        "phones": ["+55 11 91234-5678"],
        "owner": {"id": 7},
        "organization": None,
    },
}
DEAL_HIT = {
    "result_score": 0.5,
    "item": {
        "id": 9,
        "type": "deal",
        "title": "Order",
        "status": "open",
        "person": {"id": 42, "name": "Ana"},
    },
}
STAGE = {"id": 2, "name": "New", "pipeline_id": 1, "order_nr": 1}
LABEL = {"id": "f0", "name": "WhatsApp", "color": "green"}
ACTIVITY_TYPE = {
    "id": 30,
    "name": "WhatsApp chat",
    "key_string": "whatsapp_chat",
    "icon_key": "bubble",
    "active_flag": True,
    "is_custom_flag": True,
}
NOTE = {"id": 4, "content": "x", "person_id": 42}
WEBHOOK = {"id": 8, "subscription_url": "https://w.example/h", "event_action": "*", "event_object": "person"}
LAST = {"next_cursor": None}


def canned(request: httpx.Request) -> httpx.Response:
    """Plausible Pipedrive answers for every endpoint the client uses."""
    method, path = request.method, request.url.path
    routes: list[tuple[str, str, Any]] = [
        ("GET", r"/api/v1/users/me", lambda: envelope(ME)),
        ("GET", r"/api/v1/users", lambda: envelope([ME])),
        ("GET", r"/api/v2/persons/search", lambda: envelope({"items": [HIT]}, LAST)),
        ("GET", r"/api/v2/persons", lambda: envelope([PERSON], LAST)),
        ("GET", r"/api/v1/persons/\d+/files", lambda: envelope([FILE], PAGINATION)),
        ("GET", r"/api/v1/deals/\d+/files", lambda: envelope([FILE], PAGINATION)),
        ("*", r"/api/v2/persons(/\d+)?", lambda: envelope(PERSON)),
        ("GET", r"/api/v2/deals", lambda: envelope([DEAL], LAST)),
        ("GET", r"/api/v2/deals/search", lambda: envelope({"items": [DEAL_HIT]}, LAST)),
        ("*", r"/api/v2/deals(/\d+)?", lambda: envelope(DEAL)),
        ("GET", r"/api/v2/pipelines", lambda: envelope([{"id": 1, "name": "Sales", "order_nr": 1}], LAST)),
        ("GET", r"/api/v2/stages", lambda: envelope([STAGE], LAST)),
        ("POST", r"/api/v1/leads", lambda: envelope(LEAD, status=201)),
        ("GET", r"/api/v1/leads", lambda: envelope([LEAD], PAGINATION)),
        ("GET", r"/api/v1/leadLabels", lambda: envelope([LABEL])),
        ("POST", r"/api/v1/leadLabels", lambda: envelope(LABEL)),
        ("GET", r"/api/v1/activityTypes", lambda: envelope([ACTIVITY_TYPE])),
        ("POST", r"/api/v1/activityTypes", lambda: envelope(ACTIVITY_TYPE)),
        ("*", r"/api/v2/activities(/\d+)?", lambda: envelope(ACTIVITY)),
        ("POST", r"/api/v1/files", lambda: envelope(FILE)),
        ("GET", r"/api/v1/files/\d+/download", lambda: httpx.Response(200, content=b"JPEG")),
        ("GET", r"/api/v2/(person|deal)Fields", lambda: envelope([FIELD], LAST)),
        ("POST", r"/api/v2/(person|deal)Fields", lambda: envelope(FIELD)),
        ("GET", r"/api/v1/notes", lambda: envelope([NOTE], PAGINATION)),
        ("*", r"/api/v1/notes(/\d+)?", lambda: envelope(NOTE)),
        ("GET", r"/api/v1/webhooks", lambda: envelope([WEBHOOK])),
        ("POST", r"/api/v1/webhooks", lambda: envelope(WEBHOOK, status=201)),
        ("DELETE", r"/api/v1/webhooks/\d+", lambda: envelope({"id": 8})),
        ("POST", r"/oauth/token", lambda: token_response()),
        ("POST", r"/oauth/revoke", lambda: httpx.Response(200)),
    ]
    for route_method, pattern, respond in routes:
        if route_method in ("*", method) and re.fullmatch(pattern, path):
            response: httpx.Response = respond()
            return response
    return httpx.Response(404, json={"success": False, "error": "unrouted"})


async def exercise_client(harness: Harness) -> None:
    """Call every client method once (the order follows the reference's endpoint table)."""
    c = harness.client
    me = await c.users.me()
    assert (me.id, me.company_id) == (1, 77)
    assert [u.email for u in await c.users.all()] == ["a@acme.test"]
    hits = await c.persons.search("+5511912345678", exact_match=True)
    assert hits.items[0].phones == ("+55 11 91234-5678",) and hits.next_cursor is None
    await c.persons.search("912345678", field=None, limit=50, cursor="abc")
    person = await c.persons.get(42)
    assert person.phones[0].value == "+55 11 91234-5678"
    [deal_hit] = await c.deals.search("Ord", limit=10)
    assert (deal_hit.id, deal_hit.title, deal_hit.status, deal_hit.person_name) == (9, "Order", "open", "Ana")
    await c.persons.create(
        {
            "name": "Ana Lima",
            "owner_id": 7,
            "phones": [{"value": "+5511912345678", "primary": True, "label": "mobile"}],
            "visible_to": 3,
            "custom_fields": {"a" * 40: "https://wa.example/c/1"},
        }
    )
    await c.persons.update(42, {"phones": [{"value": "+5511912345678", "primary": True}], "owner_id": 7})
    await c.persons.page(ids=[1, 2, 3], updated_since=datetime(2026, 3, 1, tzinfo=UTC), limit=100)
    assert (await c.persons.files(42)).items[0].name == "photo.jpg"
    await c.deals.page(person_id=42, status="open")
    await c.deals.get(5)
    await c.deals.create(
        {"title": "WhatsApp: Ana", "person_id": 42, "pipeline_id": 1, "stage_id": 2, "value": 0}
    )
    await c.deals.update(5, {"custom_fields": {"a" * 40: "https://wa.example/c/1"}})
    await c.deals.files(5)
    assert [p.name for p in await c.deals.pipelines()] == ["Sales"]
    assert [s.id for s in await c.deals.stages(1)] == [2]
    lead = await c.leads.create({"title": "WhatsApp lead", "person_id": 42, "label_ids": [LEAD["id"]],
                                 "value": {"amount": 10, "currency": "EUR"}, "visible_to": "3"})  # fmt: skip
    assert lead.id == LEAD["id"]
    await c.leads.page(person_id=42)
    await c.leads.labels()
    await c.leads.create_label("WhatsApp", "green")
    types = await c.activities.types()
    assert types[0].key_string == "whatsapp_chat"
    await c.activities.create_type("WhatsApp chat", "bubble", "#25D366")
    activity = await c.activities.create(
        {
            "subject": "WhatsApp chat",
            "type": "whatsapp_chat",
            "due_date": "2026-03-10",
            "due_time": "12:00",
            "done": True,
            "note": "<p>hi</p>",
            "participants": [{"person_id": 42, "primary": True}],
            "deal_id": 5,
        }
    )
    assert activity.participants[0].person_id == 42
    await c.activities.get(9)
    await c.activities.update(9, {"note": "<p>hi</p><p>again</p>"})
    uploaded = await c.files.upload(b"JPEG", filename="photo.jpg", mime_type="image/jpeg", person_id=42)
    assert uploaded.id == 3
    await c.files.upload(b"JPEG", filename="photo.jpg", lead_id=str(LEAD["id"]))
    assert await c.files.download(3) == b"JPEG"
    await c.fields.all("person")
    await c.fields.all("deal")
    assert (await c.fields.create("person", "WhatsApp chat link")).code == "b" * 40
    await c.fields.create("deal", "WhatsApp chat link", "text")
    await c.notes.create("<b>hi</b>", person_id=42)
    await c.notes.update(4, "<b>hello</b>")
    await c.notes.page(person_id=42)
    await c.webhooks.create(
        "https://w.example/h", event_action="*", event_object="person", name="wapipe", http_auth=("u", "p")
    )
    await c.webhooks.all()
    await c.webhooks.delete(8)


async def test_every_client_request_matches_the_openapi_contract(
    fake: FakePipedrive, harness: Harness, contract: ContractChecker
) -> None:
    fake.fallback = canned

    await exercise_client(harness)

    operations = TokenCostTable.load()
    seen = set()
    for request in fake.requests:
        assert request.url.host == "acme.pipedrive.com"
        assert request.headers["authorization"] == "Bearer v1u:old-access"
        contract.validate(request)
        seen.add(operations.operation(request.method, request.url.path))
    assert all(operations.cost(op) > 0 for op in seen), "every operation used has a known token cost"
    assert len(seen) >= 35


async def test_oauth_requests_match_the_openapi_contract(
    fake: FakePipedrive, harness: Harness, contract: ContractChecker
) -> None:
    fake.fallback = canned

    tokens = await harness.oauth.exchange_code("123.456.abc")
    await harness.oauth.refresh(tokens.refresh_token)
    await harness.oauth.identify(tokens)
    authorize = httpx.Request("GET", harness.oauth.authorize_url("state-1"))

    for request in [*fake.sent("POST", "/oauth/token"), *fake.sent("GET", "/api/v1/users/me"), authorize]:
        contract.validate(request)
    exchange, refresh = fake.sent("POST", "/oauth/token")
    assert exchange.headers["content-type"] == "application/x-www-form-urlencoded"
    assert exchange.headers["authorization"].startswith("Basic ")
    assert form_of(refresh) == {"grant_type": "refresh_token", "refresh_token": "1:1:new-refresh"}


async def test_contract_catches_a_number_sent_as_a_string(
    fake: FakePipedrive, harness: Harness, contract: ContractChecker
) -> None:
    fake.fallback = canned
    await harness.client.api.data("POST", "/api/v2/persons", json={"name": "Ana", "owner_id": "7"})

    with pytest.raises(InvalidRequestBody):
        contract.validate(fake.requests[-1])


async def test_contract_catches_a_field_list_the_spec_does_not_allow(
    fake: FakePipedrive, harness: Harness, contract: ContractChecker
) -> None:
    fake.fallback = canned
    await harness.client.api.data(
        "GET", "/api/v2/persons/search", params={"term": "ab", "fields": "phone,email"}
    )

    with pytest.raises(InvalidParameter):
        contract.validate(fake.requests[-1])


async def test_contract_catches_an_endpoint_that_does_not_exist(contract: ContractChecker) -> None:
    with pytest.raises(OpenAPIError):
        contract.validate(httpx.Request("GET", f"{API_DOMAIN}/api/v2/leads"))


async def test_activities_refuse_person_id_which_is_read_only_in_v2(harness: Harness) -> None:
    with pytest.raises(ValueError, match="participants"):
        await harness.client.activities.create({"subject": "x", "person_id": 42})  # type: ignore[typeddict-unknown-key]


async def test_contract_catches_a_file_part_with_the_wrong_name(
    fake: FakePipedrive, harness: Harness, contract: ContractChecker
) -> None:
    fake.fallback = canned
    await harness.client.api.send(
        "POST", "/api/v1/files", data={"person_id": "42"}, files={"upload": ("a.jpg", b"JPEG", "image/jpeg")}
    )

    with pytest.raises(OpenAPIError):
        contract.validate(fake.requests[-1])
