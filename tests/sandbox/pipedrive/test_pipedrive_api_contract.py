"""Every operation WaPipe uses answers in the shape Pipedrive documents, and costs what the spec says."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from openapi_core import OpenAPI
from openapi_core.validation.response.exceptions import InvalidData

from tests.sandbox.pipedrive.conftest import World, spec_cost, validate_contract


@dataclass
class Call:
    version: str
    method: str
    template: str
    response: httpx.Response
    tokens: int


class Recorder:
    def __init__(self, client: httpx.AsyncClient, world: World) -> None:
        self.client = client
        self.world = world
        self.calls: list[Call] = []

    async def __call__(self, method: str, url: str, template: str, **kwargs: Any) -> httpx.Response:
        usage = self.world.state.limiter.usage_for(self.world.company_a)
        before = usage.tokens_used
        response = await self.client.request(method, url, **kwargs)
        version = "v2" if url.startswith("/api/v2/") else "v1"
        self.calls.append(Call(version, method, template, response, usage.tokens_used - before))
        assert response.status_code < 300, (method, url, response.text)
        return response


async def exercise_everything(rec: Recorder, world: World) -> None:
    person_id = world.person_a
    field = await rec(
        "POST",
        "/api/v2/personFields",
        "/personFields",
        json={"field_name": "WhatsApp chat link", "field_type": "varchar"},
    )
    key = field.json()["data"]["field_code"]
    await rec("GET", "/api/v2/personFields", "/personFields")
    await rec(
        "POST", "/api/v2/dealFields", "/dealFields", json={"field_name": "WA link", "field_type": "varchar"}
    )
    await rec("GET", "/api/v2/dealFields", "/dealFields")
    await rec(
        "POST", "/api/v1/personFields", "/personFields", json={"name": "WA id", "field_type": "varchar"}
    )
    await rec("GET", "/api/v1/personFields", "/personFields")
    await rec("GET", "/api/v1/dealFields", "/dealFields")
    await rec("GET", "/api/v1/users/me", "/users/me")
    await rec("GET", "/api/v1/users", "/users")
    await rec("GET", "/api/v1/users/find?term=anna@acme.test&search_by_email=1", "/users/find")
    created = await rec(
        "POST",
        "/api/v2/persons",
        "/persons",
        json={
            "name": "New Chat",
            "phones": [{"value": "+4915112345678", "primary": True, "label": "mobile"}],
            "owner_id": world.agent_a,
        },
    )
    new_id = created.json()["data"]["id"]
    await rec("GET", f"/api/v2/persons/{person_id}", "/persons/{id}")
    await rec(
        "PATCH", f"/api/v2/persons/{new_id}", "/persons/{id}", json={"custom_fields": {key: "https://x"}}
    )
    await rec(
        "GET", f"/api/v2/persons?ids={person_id},{new_id}&updated_since=2020-01-01T00:00:00Z", "/persons"
    )
    await rec(
        "GET", "/api/v2/persons/search?term=4915112345678&fields=phone&exact_match=true", "/persons/search"
    )
    await rec("GET", "/api/v2/persons/search?term=Maria", "/persons/search")
    await rec("GET", "/api/v2/itemSearch?term=Maria&item_types=person,deal,lead", "/itemSearch")
    pipelines = await rec("GET", "/api/v2/pipelines", "/pipelines")
    pipeline_id = pipelines.json()["data"][0]["id"]
    await rec("GET", f"/api/v2/pipelines/{pipeline_id}", "/pipelines/{id}")
    stages = await rec("GET", f"/api/v2/stages?pipeline_id={pipeline_id}", "/stages")
    await rec("GET", f"/api/v2/stages/{stages.json()['data'][0]['id']}", "/stages/{id}")
    deal = await rec("POST", "/api/v2/deals", "/deals", json={"title": "WA deal", "person_id": person_id})
    deal_id = deal.json()["data"]["id"]
    await rec("PATCH", f"/api/v2/deals/{deal_id}", "/deals/{id}", json={"value": 100, "currency": "EUR"})
    await rec("GET", f"/api/v2/deals/{deal_id}", "/deals/{id}")
    await rec("GET", f"/api/v2/deals?person_id={person_id}&status=open", "/deals")
    found = await rec("GET", "/api/v2/deals/search?term=WA%20de&fields=title&limit=10", "/deals/search")
    assert [hit["item"]["id"] for hit in found.json()["data"]["items"]] == [deal_id]
    label = await rec(
        "POST", "/api/v1/leadLabels", "/leadLabels", json={"name": "WhatsApp", "color": "green"}
    )
    await rec("GET", "/api/v1/leadLabels", "/leadLabels")
    lead = await rec(
        "POST",
        "/api/v1/leads",
        "/leads",
        json={
            "title": "WA lead",
            "person_id": person_id,
            "label_ids": [label.json()["data"]["id"]],
            "value": {"amount": 10, "currency": "EUR"},
        },
    )
    lead_id = lead.json()["data"]["id"]
    await rec("GET", f"/api/v1/leads?person_id={person_id}", "/leads")
    await rec("GET", f"/api/v1/leads/{lead_id}", "/leads/{id}")
    await rec("PATCH", f"/api/v1/leads/{lead_id}", "/leads/{id}", json={"title": "WA lead 2"})
    await rec("GET", "/api/v1/activityTypes", "/activityTypes")
    atype = await rec(
        "POST",
        "/api/v1/activityTypes",
        "/activityTypes",
        json={"name": "WhatsApp chat", "icon_key": "bubble", "color": "25D366"},
    )
    await rec(
        "PUT",
        f"/api/v1/activityTypes/{atype.json()['data']['id']}",
        "/activityTypes/{id}",
        json={"name": "WhatsApp chat"},
    )
    activity = await rec(
        "POST",
        "/api/v2/activities",
        "/activities",
        json={
            "subject": "WhatsApp chat",
            "type": "whatsapp_chat",
            "due_date": "2026-03-02",
            "due_time": "09:00",
            "duration": "00:30",
            "done": True,
            "deal_id": deal_id,
            "lead_id": lead_id,
            "participants": [{"person_id": person_id, "primary": True}],
            "note": "<p>hi</p>",
        },
    )
    activity_id = activity.json()["data"]["id"]
    await rec(
        "PATCH", f"/api/v2/activities/{activity_id}", "/activities/{id}", json={"note": "<p>hi again</p>"}
    )
    await rec("GET", f"/api/v2/activities/{activity_id}", "/activities/{id}")
    await rec("GET", f"/api/v2/activities?person_id={person_id}", "/activities")
    upload = await rec(
        "POST",
        "/api/v1/files",
        "/files",
        files={"file": ("voice.ogg", b"OggS", "audio/ogg")},
        data={"person_id": str(person_id)},
    )
    file_id = upload.json()["data"]["id"]
    await rec(
        "POST",
        "/api/v1/files",
        "/files",
        files={"file": ("a.pdf", b"%PDF", "application/pdf")},
        data={"deal_id": str(deal_id)},
    )
    await rec("GET", f"/api/v1/files/{file_id}", "/files/{id}")
    await rec("GET", f"/api/v1/persons/{person_id}/files?limit=100", "/persons/{id}/files")
    await rec("GET", f"/api/v1/deals/{deal_id}/files", "/deals/{id}/files")
    deleted = await rec("DELETE", f"/api/v1/files/{file_id}", "/files/{id}")
    assert deleted.json() == {"success": True, "data": {"id": file_id}}
    listed = await rec.client.get(f"/api/v1/persons/{person_id}/files")
    assert all(f["id"] != file_id for f in listed.json()["data"] or [])
    note = await rec(
        "POST", "/api/v1/notes", "/notes", json={"content": "Chat started", "person_id": person_id}
    )
    await rec("PUT", f"/api/v1/notes/{note.json()['data']['id']}", "/notes/{id}", json={"content": "Edited"})
    await rec("GET", f"/api/v1/notes?person_id={person_id}", "/notes")
    hook = await rec(
        "POST",
        "/api/v1/webhooks",
        "/webhooks",
        json={
            "subscription_url": "https://wapipe.test/hooks/pipedrive",
            "event_action": "*",
            "event_object": "person",
            "name": "WaPipe",
            "version": "2.0",
        },
    )
    await rec("GET", "/api/v1/webhooks", "/webhooks")
    await rec("DELETE", f"/api/v1/webhooks/{hook.json()['data']['id']}", "/webhooks/{id}")
    await rec("DELETE", f"/api/v2/activities/{activity_id}", "/activities/{id}")
    await rec("DELETE", f"/api/v2/deals/{deal_id}", "/deals/{id}")
    await rec("DELETE", f"/api/v2/persons/{new_id}", "/persons/{id}")


@pytest.fixture
async def recorded(client: httpx.AsyncClient, world: World) -> list[Call]:
    rec = Recorder(client, world)
    await exercise_everything(rec, world)
    return rec.calls


async def test_every_response_matches_the_official_schema(
    recorded: list[Call], openapi_specs: dict[str, OpenAPI]
) -> None:
    failures = []
    for call in recorded:
        try:
            validate_contract(openapi_specs, call.response)
        except Exception as exc:
            failures.append(f"{call.method} {call.response.request.url.path}: {exc}")
    assert not failures, "\n".join(failures)
    assert len(recorded) >= 50


async def test_null_emitting_mode_still_answers_the_same_operations(
    client: httpx.AsyncClient, world: World
) -> None:
    world.state.emit_nulls = True
    body = (await client.get(f"/api/v2/persons/{world.person_a}")).json()
    assert body["data"]["org_id"] is None


async def test_download_returns_the_uploaded_bytes(client: httpx.AsyncClient, world: World) -> None:
    upload = await client.post(
        "/api/v1/files", files={"file": ("p.jpg", b"\xff\xd8jpeg", "image/jpeg")}, data={"person_id": "1"}
    )
    file_id = upload.json()["data"]["id"]
    download = await client.get(f"/api/v1/files/{file_id}/download")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.content == b"\xff\xd8jpeg"


async def test_contract_check_catches_drift(
    client: httpx.AsyncClient, world: World, openapi_specs: dict[str, OpenAPI]
) -> None:
    response = await client.get(f"/api/v2/persons/{world.person_a}")
    validate_contract(openapi_specs, response)
    drifted = copy.deepcopy(response.json())
    drifted["data"]["id"] = str(drifted["data"]["id"])
    with pytest.raises(InvalidData):
        validate_contract(openapi_specs, response, body=drifted)
    nulls = copy.deepcopy(response.json())
    nulls["data"]["org_id"] = None
    with pytest.raises(InvalidData):
        validate_contract(openapi_specs, response, body=nulls)


async def test_each_operation_costs_its_spec_token_cost(
    recorded: list[Call], raw_specs: dict[str, dict[str, Any]]
) -> None:
    mismatches = [
        (c.method, c.template, c.tokens, spec_cost(raw_specs, c.version, c.method, c.template))
        for c in recorded
        if c.tokens != spec_cost(raw_specs, c.version, c.method, c.template)
    ]
    assert not mismatches
    assert {c.template for c in recorded} >= {"/persons/search", "/activityTypes", "/files", "/users/me"}


async def test_daily_headers_report_the_remaining_budget(client: httpx.AsyncClient, world: World) -> None:
    first = await client.get("/api/v1/users/me")
    second = await client.get("/api/v2/persons/search?term=Maria")
    limit = int(first.headers["x-daily-ratelimit-token-limit"])
    assert limit == 30_000 * 2 * 2  # growth multiplier x two seats
    spent = limit - int(second.headers["x-daily-ratelimit-token-remaining"])
    usage = world.state.limiter.usage_for(world.company_a)
    assert spent == usage.tokens_used
