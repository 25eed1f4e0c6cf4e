"""Set-up subscribes Pipedrive's Person changes once: an app webhook for every action on Persons, to
``/webhooks/pipedrive``, with the Basic credentials derived for the company (computed here with hmac);
an installation without the ``admin`` scope is skipped by name."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from typing import Any

from sqlalchemy import update

from server.crypto import SecretBox
from server.jobs.deps import PersonWebhookConfig
from server.jobs.setup import subscribe_person_webhook
from server.storage.installations import SqlInstallationStore
from server.storage.tables import Installation, table_of
from tests.job_deps import run_ctx
from tests.sync.world import SyncWorld

URL = "https://wapipe.test/webhooks/pipedrive"
SECRET = "a-server-secret-for-the-webhook-test"
FERNET = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


def setup_ctx(world: SyncWorld, secret: str = SECRET) -> dict[str, Any]:
    deps = replace(
        world.deps,
        installations=SqlInstallationStore(world.engine, SecretBox([FERNET])),
        person_webhook=PersonWebhookConfig(URL, secret),
    )
    return run_ctx(deps)


def app_webhooks(world: SyncWorld) -> list[dict[str, Any]]:
    return list(world.data.webhooks.values())


async def test_setup_subscribes_person_changes_once(world: SyncWorld) -> None:
    ctx = setup_ctx(world)
    assert await subscribe_person_webhook(ctx, world.client, world.company_id) == "created"
    assert await subscribe_person_webhook(ctx, world.client, world.company_id) == "exists"

    [hook] = app_webhooks(world)
    expected = hmac.new(SECRET.encode(), f"pipedrive-webhook:{world.pd_company}".encode(), hashlib.sha256)
    assert hook["subscription_url"] == URL
    assert (hook["event_action"], hook["event_object"], hook["version"]) == ("*", "person", "2.0")
    assert (hook["http_auth_user"], hook["http_auth_password"]) == ("wapipe", expected.hexdigest())
    assert hook["user_id"] == world.admin_id
    assert hook["type"] == "application"


async def test_an_installation_without_the_admin_scope_is_skipped_by_name(world: SyncWorld) -> None:
    table = table_of(Installation)
    async with world.engine.begin() as connection:
        await connection.execute(
            update(table).where(table.c.is_admin).values(scopes="base,contacts:full,activities:full")
        )

    result = await subscribe_person_webhook(setup_ctx(world), world.client, world.company_id)

    assert result == "admin_scope_missing"
    assert app_webhooks(world) == []


async def test_another_apps_or_an_older_webhook_of_ours_for_deals_is_not_taken_for_ours(
    world: SyncWorld,
) -> None:
    await world.client.webhooks.create(URL, event_action="*", event_object="deal", name="deals")
    await world.client.webhooks.create(
        "https://elsewhere.test/hook", event_action="*", event_object="person", name="someone else's"
    )

    assert await subscribe_person_webhook(setup_ctx(world), world.client, world.company_id) == "created"
    assert len(app_webhooks(world)) == 3


async def test_a_webhook_with_credentials_of_an_earlier_secret_is_replaced(world: SyncWorld) -> None:
    """After the server secret changed every delivery would be refused: set-up replaces the webhook."""
    assert await subscribe_person_webhook(setup_ctx(world), world.client, world.company_id) == "created"
    rotated = setup_ctx(world, "the-next-server-secret")
    assert await subscribe_person_webhook(rotated, world.client, world.company_id) == "replaced"
    assert await subscribe_person_webhook(rotated, world.client, world.company_id) == "exists"

    [hook] = app_webhooks(world)
    expected = hmac.new(
        b"the-next-server-secret", f"pipedrive-webhook:{world.pd_company}".encode(), hashlib.sha256
    )
    assert (hook["http_auth_user"], hook["http_auth_password"]) == ("wapipe", expected.hexdigest())
