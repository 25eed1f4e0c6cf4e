"""`/_sandbox/reset` leaves nothing of what came before, and `/_sandbox/clients` registers an app, so a
running sandbox can be handed from one app under test to the next."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from sandbox.pipedrive import state as state_module
from sandbox.pipedrive.app import create_app
from sandbox.pipedrive.host import configure_host_app
from sandbox.pipedrive.oauth import oauth_server_for
from sandbox.pipedrive.seed import ALL_SCOPES
from sandbox.pipedrive.state import Clock, SandboxState

CLIENT_ID = "wapipe-demo-client"
CLIENT_SECRET = "client-secret"
JWT_SECRET = "a-jwt-secret-that-is-32-bytes-long!"
CALLBACK = "http://127.0.0.1:8001/oauth/callback"
NEXT_CALLBACK = "http://127.0.0.1:8002/oauth/callback"
BASIC = httpx.BasicAuth(CLIENT_ID, CLIENT_SECRET)
BASE_URL = "http://127.0.0.1:8100"
OTHER_SECRET = "another-client-secret-32-bytes-long"


@dataclass
class World:
    state: SandboxState
    http: httpx.AsyncClient
    notified: list[httpx.Request]


@pytest.fixture
async def world() -> AsyncIterator[World]:
    state = SandboxState(base_url=BASE_URL)
    notified: list[httpx.Request] = []

    def app_answers(request: httpx.Request) -> httpx.Response:
        notified.append(request)
        return httpx.Response(200)

    oauth_server_for(state).http = httpx.AsyncClient(transport=httpx.MockTransport(app_answers))
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as http:
        yield World(state, http, notified)


async def the_company_again(world: World, callback: str = CALLBACK) -> dict[str, Any]:
    """A company, its admin and the app, as a harness sets them up after each reset (all over HTTP)."""
    company = (await world.http.post("/_sandbox/companies", json={"name": "Acme"})).json()
    admin = await world.http.post(
        f"/_sandbox/companies/{company['id']}/users",
        json={"name": "Ada Admin", "email": "ada@acme.test", "is_admin": True},
    )
    registered = await world.http.post(
        "/_sandbox/clients",
        json={
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uri": callback,
            "jwt_secret": JWT_SECRET,
        },
    )
    assert registered.status_code == 201, registered.text
    return {"company": company, "admin": admin.json()}


async def code_for(world: World, user_id: int, callback: str = CALLBACK) -> str:
    form = {"client_id": CLIENT_ID, "redirect_uri": callback, "decision": "allow", "user_id": str(user_id)}
    answer = await world.http.post("/oauth/authorize", data=form)
    assert answer.status_code == 302, answer.text
    return str(httpx.URL(answer.headers["location"]).params["code"])


async def exchange(world: World, code: str, callback: str = CALLBACK) -> httpx.Response:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": callback}
    return await world.http.post("/oauth/token", data=form, auth=BASIC)


async def test_reset_forgets_codes_grants_uninstalls_and_host_apps(world: World) -> None:
    first = await the_company_again(world)
    admin = first["admin"]["id"]
    uninstalled = await world.http.post(
        "/_sandbox/oauth/uninstall",
        json={"client_id": CLIENT_ID, "company_id": first["company"]["id"], "user_id": admin},
    )
    assert uninstalled.json()["status_code"] == 200 and len(world.notified) == 1
    unredeemed = await code_for(world, admin)
    tokens = (await exchange(world, await code_for(world, admin))).json()
    assert (await exchange(world, await code_for(world, admin))).status_code == 200
    configure_host_app(world.state, CLIENT_ID, panel_url="http://127.0.0.1:8001/panel")

    assert (await world.http.post("/_sandbox/reset")).json() == {"ok": True}
    again = await the_company_again(world)
    assert again["admin"]["id"] == admin  # ids start over: the old code names this very user again

    refused = await exchange(world, unredeemed)
    assert refused.status_code == 400
    assert refused.json()["message"] == "Invalid grant: authorization_code is invalid"
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    stale = await world.http.post("/oauth/token", data=refresh, auth=BASIC)
    assert stale.json()["message"] == "Invalid grant: refresh_token is invalid"
    assert (await world.http.get("/_sandbox/oauth/uninstalls")).json() == []
    page = await world.http.get("/host/settings")
    assert page.status_code == 400
    assert "Give ?panel_url=" in page.text


async def test_reset_puts_back_the_settings_faults_and_limits(world: World) -> None:
    await the_company_again(world)
    changed = {"emit_nulls": True, "token_ttl_seconds": 5, "base_url": "http://elsewhere.test"}
    await world.http.post("/_sandbox/settings", json={**changed, "phone_search_ignores_punctuation": False})
    await world.http.post("/_sandbox/faults", json={"force_429": 3, "latency_ms": 900})
    await world.http.post("/_sandbox/companies/1/budget", json={"exhaust": True})
    world.state.rotate_refresh_tokens = True

    await world.http.post("/_sandbox/reset")
    assert (await world.http.get("/_sandbox/settings")).json() == {
        "emit_nulls": False,
        "phone_search_ignores_punctuation": True,
        "token_ttl_seconds": 3600,
        "base_url": BASE_URL,
    }
    faults = (await world.http.get("/_sandbox/faults")).json()
    assert faults == {
        "force_429": 0,
        "force_5xx": 0,
        "status_5xx": 500,
        "cloudflare_403": 0,
        "latency_ms": 0,
        "omit_daily_headers": 0,
    }
    assert world.state.rotate_refresh_tokens is False
    await the_company_again(world)
    budget = (await world.http.post("/_sandbox/companies/1/budget", json={})).json()
    assert budget["tokens_used"] == 0 and budget["requests"] == 0


async def test_reset_starts_a_frozen_clock_over(world: World) -> None:
    await world.http.post("/_sandbox/clock", json={"advance_seconds": 86_400})
    assert (await world.http.get("/_sandbox/clock")).json() == {"now": "2026-03-03T09:00:00Z"}
    await world.http.post("/_sandbox/reset")
    assert (await world.http.get("/_sandbox/clock")).json() == {"now": "2026-03-02T09:00:00Z"}


class WallClock:
    """Stands in for ``datetime`` in the sandbox's state module: ``now`` is what the test says it is."""

    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self, tz: Any = None) -> datetime:
        return self.current


