"""Each "Link my WhatsApp number" starts a session on the gateway, so a user may have only so many
waiting for their QR code (``WAPIPE_MAX_PENDING_PAIRINGS``, 3 by default): one more is refused by name,
with what to do, and starts nothing on the gateway."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable

import jwt
import pytest

from server.settings import Settings
from server.storage.accounts import SqlAccountStore
from tests.web.inbound_world import LINKED_NUMBER, InboundWorld, inbound_world

COMPANY = 9001  # the Pipedrive company the world's company row stands for
USER = 501
COLLEAGUE = 502


def headers(settings: Settings, user: int = USER) -> dict[str, str]:
    now = int(time.time())
    claims = {"userId": user, "companyId": COMPANY, "iat": now, "exp": now + 300}
    return {"X-Pipedrive-Token": jwt.encode(claims, settings.pipedrive_jwt_secret.get_secret_value())}


@pytest.fixture
async def world(make_settings: Callable[..., Settings]) -> AsyncIterator[tuple[InboundWorld, Settings]]:
    settings = make_settings(public_url="http://wapipe.test")
    async with inbound_world(settings) as world:
        await world.install_users(USER, COLLEAGUE, admin=USER)
        yield world, settings


def account_id(html: str) -> int:
    found = re.search(r'data-account-id="(\d+)"', html)
    assert found is not None, html
    return int(found.group(1))


def gateway_sessions(w: InboundWorld) -> set[str]:
    return {name for name in w.waha.sessions if name.startswith("wapipe-c")}


def test_the_default_is_three_pending_pairings() -> None:
    assert Settings.model_fields["max_pending_pairings"].default == 3


async def test_up_to_the_cap_each_link_starts_a_pairing_and_the_next_is_refused(
    world: tuple[InboundWorld, Settings],
) -> None:
    w, settings = world
    started = [await w.client.post("/numbers", headers=headers(settings)) for _ in range(3)]
    assert [answer.status_code for answer in started] == [200, 200, 200]
    assert len(gateway_sessions(w)) == 3

    over = await w.client.post("/numbers", headers=headers(settings))
    assert over.status_code == 429
    assert 'data-reason="too_many_pending_pairings"' in over.text
    assert "3 numbers waiting for their QR code" in over.text and "unlink" in over.text
    assert "hx-trigger" not in over.headers
    assert len(gateway_sessions(w)) == 3  # nothing more was started on the gateway

    # A colleague's own pairings are counted apart.
    assert (await w.client.post("/numbers", headers=headers(settings, COLLEAGUE))).status_code == 200


async def test_a_scanned_or_unlinked_pairing_makes_room(world: tuple[InboundWorld, Settings]) -> None:
    w, settings = world
    ids = [account_id((await w.client.post("/numbers", headers=headers(settings))).text) for _ in range(3)]
    assert (await w.client.post("/numbers", headers=headers(settings))).status_code == 429

    unlinked = await w.client.post(f"/numbers/{ids[0]}/unlink", headers=headers(settings))
    assert unlinked.status_code == 200
    assert (await w.client.post("/numbers", headers=headers(settings))).status_code == 200
    assert (await w.client.post("/numbers", headers=headers(settings))).status_code == 429

    await w.waha.elapse(2)  # the sessions show their QR codes; the phone scans the second one
    second = await SqlAccountStore(w.resources.engine).get(w.account.company_id, ids[1])
    assert second is not None
    w.waha.scan(second.session_name, LINKED_NUMBER, "Anna Admin")
    done = await w.client.get(f"/numbers/{ids[1]}/pairing", headers=headers(settings))
    assert f"Linked +{LINKED_NUMBER}" in done.text
    assert (await w.client.post("/numbers", headers=headers(settings))).status_code == 200


async def test_the_cap_is_a_setting(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(public_url="http://wapipe.test", max_pending_pairings=1)
    async with inbound_world(settings) as w:
        await w.install_users(USER, admin=USER)
        assert (await w.client.post("/numbers", headers=headers(settings))).status_code == 200
        refused = await w.client.post("/numbers", headers=headers(settings))
        assert refused.status_code == 429 and "1 number waiting for its QR code" in refused.text
