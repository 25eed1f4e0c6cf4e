"""``POST /webhooks/pipedrive``: Pipedrive's Person deliveries are stored once, and only with the
credentials WaPipe gave the company (user ``wapipe``, the hex HMAC-SHA256 of ``pipedrive-webhook:<company>``
keyed with the server secret, computed here without WaPipe's code)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from server.settings import Settings
from tests.web.inbound_world import InboundWorld, inbound_world

COMPANY = 9001  # the inbound world's Pipedrive company
SECRET = "test-secret-key-for-pipedrive-webhooks"
PATH = "/webhooks/pipedrive"


@pytest.fixture
async def world(make_settings: Callable[..., Settings]) -> AsyncIterator[InboundWorld]:
    async with inbound_world(make_settings(secret_key=SECRET)) as world:
        await world.install_users(1, admin=1)
        yield world


def password(company: int, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), f"pipedrive-webhook:{company}".encode(), hashlib.sha256).hexdigest()


def basic(user: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return {"authorization": f"Basic {token}", "content-type": "application/json"}


def delivery(
    delivery_id: str = "6e2a7f0c-0d4e-4c8e-9a1b-000000000001",
    *,
    company: int = COMPANY,
    entity: str = "person",
    action: str = "delete",
    entity_id: int = 41,
    **meta: Any,
) -> bytes:
    body = {
        "meta": {
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "company_id": company,
            "user_id": 1,
            "id": delivery_id,
            "correlation_id": "c0ffee00-0000-4000-8000-000000000000",
            "is_bulk_edit": False,
            "timestamp": "2026-12-06T12:00:00.000Z",
            "type": "application",
            "version": "2.0",
            "webhook_id": "7",
            "webhook_owner_id": 1,
            "change_source": "app",
            "attempt": 1,
            "host": "acme.pipedrive.com",
            "permitted_user_ids": [1],
            **meta,
        },
        "data": None,
        "previous": None,
    }
    return json.dumps(body).encode()


async def test_a_delivery_with_the_companys_credentials_is_stored_and_queued(world: InboundWorld) -> None:
    body = delivery()  # a deletion: the job it queues needs no Pipedrive (this world has none)
    response = await world.client.post(PATH, content=body, headers=basic("wapipe", password(COMPANY)))
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "accepted"}
    [event] = await world.events()
    assert event["transport"] == "pipedrive"
    assert event["state"] == "pending"
    assert event["body"] == body
    assert world.resources.queue.pending() == [f"inbound:{event['id']}"]  # type: ignore[attr-defined]


async def test_a_redelivery_is_stored_once(world: InboundWorld) -> None:
    headers = basic("wapipe", password(COMPANY))
    first = await world.client.post(PATH, content=delivery(), headers=headers)
    retry = await world.client.post(PATH, content=delivery(attempt=2), headers=headers)
    assert first.json() == {"status": "accepted"}
    assert retry.status_code == 200
    assert retry.json() == {"status": "duplicate"}
    assert len(await world.events()) == 1


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"content-type": "application/json"}, "missing_credentials"),
        ({"authorization": "Bearer " + password(COMPANY)}, "missing_credentials"),
        ({"authorization": "Basic not-base64!"}, "missing_credentials"),
        (basic("wapipe", password(COMPANY, "another-secret")), "bad_credentials"),
        (basic("admin", password(COMPANY)), "bad_credentials"),
        (basic("wapipe", password(COMPANY + 1)), "bad_credentials"),  # another company's password
        (basic("wapipe", ""), "bad_credentials"),
    ],
)
async def test_missing_or_wrong_credentials_are_refused_and_nothing_is_stored(
    world: InboundWorld, headers: dict[str, str], reason: str
) -> None:
    response = await world.client.post(PATH, content=delivery(), headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == reason
    assert response.headers["www-authenticate"].startswith("Basic")
    assert await world.events() == []


async def test_a_company_without_an_installation_is_refused(world: InboundWorld) -> None:
    stranger = 9002  # its password is right, but WaPipe is not installed there
    body = delivery(company=stranger)
    response = await world.client.post(PATH, content=body, headers=basic("wapipe", password(stranger)))
    assert response.status_code == 401
    assert response.json()["error"] == "bad_credentials"
    assert await world.events() == []


async def test_a_delivery_about_another_entity_is_acknowledged_and_not_stored(world: InboundWorld) -> None:
    body = delivery(entity="deal", action="change")
    response = await world.client.post(PATH, content=body, headers=basic("wapipe", password(COMPANY)))
    assert response.status_code == 200
    assert response.json() == {"status": "ignored"}
    assert await world.events() == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (delivery(action="archive"), "unknown_action"),
        (delivery(entity_id="forty-one"), "missing_entity_id"),
        (delivery(merged_to_id="x"), "invalid_merged_to_id"),
        (delivery(id=None), "missing_delivery_id"),
    ],
)
async def test_a_malformed_person_delivery_is_refused_by_name_and_kept(
    world: InboundWorld, body: bytes, reason: str
) -> None:
    response = await world.client.post(PATH, content=body, headers=basic("wapipe", password(COMPANY)))
    assert response.status_code == 400
    assert response.json()["error"] == reason
    [event] = await world.events()
    assert (event["state"], event["reason"]) == ("rejected", reason)