def test_a_clock_that_follows_the_wall_clock_starts_over_on_it(monkeypatch: pytest.MonkeyPatch) -> None:
    wall = WallClock(datetime(2026, 5, 1, 12, 0, tzinfo=UTC))
    monkeypatch.setattr(state_module, "datetime", wall)
    following = Clock(follow_wall_clock=True)
    behind = Clock(datetime(2026, 5, 1, 11, 50, tzinfo=UTC), follow_wall_clock=True)
    following.advance(3600)  # an earlier test moved it on
    behind.set(datetime(2030, 1, 1, tzinfo=UTC))
    wall.current += timedelta(hours=2)  # time passes while the sandbox runs

    following.reset()
    behind.reset()
    assert following.now() == datetime(2026, 5, 1, 14, 0, tzinfo=UTC)
    assert behind.now() == datetime(2026, 5, 1, 13, 50, tzinfo=UTC)  # ten minutes behind, as it started
    wall.current += timedelta(seconds=30)
    assert following.now() == datetime(2026, 5, 1, 14, 0, 30, tzinfo=UTC)


async def test_an_app_is_registered_through_the_control_endpoint(world: World) -> None:
    company = (await world.http.post("/_sandbox/companies", json={"name": "Acme"})).json()
    await world.http.post(
        f"/_sandbox/companies/{company['id']}/users",
        json={"name": "Ada Admin", "email": "ada@acme.test", "is_admin": True},
    )
    body = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": CALLBACK,
        "jwt_secret": JWT_SECRET,
    }
    registered = await world.http.post("/_sandbox/clients", json=body)
    assert registered.status_code == 201
    assert registered.json() == {
        "client_id": CLIENT_ID,
        "name": CLIENT_ID,  # no name given: users see the client id
        "redirect_uri": CALLBACK,
        "scopes": list(ALL_SCOPES),
    }
    consent = await world.http.get(
        "/oauth/authorize", params={"client_id": CLIENT_ID, "redirect_uri": CALLBACK}
    )
    assert consent.status_code == 200 and "Ada Admin" in consent.text

    # The host pages sign the app's tokens with its JWT secret.
    await world.http.post(
        "/_sandbox/host/apps", json={"client_id": CLIENT_ID, "panel_url": "http://127.0.0.1:8001/panel"}
    )
    token = (await world.http.get("/host/token", params={"client_id": CLIENT_ID})).json()["token"]
    claims = jwt.decode(token, JWT_SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert claims["companyId"] == company["id"]

    # Registered again (the app moved to another port): the new callback only.
    moved = await world.http.post("/_sandbox/clients", json={**body, "redirect_uri": NEXT_CALLBACK})
    assert moved.status_code == 201
    old = await world.http.get("/oauth/authorize", params={"client_id": CLIENT_ID, "redirect_uri": CALLBACK})
    assert old.status_code == 400 and "Invalid request: redirect_uri is invalid" in old.text
    code = await code_for(world, 1, NEXT_CALLBACK)
    assert (await exchange(world, code, NEXT_CALLBACK)).status_code == 200

    # With a name, users see the name: on the consent page, the panel's header and the app's settings.
    named = await world.http.post("/_sandbox/clients", json={**body, "name": "WaPipe"})
    assert named.json()["name"] == "WaPipe"
    consent = await world.http.get(
        "/oauth/authorize", params={"client_id": CLIENT_ID, "redirect_uri": CALLBACK}
    )
    assert f'<strong data-client-id="{CLIENT_ID}">WaPipe</strong>' in consent.text
    person = await world.http.post(
        f"/_sandbox/companies/{company['id']}/persons", json={"name": "Pat", "phones": ["+49 30 1"]}
    )
    page = (await world.http.get(f"/host/person/{person.json()['id']}")).text
    assert 'aria-controls="pd-panel-body">WaPipe</button>' in page and 'title="WaPipe"' in page
    settings = (await world.http.get("/host/settings")).text
    assert '<h1 class="pd-title">WaPipe settings</h1>' in settings

    # Without a JWT secret, tokens are signed with the client secret; scopes may be narrowed.
    narrow = {
        "client_id": "other",
        "client_secret": OTHER_SECRET,
        "redirect_uri": CALLBACK,
        "scopes": ["base"],
    }
    assert (await world.http.post("/_sandbox/clients", json=narrow)).json()["scopes"] == ["base"]
    other = (await world.http.get("/host/token", params={"client_id": "other"})).json()["token"]
    signed_by = jwt.decode(other, OTHER_SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert signed_by["companyId"] == company["id"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "body must be a JSON object"),
        ({"client_secret": "s", "redirect_uri": CALLBACK}, "'client_id' must be a non-empty string"),
        ({"client_id": "c", "redirect_uri": CALLBACK}, "'client_secret' must be a non-empty string"),
        ({"client_id": "c", "client_secret": "s", "redirect_uri": "/oauth/callback"}, "'redirect_uri'"),
        ({"client_id": "c", "client_secret": "s", "redirect_uri": "javascript:alert(1)"}, "'redirect_uri'"),
        ({"client_id": "c", "client_secret": "s", "redirect_uri": CALLBACK, "scopes": "base"}, "'scopes'"),
        ({"client_id": "c", "client_secret": "s", "redirect_uri": CALLBACK, "scopes": [1]}, "'scopes'"),
        ({"client_id": "c", "client_secret": "s", "redirect_uri": CALLBACK, "jwt_secret": 5}, "'jwt_secret'"),
        ({"client_id": "c", "client_secret": "s", "redirect_uri": CALLBACK, "name": " "}, "'name'"),
    ],
)
async def test_a_client_that_cannot_be_registered_is_refused_by_name(
    world: World, body: Any, message: str
) -> None:
    refused = await world.http.post("/_sandbox/clients", json=body)
    assert refused.status_code == 400
    assert message in refused.json()["error"]
    assert world.state.clients == {}


async def test_a_body_that_is_no_json_is_refused(world: World) -> None:
    refused = await world.http.post("/_sandbox/clients", content=b"{not json")
    assert refused.status_code == 400
    assert refused.json() == {"error": "body must be JSON"}
