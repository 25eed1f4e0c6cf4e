"""Pipedrive's uninstall notice: Basic client credentials, a validated body, tokens gone, work stops."""

from __future__ import annotations

import base64
import json

import pytest

from server.domain.errors import NotInstalled
from tests.install.world import InstallWorld
from tests.world import CLIENT_ID, CLIENT_SECRET


def basic(client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> dict[str, str]:
    token = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def test_uninstall_from_pipedrive_deletes_the_tokens_and_reinstall_restores(
    world: InstallWorld,
) -> None:
    await world.install(world.admin)
    await world.install(world.agent)
    delivery = await world.uninstall_in_pipedrive(world.admin)
    assert delivery["status_code"] == 200
    admin_row, agent_row = await world.installations()
    assert (
        admin_row["status"],
        admin_row["access_token_encrypted"],
        admin_row["refresh_token_encrypted"],
    ) == (
        "uninstalled",
        "",
        "",
    )
    assert admin_row["expires_at"] is None and admin_row["uninstalled_at"] is not None
    assert agent_row["status"] == "active" and agent_row["access_token_encrypted"]

    company_id = (await world.wapipe_company())["id"]
    connector = world.resources.pipedrive.connector
    with pytest.raises(NotInstalled):
        await connector.for_company(company_id)  # the only admin left: the company's sync stops
    with pytest.raises(NotInstalled):
        await connector.for_user(company_id, world.admin.id)
    agent_client = await connector.for_user(company_id, world.agent.id)
    assert (await agent_client.users.me()).id == world.agent.id

    again = await world.install(world.admin)
    assert again.status_code == 303
    admin_row, _ = await world.installations()
    assert (admin_row["status"], admin_row["uninstalled_at"]) == ("active", None)
    sync_client = await connector.for_company(company_id)
    assert (await sync_client.users.me()).id == world.admin.id


async def test_a_second_admin_takes_over_the_sync_when_the_first_uninstalls(world: InstallWorld) -> None:
    await world.install(world.admin)
    await world.install(world.second_admin)
    company_id = (await world.wapipe_company())["id"]
    connector = world.resources.pipedrive.connector
    assert (await (await connector.for_company(company_id)).users.me()).id == world.admin.id
    await world.uninstall_in_pipedrive(world.admin)
    assert (await (await connector.for_company(company_id)).users.me()).id == world.second_admin.id


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic(secret="wrong-secret"),
        basic(client_id="another-app"),
        {"Authorization": "Basic not-base64!!"},
        {"Authorization": f"Bearer {CLIENT_SECRET}"},
        {"Authorization": "Basic " + base64.b64encode(CLIENT_ID.encode()).decode()},
    ],
    ids=["missing", "wrong-secret", "wrong-id", "garbage", "bearer", "no-colon"],
)
async def test_uninstall_needs_the_app_credentials(world: InstallWorld, headers: dict[str, str]) -> None:
    await world.install(world.admin)
    body = {
        "client_id": CLIENT_ID,
        "company_id": world.company.id,
        "user_id": world.admin.id,
        "timestamp": "x",
    }
    answer = await world.client.request("DELETE", "/oauth/callback", json=body, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"] == "bad_client_credentials"
    assert answer.headers["www-authenticate"].startswith("Basic")
    [row] = await world.installations()
    assert row["status"] == "active"


GOOD = {"client_id": CLIENT_ID, "company_id": 1, "user_id": 1, "timestamp": "2026-03-02T09:00:00Z"}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "invalid_json"),
        (b"[1, 2]", "invalid_body"),
        (json.dumps({**GOOD, "client_id": "other"}).encode(), "client_id_mismatch"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "client_id"}).encode(), "client_id_mismatch"),
        (json.dumps({**GOOD, "company_id": "abc"}).encode(), "invalid_company_id"),
        (json.dumps({**GOOD, "company_id": True}).encode(), "invalid_company_id"),
        (json.dumps({**GOOD, "company_id": -4}).encode(), "invalid_company_id"),
        (json.dumps({**GOOD, "user_id": None}).encode(), "invalid_user_id"),
        (json.dumps({**GOOD, "user_id": 1.5}).encode(), "invalid_user_id"),
        (json.dumps({**GOOD, "timestamp": ""}).encode(), "invalid_timestamp"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "timestamp"}).encode(), "invalid_timestamp"),
    ],
)
async def test_malformed_uninstall_bodies_are_named(world: InstallWorld, body: bytes, reason: str) -> None:
    await world.install(world.admin)
    answer = await world.client.request("DELETE", "/oauth/callback", content=body, headers=basic())
    assert answer.status_code == 400
    assert answer.json()["error"] == reason
    [row] = await world.installations()
    assert row["status"] == "active"


async def test_uninstall_is_idempotent_and_unknown_companies_are_acknowledged(world: InstallWorld) -> None:
    await world.install(world.admin)
    body = {**GOOD, "company_id": world.company.id, "user_id": world.admin.id}
    first = await world.client.request("DELETE", "/oauth/callback", json=body, headers=basic())
    [row] = await world.installations()
    second = await world.client.request("DELETE", "/oauth/callback", json=body, headers=basic())
    assert first.status_code == second.status_code == 200
    [again] = await world.installations()
    assert again["uninstalled_at"] == row["uninstalled_at"]
    stranger = await world.client.request(
        "DELETE", "/oauth/callback", json={**GOOD, "company_id": 777, "user_id": 8}, headers=basic()
    )
    assert stranger.status_code == 200
    too_big = await world.client.request(
        "DELETE", "/oauth/callback", content=b"{" + b" " * 5000 + b"}", headers=basic()
    )
    assert too_big.status_code == 413


async def test_visibility_notices_are_acknowledged_only_with_credentials(world: InstallWorld) -> None:
    body = {"company_id": 1, "user_id": 2, "isShared": True}
    assert (await world.client.post("/oauth/callback", json=body)).status_code == 401
    assert (await world.client.post("/oauth/callback", json=body, headers=basic())).status_code == 200
