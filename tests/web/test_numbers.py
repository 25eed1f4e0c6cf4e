"""The numbers page over HTTP: Pipedrive token required, linking through the WAHA sandbox, company scoping."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
import pytest

from server.domain.whatsapp import Peer, SessionStatus
from server.services.numbers import NumberLinking
from server.settings import Settings
from server.storage.accounts import SqlAccountStore
from server.storage.inbox import SqlInboxStore
from tests.web.inbound_world import LINKED_NUMBER, InboundWorld, inbound_world
from tests.whatsapp.cloud_standin import PHONE_NUMBER_ID, CloudStandIn
from tests.whatsapp.cloud_standin import TOKEN as CLOUD_TOKEN

COMPANY = 9001  # the Pipedrive company the world's company row stands for
USER = 501


def token(settings: Settings, *, company: int = COMPANY, user: int = USER, ttl: int = 300) -> str:
    now = int(time.time())
    claims = {"userId": user, "companyId": company, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, settings.pipedrive_jwt_secret.get_secret_value(), algorithm="HS256")


@pytest.fixture
async def world(make_settings: Callable[..., Settings]) -> AsyncIterator[tuple[InboundWorld, Settings]]:
    settings = make_settings(public_url="http://wapipe.test")
    async with inbound_world(settings) as world:
        await world.install_users(USER, 777, admin=USER)
        yield world, settings


async def test_the_page_needs_a_pipedrive_token(world: tuple[InboundWorld, Settings]) -> None:
    w, settings = world
    missing = await w.client.get("/numbers")
    assert missing.status_code == 401
    assert 'data-reason="token_missing"' in missing.text
    expired = await w.client.get("/numbers", params={"token": token(settings, ttl=-60)})
    assert expired.status_code == 401
    assert 'data-reason="token_expired"' in expired.text
    forged = jwt.encode({"userId": USER, "companyId": COMPANY, "exp": int(time.time()) + 60}, "x" * 32)
    assert (await w.client.get("/numbers", params={"token": forged})).status_code == 401


async def test_linking_a_number_shows_the_qr_then_the_linked_number(
    world: tuple[InboundWorld, Settings],
) -> None:
    w, settings = world
    page = await w.client.get("/numbers", params={"token": token(settings)})
    assert page.status_code == 200
    assert "Link my WhatsApp number" in page.text
    assert '<script src="/static/vendor/app-extensions-sdk.umd.js">' in page.text

    headers = {"X-Pipedrive-Token": token(settings)}
    started = await w.client.post("/numbers", headers=headers)
    assert started.status_code == 200
    assert started.headers["hx-trigger"] == "numbers-changed"
    account_id = int(re.search(r'data-account-id="(\d+)"', started.text).group(1))  # type: ignore[union-attr]

    await w.waha.elapse(2)  # the session starts and shows its QR code
    waiting = await w.client.get(f"/numbers/{account_id}/pairing", headers=headers)
    assert 'src="data:image/png;base64,' in waiting.text
    assert 'hx-trigger="every 2s"' in waiting.text

    session = (await w.resources.transports["waha"].status(_session(w, account_id))).value
    assert session == "needs_pairing"
    w.waha.scan(_session(w, account_id), LINKED_NUMBER, "Anna Admin")
    done = await w.client.get(f"/numbers/{account_id}/pairing", headers=headers)
    assert f"Linked +{LINKED_NUMBER}" in done.text
    assert "every 2s" not in done.text  # polling stops

    listing = await w.client.get("/numbers/list", headers=headers)
    assert f"+{LINKED_NUMBER}" in listing.text
    assert "Connected" in listing.text


async def test_only_the_owner_unlinks_and_other_companies_see_nothing(
    world: tuple[InboundWorld, Settings],
) -> None:
    w, settings = world
    mine = {"X-Pipedrive-Token": token(settings)}
    started = await w.client.post("/numbers", headers=mine)
    account_id = int(re.search(r'data-account-id="(\d+)"', started.text).group(1))  # type: ignore[union-attr]

    colleague = {"X-Pipedrive-Token": token(settings, user=777)}
    refused = await w.client.post(f"/numbers/{account_id}/unlink", headers=colleague)
    assert refused.status_code == 403
    assert 'data-reason="forbidden"' in refused.text

    # Another company, where nobody installed WaPipe: refused before anything of Acme's is looked at.
    stranger = {"X-Pipedrive-Token": token(settings, company=4242, user=USER)}
    for method, path in (
        ("GET", f"/numbers/{account_id}/pairing"),
        ("POST", f"/numbers/{account_id}/unlink"),
        ("GET", "/numbers/list"),
    ):
        answer = await w.client.request(method, path, headers=stranger)
        assert answer.status_code == 403 and 'data-reason="company_not_installed"' in answer.text, path
        assert "+" + LINKED_NUMBER not in answer.text and f'data-account-id="{account_id}"' not in answer.text

    unlinked = await w.client.post(f"/numbers/{account_id}/unlink", headers=mine)
    assert unlinked.status_code == 200
    assert "Unlinked" in unlinked.text
    await w.settle()  # the gateway's own late events about the logout do not revive it
    assert "Unlinked" in (await w.client.get("/numbers/list", headers=mine)).text


def _session(w: InboundWorld, account_id: int) -> str:
    return next(name for name in w.waha.sessions if name.startswith("wapipe-c"))


async def test_a_cloud_api_number_is_linked_from_the_page_by_its_phone_number_id(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(
        public_url="http://wapipe.test",
        cloud_access_token=CLOUD_TOKEN,
        cloud_app_secret="app-secret",
        cloud_verify_token="verify-me",
    )
    graph = httpx.MockTransport(CloudStandIn(now=datetime.now(UTC)).handle)
    async with inbound_world(settings, cloud=graph) as w:
        await w.install_users(USER, 777, admin=USER)
        page = await w.client.get("/numbers", params={"token": token(settings)})
        assert 'hx-post="/numbers/cloud"' in page.text
        assert "Phone number ID" in page.text
        headers = {"X-Pipedrive-Token": token(settings)}

        typed = "12 34<script>x</script>"
        refused = await w.client.post("/numbers/cloud", headers=headers, data={"phone_number_id": typed})
        assert refused.status_code == 400
        assert 'data-reason="invalid_phone_number_id"' in refused.text
        assert "<script>x" not in refused.text
        assert 'value="12 34&lt;script&gt;x&lt;/script&gt;"' in refused.text  # kept, escaped
        unknown = await w.client.post("/numbers/cloud", headers=headers, data={"phone_number_id": "999"})
        assert unknown.status_code == 400
        assert 'data-reason="number_unknown"' in unknown.text
        assert 'value="999"' in unknown.text

        linked = await w.client.post(
            "/numbers/cloud", headers=headers, data={"phone_number_id": PHONE_NUMBER_ID}
        )
        assert linked.status_code == 200
        assert linked.headers["hx-trigger"] == "numbers-changed"
        assert "Linked +49301234567" in linked.text
        listing = await w.client.get("/numbers/list", headers=headers)
        assert "+49301234567" in listing.text and "Connected" in listing.text

        again = await w.client.post(
            "/numbers/cloud",
            headers={"X-Pipedrive-Token": token(settings, user=777)},
            data={"phone_number_id": PHONE_NUMBER_ID},
        )
        assert again.status_code == 400
        assert 'data-reason="session_exists"' in again.text
        assert "already linked" in again.text

        stranger = {"X-Pipedrive-Token": token(settings, company=4242)}
        elsewhere = await w.client.get("/numbers/list", headers=stranger)
        assert elsewhere.status_code == 403 and "+49301234567" not in elsewhere.text


async def test_without_the_cloud_api_the_page_offers_qr_only_and_the_route_says_why(
    world: tuple[InboundWorld, Settings],
) -> None:
    w, settings = world
    page = await w.client.get("/numbers", params={"token": token(settings)})
    assert "/numbers/cloud" not in page.text
    headers = {"X-Pipedrive-Token": token(settings)}
    refused = await w.client.post(
        "/numbers/cloud", headers=headers, data={"phone_number_id": PHONE_NUMBER_ID}
    )
    assert refused.status_code == 400
    assert 'data-reason="cloud_not_configured"' in refused.text
    assert (await w.client.post("/numbers/cloud", data={"phone_number_id": "1"})).status_code == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/numbers"),
        ("GET", "/numbers/list"),
        ("POST", "/numbers"),
        ("GET", "/numbers/1/pairing"),
        ("POST", "/numbers/1/unlink"),
        ("POST", "/numbers/cloud"),
    ],
)
async def test_a_team_member_without_an_installation_sees_only_what_to_do(
    world: tuple[InboundWorld, Settings], method: str, path: str
) -> None:
    w, settings = world
    sessions_before = set(w.waha.sessions)
    newcomer = {"X-Pipedrive-Token": token(settings, user=888)}  # in Acme's Pipedrive, never installed
    answer = await w.client.request(method, path, headers=newcomer)
    assert answer.status_code == 403
    assert 'data-reason="install_required"' in answer.text
    assert "installs it once, for themselves" in answer.text
    assert "wp-acme-anna" not in answer.text and "Linked" not in answer.text
    assert set(w.waha.sessions) == sessions_before  # nothing started on the gateway


async def test_a_waha_on_an_engine_wapipe_cannot_use_is_named_on_the_page_and_links_nothing(
    world: tuple[InboundWorld, Settings],
) -> None:
    w, settings = world
    w.waha.server.switch({"engine": "WEBJS"})  # a real WAHA's default engine
    page = await w.client.get("/numbers", params={"token": token(settings)})
    assert page.status_code == 200
    assert 'data-reason="waha_engine_unsupported"' in page.text
    assert "WHATSAPP_DEFAULT_ENGINE=GOWS" in page.text
    assert re.search(r'id="link-number"[^>]*disabled', page.text)

    headers = {"X-Pipedrive-Token": token(settings)}
    before = (await w.client.get("/numbers/list", headers=headers)).text.count("data-account-id")
    sessions = set(w.waha.sessions)
    refused = await w.client.post("/numbers", headers=headers)
    assert refused.status_code == 503
    assert 'data-reason="waha_engine_unsupported"' in refused.text
    after = (await w.client.get("/numbers/list", headers=headers)).text.count("data-account-id")
    assert after == before and set(w.waha.sessions) == sessions

    w.waha.server.switch({"engine": "GOWS"})
    page = await w.client.get("/numbers", params={"token": token(settings)})
    assert "data-reason" not in page.text and not re.search(r'id="link-number"[^>]*disabled', page.text)


class _LinkedOnThePhone:
    """The gateway as the page's poll finds it once the phone has scanned: connected, the number known;
    its own "connected" webhook has not been processed yet."""

    kind = "waha"

    async def status(self, session_name: str) -> SessionStatus:
        return SessionStatus.CONNECTED

    async def me(self, session_name: str) -> Peer:
        return Peer(chat_key=f"{LINKED_NUMBER}@c.us", e164=f"+{LINKED_NUMBER}", display_name="Anna Admin")


async def test_the_page_that_first_sees_the_number_linked_queues_its_catch_up_once(
    world: tuple[InboundWorld, Settings],
) -> None:
    """When the page's poll records the connection before the gateway's webhook, that webhook changes
    nothing and queues no catch-up: the page queues it, so the phone's chats come in at once."""
    w, _ = world
    engine = w.resources.engine
    caught_up: list[int] = []

    async def catch_up(account_id: int) -> None:
        caught_up.append(account_id)

    async def no_qr(session_name: str) -> bytes | None:
        return None

    gateway: Any = _LinkedOnThePhone()
    linking = NumberLinking(
        SqlAccountStore(engine), SqlInboxStore(engine), gateway, no_qr, on_connected=catch_up
    )
    company = w.account.company_id
    assert w.account.status != SessionStatus.CONNECTED.value
    first = await linking.pairing(company, w.account.id)
    assert first.status is SessionStatus.CONNECTED and first.account.e164 == f"+{LINKED_NUMBER}"
    assert caught_up == [w.account.id]
    await linking.pairing(company, w.account.id)  # polled again: already connected
    assert caught_up == [w.account.id]
