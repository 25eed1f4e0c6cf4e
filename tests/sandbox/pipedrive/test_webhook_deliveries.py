"""Webhook deliveries v2 from the Pipedrive sandbox: payload, Basic auth, retries, bans, merges."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from openapi_core import OpenAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.pipedrive.seed import seed_person
from sandbox.pipedrive.webhooks import webhooks_for
from tests.sandbox.pipedrive.conftest import World, make_client, validate_contract

HOOK_URL = "https://wapipe.test/hooks/pipedrive"
AUTH_USER, AUTH_PASSWORD = "wapipe", "s3cret:with-colon"


@dataclass
class Receiver:
    """An in-process endpoint that answers with the next planned status (then 200) and keeps requests."""

    plan: list[int | str] = field(default_factory=list)
    seen: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            self.seen.append((dict(request.headers), await request.body()))
            answer = self.plan.pop(0) if self.plan else 200
            if answer == "timeout":
                raise httpx.ReadTimeout("no answer within 10 s")
            return JSONResponse({"ok": True}, status_code=int(answer))

        return Starlette(routes=[Route("/hooks/pipedrive", hook, methods=["POST"])])

    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.seen]


@pytest.fixture
async def receiver(world: World) -> AsyncIterator[Receiver]:
    found = Receiver()
    transport = httpx.ASGITransport(app=found.app())
    async with httpx.AsyncClient(transport=transport) as http:
        webhooks_for(world.state).http = http
        yield found


async def add_hook(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    body = {
        "subscription_url": HOOK_URL,
        "event_action": "*",
        "event_object": "person",
        "version": "2.0",
        "http_auth_user": AUTH_USER,
        "http_auth_password": AUTH_PASSWORD,
        **overrides,
    }
    answer = await client.post("/api/v1/webhooks", json=body)
    assert answer.status_code == 201, answer.text
    hook: dict[str, Any] = answer.json()["data"]
    return hook


async def settle(world: World) -> None:
    await webhooks_for(world.state).settle()


async def test_a_created_person_is_delivered_with_the_documented_payload_and_basic_auth(
    client: httpx.AsyncClient, world: World, receiver: Receiver
) -> None:
    hook = await add_hook(client)
    created = await client.post("/api/v2/persons", json={"name": "Nina Neu"})
    await settle(world)

    assert len(receiver.seen) == 1
    headers, _ = receiver.seen[0]
    expected = "Basic " + base64.b64encode(b"wapipe:s3cret:with-colon").decode()
    assert headers["authorization"] == expected
    assert headers["content-type"] == "application/json"
    payload = receiver.payloads()[0]
    assert list(payload) == ["meta", "data", "previous"]
    meta = payload["meta"]
    person_id = created.json()["data"]["id"]
    assert meta == {
        "action": "create",
        "entity": "person",
        "company_id": str(world.company_a),
        "correlation_id": meta["correlation_id"],
        "entity_id": str(person_id),
        "id": meta["id"],
        "is_bulk_edit": False,
        "timestamp": "2026-03-02T09:00:00.000Z",
        "type": "application",
        "user_id": str(world.admin_a),
        "version": "2.0",
        "webhook_id": str(hook["id"]),
        "webhook_owner_id": str(world.admin_a),
        "change_source": "api",
        "attempt": 1,
        "host": "acme-sales.pipedrive.com",
        "permitted_user_ids": [str(world.admin_a), str(world.agent_a)],
    }
    assert len(meta["id"]) == 36 and meta["id"] != meta["correlation_id"]
    assert payload["data"] == (await client.get(f"/api/v2/persons/{person_id}")).json()["data"]
    assert payload["previous"] is None


async def test_a_change_sends_only_the_changed_fields_as_previous(
    client: httpx.AsyncClient, world: World, receiver: Receiver
) -> None:
    await add_hook(client, event_action="change")
    world.state.clock.advance(60)
    await client.patch(f"/api/v2/persons/{world.person_a}", json={"name": "Maria Neu"})
    await settle(world)

    [payload] = receiver.payloads()
    assert payload["meta"]["action"] == "change"
    assert payload["data"]["name"] == "Maria Neu"
    assert payload["previous"] == {
        "name": "Maria Muster",
        "last_name": "Muster",
        "update_time": "2026-03-02T09:00:00Z",
    }


async def test_a_delete_sends_null_data_and_the_last_state(
    client: httpx.AsyncClient, world: World, receiver: Receiver
) -> None:
    await add_hook(client, event_action="delete")
    before = (await client.get(f"/api/v2/persons/{world.person_a}")).json()["data"]
    await client.delete(f"/api/v2/persons/{world.person_a}")
    await settle(world)

    [payload] = receiver.payloads()
    assert (payload["meta"]["action"], payload["data"], payload["previous"]) == ("delete", None, before)
    assert "merged_to_id" not in payload["meta"]


async def test_a_merge_by_a_user_sends_the_delete_with_merged_to_id_then_the_survivors_change(
    client: httpx.AsyncClient, world: World, receiver: Receiver
) -> None:
    await add_hook(client)
    duplicate = seed_person(world.state, world.company_a, "M. Muster", phones=["+4915112345678"])["id"]
    async with make_client(world, None) as control:
        merged = await control.post(
            f"/_sandbox/companies/{world.company_a}/persons/{duplicate}/merge",
            json={"merge_with_id": world.person_a, "user_id": world.agent_a},
        )
        assert merged.json() == {"id": world.person_a, "merged_id": duplicate}
        await control.post("/_sandbox/webhook-deliveries/settle")
        listed = (await control.get("/_sandbox/webhook-deliveries?entity_id=" + str(duplicate))).json()

    deleted, changed = receiver.payloads()
    assert deleted["meta"]["action"] == "delete"
    assert deleted["meta"]["entity_id"] == str(duplicate)
    assert deleted["meta"]["merged_to_id"] == str(world.person_a)
    assert deleted["data"] is None
    assert deleted["previous"]["phones"] == [{"value": "+4915112345678", "primary": True, "label": "mobile"}]
    assert changed["meta"]["action"] == "change"
    assert changed["meta"]["entity_id"] == str(world.person_a)
    assert changed["meta"]["merged_from_id"] == str(duplicate)
    assert "merged_to_id" not in changed["meta"]
    assert [p["value"] for p in changed["data"]["phones"]] == ["+49 89 6364 8018", "+4915112345678"]
    assert changed["previous"]["phones"] == [
        {"value": "+49 89 6364 8018", "primary": True, "label": "mobile"}
    ]
    for payload in (deleted, changed):
        assert payload["meta"]["change_source"] == "app"
        assert payload["meta"]["user_id"] == str(world.agent_a)
    assert deleted["meta"]["correlation_id"] == changed["meta"]["correlation_id"]
    assert deleted["meta"]["id"] != changed["meta"]["id"]
    assert [d["payload"] for d in listed["deliveries"]] == [deleted]


async def test_failed_deliveries_are_retried_after_3_30_and_150_seconds_on_the_sandbox_clock(
    client: httpx.AsyncClient, world: World, receiver: Receiver, openapi_specs: dict[str, OpenAPI]
) -> None:
    receiver.plan = [500, 503, "timeout", 404]
    hook = await add_hook(client)
    await client.post("/api/v2/persons", json={"name": "Rita Retry"})
    await settle(world)
    clock = world.state.clock
    for wait, attempts in ((2.9, 1), (0.1, 2), (29.9, 2), (0.1, 3), (149.9, 3), (0.1, 4), (600, 4)):
        clock.advance(wait)
        await settle(world)
        assert len(receiver.seen) == attempts, (wait, attempts)

    assert [p["meta"]["attempt"] for p in receiver.payloads()] == [1, 2, 3, 4]
    assert len({p["meta"]["id"] for p in receiver.payloads()}) == 1
    assert len({p["meta"]["timestamp"] for p in receiver.payloads()}) == 1
    log = webhooks_for(world.state).log
    assert [(d.status, d.error) for d in log] == [(500, None), (503, None), (None, "timeout"), (404, None)]
    assert [d.at.isoformat() for d in log] == [
        "2026-03-02T09:00:00+00:00",
        "2026-03-02T09:00:03+00:00",
        "2026-03-02T09:00:33+00:00",
        "2026-03-02T09:03:03+00:00",
    ]
    answer = await client.get("/api/v1/webhooks")
    validate_contract(openapi_specs, answer)
    listed = answer.json()["data"]
    stored = next(h for h in listed if h["id"] == hook["id"])
    assert (stored["last_http_status"], stored["last_delivery_time"]) == (404, "2026-03-02T09:03:03.000Z")


async def test_a_retry_that_succeeds_ends_the_retries(
    client: httpx.AsyncClient, world: World, receiver: Receiver
) -> None:
    receiver.plan = [500]
    await add_hook(client)
    await client.post("/api/v2/persons", json={"name": "Rita Retry"})
    await settle(world)
    world.state.clock.advance(3)
    await settle(world)
    world.state.clock.advance(3600)
    await settle(world)
    assert [p["meta"]["attempt"] for p in receiver.payloads()] == [1, 2]
    assert webhooks_for(world.state).pending_retries() == []


async def test_ten_failed_first_attempts_ban_the_hook_for_30_minutes_and_lose_its_events(
    client: httpx.AsyncClient, world: World, receiver: Receiver
) -> None:
    receiver.plan = [500] * 10
    await add_hook(client, event_action="create")
    for n in range(10):
        await client.post("/api/v2/persons", json={"name": f"Person {n}"})
        await settle(world)
    lost = await client.post("/api/v2/persons", json={"name": "Lost Person"})
    world.state.clock.advance(29 * 60)
    await settle(world)
    assert len(receiver.seen) == 10
    assert all(p["meta"]["attempt"] == 1 for p in receiver.payloads())
    dropped = [d for d in webhooks_for(world.state).log if not d.sent]
    assert str(lost.json()["data"]["id"]) in {d.payload()["meta"]["entity_id"] for d in dropped}
    assert {d.error for d in dropped} == {"banned"}

    world.state.clock.advance(60)
    await client.post("/api/v2/persons", json={"name": "After The Ban"})
    await settle(world)
    assert receiver.payloads()[-1]["data"]["name"] == "After The Ban"


@pytest.mark.parametrize(
    ("overrides", "delivered"),
    [
        ({"event_object": "deal"}, 0),
        ({"event_object": "*", "event_action": "*"}, 1),
        ({"event_action": "delete"}, 0),
        ({"event_action": "create"}, 1),
        ({"version": "1.0"}, 0),
    ],
)
async def test_only_matching_v2_hooks_get_the_event(
    client: httpx.AsyncClient,
    world: World,
    receiver: Receiver,
    overrides: dict[str, str],
    delivered: int,
) -> None:
    await add_hook(client, **overrides)
    await client.post("/api/v2/persons", json={"name": "Nina Neu"})
    await settle(world)
    assert len(receiver.seen) == delivered


async def test_a_hook_without_credentials_gets_no_authorization_header(
    client: httpx.AsyncClient, world: World, receiver: Receiver
) -> None:
    await add_hook(client, http_auth_user=None, http_auth_password=None)
    await client.post("/api/v2/persons", json={"name": "Nina Neu"})
    await settle(world)
    assert "authorization" not in receiver.seen[0][0]


async def test_users_edit_and_delete_in_the_app_and_reset_clears_deliveries(
    client: httpx.AsyncClient, world: World, receiver: Receiver
) -> None:
    receiver.plan = [500]
    await add_hook(client)
    person = f"/_sandbox/companies/{world.company_a}/persons/{world.person_a}"
    async with make_client(world, None) as control:
        edited = await control.patch(person, json={"phones": ["+49 170 0000000"]})
        assert edited.status_code == 200
        deleted = await control.delete(person)
        assert deleted.status_code == 200
        await control.post("/_sandbox/webhook-deliveries/settle")
        listed = (await control.get("/_sandbox/webhook-deliveries")).json()
        assert [(d["action"], d["status"]) for d in listed["deliveries"]] == [
            ("change", 500),
            ("delete", 200),
        ]
        assert listed["deliveries"][0]["payload"]["meta"]["change_source"] == "app"
        assert listed["deliveries"][0]["payload"]["data"]["phones"][0]["value"] == "+49 170 0000000"
        assert listed["pending_retries"] == [{"due": "2026-03-02T09:00:03Z", "webhook_id": 1, "attempt": 2}]

        await control.post("/_sandbox/reset")
        after = (await control.get("/_sandbox/webhook-deliveries")).json()
    assert after == {"deliveries": [], "pending_retries": []}


@pytest.mark.parametrize(
    ("path", "body", "status", "reason"),
    [
        ("/persons/{p}/merge", {"merge_with_id": "{p}"}, 400, "same_person"),
        ("/persons/{p}/merge", {}, 400, "missing_merge_with_id"),
        ("/persons/999/merge", {"merge_with_id": "{p}"}, 404, "unknown_person"),
        ("/persons/{p}/merge", {"merge_with_id": 999}, 404, "unknown_merge_with_id"),
        ("/persons/{p}/merge", {"merge_with_id": "x"}, 400, "invalid_merge_with_id"),
        ("/persons/{p}/merge", {"merge_with_id": "{p}", "user_id": 999}, 404, "unknown_user"),
    ],
)
async def test_control_refusals_name_their_reason(
    world: World, path: str, body: dict[str, Any], status: int, reason: str
) -> None:
    own = str(world.person_a)
    sent = {k: (world.person_a if v == "{p}" else v) for k, v in body.items()}
    async with make_client(world, None) as control:
        answer = await control.post(
            f"/_sandbox/companies/{world.company_a}" + path.replace("{p}", own), json=sent
        )
    assert answer.status_code == status
    assert answer.json()["reason"] == reason
    assert answer.json()["error"]


async def test_an_api_request_starts_the_retries_that_are_due(
    client: httpx.AsyncClient, world: World, receiver: Receiver
) -> None:
    receiver.plan = [500]
    await add_hook(client)
    await client.post("/api/v2/persons", json={"name": "Rita Retry"})
    await settle(world)
    world.state.clock.advance(3)
    assert len(webhooks_for(world.state).pending_retries()) == 1
    await client.get("/api/v1/users/me")
    assert webhooks_for(world.state).pending_retries() == []
    await settle(world)
    assert [p["meta"]["attempt"] for p in receiver.payloads()] == [1, 2]
