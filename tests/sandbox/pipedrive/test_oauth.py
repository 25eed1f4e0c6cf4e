"""The sandbox OAuth server: code flow, token errors, refresh rotation, revoke, uninstall notification."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from sandbox.pipedrive.app import create_app
from sandbox.pipedrive.oauth import oauth_server_for
from sandbox.pipedrive.state import SandboxState, SandboxUser

CLIENT_ID = "wapipe-test"
CLIENT_SECRET = "s3cret"
CALLBACK = "http://app.test/oauth/callback"
BASIC = httpx.BasicAuth(CLIENT_ID, CLIENT_SECRET)


@dataclass
class World:
    state: SandboxState
    http: httpx.AsyncClient
    admin: SandboxUser
    member: SandboxUser


@pytest.fixture
async def world() -> AsyncIterator[World]:
    state = SandboxState()
    company = state.add_company("Acme GmbH")
    member = state.add_user(company.id, "Mia Member", "mia@acme.test")
    admin = state.add_user(company.id, "Ada Admin", "ada@acme.test", is_admin=True)
    state.add_client(CLIENT_ID, CLIENT_SECRET, CALLBACK, ["contacts:full", "deals:full"])
    app = create_app(state)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://oauth.sandbox.test") as http:
        yield World(state, http, admin, member)


def callback_params(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(CALLBACK + "?")
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


async def authorize(world: World, *, decision: str = "allow", user_id: int | None = None) -> dict[str, str]:
    form: dict[str, Any] = {
        "client_id": CLIENT_ID,
        "redirect_uri": CALLBACK,
        "state": "xyz-123",
        "decision": decision,
        "user_id": str(user_id or world.admin.id),
    }
    return callback_params(await world.http.post("/oauth/authorize", data=form))


async def exchange(world: World, code: str, **overrides: Any) -> httpx.Response:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    return await world.http.post("/oauth/token", data=form, auth=overrides.pop("auth", BASIC), **overrides)


def assert_oauth_error(response: httpx.Response, message: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["message"] == message
    assert response.json()["success"] is False


async def test_authorize_page_lists_users_and_defaults_to_the_first_admin(world: World) -> None:
    params = {"client_id": CLIENT_ID, "redirect_uri": CALLBACK, "state": "<s>"}
    page = await world.http.get("/oauth/authorize", params=params)
    assert page.status_code == 200
    assert f'<option value="{world.admin.id}" selected>' in page.text
    assert "Mia Member" in page.text
    assert 'name="state" value="&lt;s&gt;"' in page.text
    assert "<code>base</code>" in page.text

    chosen = await world.http.get("/oauth/authorize", params={**params, "user_id": str(world.member.id)})
    assert f'<option value="{world.member.id}" selected>' in chosen.text


async def test_code_flow_issues_tokens_for_the_chosen_user(world: World) -> None:
    params = await authorize(world, user_id=world.member.id)
    assert params["state"] == "xyz-123"
    response = await exchange(world, params["code"])
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "refresh_token", "scope", "expires_in", "api_domain"}
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "contacts:full,deals:full,base"
    assert body["expires_in"] == world.state.token_ttl_seconds
    assert body["api_domain"] == world.state.api_domain(world.member.company_id)
    grant = world.state.grant_for_access_token(body["access_token"])
    assert grant is not None
    member = world.member
    assert (grant.company_id, grant.user_id, grant.client_id) == (member.company_id, member.id, CLIENT_ID)


async def test_code_is_single_use(world: World) -> None:
    code = (await authorize(world))["code"]
    assert (await exchange(world, code)).status_code == 200
    assert_oauth_error(await exchange(world, code), "Invalid grant: authorization_code is invalid")


async def test_code_expires_after_five_minutes_on_the_sandbox_clock(world: World) -> None:
    code = (await authorize(world))["code"]
    world.state.clock.advance(5 * 60)
    assert_oauth_error(await exchange(world, code), "Invalid grant: authorization_code has expired")


async def test_code_just_inside_five_minutes_still_works(world: World) -> None:
    code = (await authorize(world))["code"]
    world.state.clock.advance(5 * 60 - 1)
    assert (await exchange(world, code)).status_code == 200


async def test_wrong_redirect_uri_is_refused_at_authorize_and_token(world: World) -> None:
    page = await world.http.get(
        "/oauth/authorize", params={"client_id": CLIENT_ID, "redirect_uri": CALLBACK + "/", "state": "s"}
    )
    assert page.status_code == 400
    assert "Invalid request: redirect_uri is invalid" in page.text
    assert "location" not in page.headers

    code = (await authorize(world))["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": "http://evil.test/cb"}
    response = await world.http.post("/oauth/token", data=form, auth=BASIC)
    assert_oauth_error(response, "Invalid request: redirect_uri is invalid")
    form.pop("redirect_uri")
    response = await world.http.post("/oauth/token", data=form, auth=BASIC)
    assert_oauth_error(response, "Invalid request: redirect_uri is not a valid URI")


async def test_unknown_client_at_authorize(world: World) -> None:
    page = await world.http.get("/oauth/authorize", params={"client_id": "nope", "redirect_uri": CALLBACK})
    assert page.status_code == 400
    assert "Invalid client: client is invalid" in page.text


async def test_json_body_is_refused(world: World) -> None:
    code = (await authorize(world))["code"]
    body = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    response = await world.http.post("/oauth/token", json=body, auth=BASIC)
    assert_oauth_error(response, "Invalid request: content must be application/x-www-form-urlencoded")
    assert (await exchange(world, code)).status_code == 200


async def test_client_authentication(world: World) -> None:
    code = (await authorize(world))["code"]
    wrong = httpx.BasicAuth(CLIENT_ID, "wrong")
    assert_oauth_error(await exchange(world, code, auth=wrong), "Invalid client: client is invalid")
    garbled = {"Authorization": "Basic !!!not-base64"}
    response = await world.http.post(
        "/oauth/token", data={"grant_type": "authorization_code", "code": code}, headers=garbled
    )
    assert_oauth_error(response, "Invalid client: cannot retrieve client credentials")
    response = await world.http.post("/oauth/token", data={"grant_type": "authorization_code", "code": code})
    assert_oauth_error(response, "Invalid client: cannot retrieve client credentials")

    in_body = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    assert (await world.http.post("/oauth/token", data=in_body)).status_code == 200


async def test_grant_type_errors(world: World) -> None:
    response = await world.http.post("/oauth/token", data={"code": "x"}, auth=BASIC)
    assert_oauth_error(response, "Missing parameter: grant_type")
    response = await world.http.post("/oauth/token", data={"grant_type": "password"}, auth=BASIC)
    assert_oauth_error(response, "Unsupported grant type: grant_type is invalid")


async def test_refresh_answers_with_the_same_refresh_token_as_documented(world: World) -> None:
    first = (await exchange(world, (await authorize(world))["code"])).json()
    world.state.clock.advance(600)
    form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    second = (await world.http.post("/oauth/token", data=form, auth=BASIC)).json()
    assert second["refresh_token"] == first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    third = await world.http.post("/oauth/token", data=form, auth=BASIC)
    assert third.status_code == 200


async def test_with_rotation_on_the_old_refresh_token_then_fails(world: World) -> None:
    world.state.rotate_refresh_tokens = True
    first = (await exchange(world, (await authorize(world))["code"])).json()
    world.state.clock.advance(600)
    form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    refreshed = await world.http.post("/oauth/token", data=form, auth=BASIC)
    assert refreshed.status_code == 200
    second = refreshed.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["expires_in"] == world.state.token_ttl_seconds
    assert second["api_domain"] == first["api_domain"]

    again = await world.http.post("/oauth/token", data=form, auth=BASIC)
    assert_oauth_error(again, "Invalid grant: refresh_token is invalid")
    newer = {"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}
    assert (await world.http.post("/oauth/token", data=newer, auth=BASIC)).status_code == 200


async def test_refresh_token_of_another_client_is_invalid(world: World) -> None:
    tokens = (await exchange(world, (await authorize(world))["code"])).json()
    world.state.add_client("other", "other-secret", "http://other.test/cb", ["base"])
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    response = await world.http.post("/oauth/token", data=form, auth=httpx.BasicAuth("other", "other-secret"))
    assert_oauth_error(response, "Invalid grant: refresh_token is invalid")


async def test_revoke_access_token_keeps_the_install(world: World) -> None:
    tokens = (await exchange(world, (await authorize(world))["code"])).json()
    form = {"token": tokens["access_token"], "token_type_hint": "access_token"}
    assert (await world.http.post("/oauth/revoke", data=form, auth=BASIC)).status_code == 200
    grant = world.state.grant_for_access_token(tokens["access_token"])
    assert grant is not None
    assert grant.expires_at <= world.state.clock.now()
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    assert (await world.http.post("/oauth/token", data=refresh, auth=BASIC)).status_code == 200


async def test_revoke_refresh_token_uninstalls(world: World) -> None:
    tokens = (await exchange(world, (await authorize(world))["code"])).json()
    form = {"token": tokens["refresh_token"], "token_type_hint": "refresh_token"}
    assert (await world.http.post("/oauth/revoke", data=form, auth=BASIC)).status_code == 200
    grant = world.state.grant_for_access_token(tokens["access_token"])
    assert grant is not None
    assert grant.revoked
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    again = await world.http.post("/oauth/token", data=refresh, auth=BASIC)
    assert_oauth_error(again, "Invalid grant: refresh_token is invalid")
    unknown = await world.http.post("/oauth/revoke", data={"token": "nothing"}, auth=BASIC)
    assert unknown.status_code == 200
    refused = await world.http.post("/oauth/revoke", json={"token": "x"}, auth=BASIC)
    assert_oauth_error(refused, "Invalid request: content must be application/x-www-form-urlencoded")


async def test_deny_redirects_with_user_denied(world: World) -> None:
    params = await authorize(world, decision="deny")
    assert params == {"error": "user_denied", "state": "xyz-123"}


async def test_uninstall_sends_delete_with_basic_auth_and_revokes(world: World) -> None:
    received: list[tuple[str, str, dict[str, Any]]] = []

    async def callback(request: Request) -> PlainTextResponse:
        received.append((request.method, request.headers.get("authorization", ""), await request.json()))
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/oauth/callback", callback, methods=["GET", "DELETE"])])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as app_http:
        oauth_server_for(world.state).http = app_http
        tokens = (await exchange(world, (await authorize(world))["code"])).json()
        body = {"client_id": CLIENT_ID, "company_id": world.admin.company_id, "user_id": world.admin.id}
        response = await world.http.post("/_sandbox/oauth/uninstall", json=body)

    assert response.status_code == 200
    assert response.json()["status_code"] == 200
    expected_auth = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert received == [
        ("DELETE", expected_auth, {**body, "timestamp": world.state.rfc3339()}),
    ]
    grant = world.state.grant_for_access_token(tokens["access_token"])
    assert grant is not None
    assert grant.revoked
    listed = (await world.http.get("/_sandbox/oauth/uninstalls")).json()
    assert [(d["url"], d["status_code"]) for d in listed] == [(CALLBACK, 200)]


async def test_uninstall_records_an_unreachable_app(world: World) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as app_http:
        oauth_server_for(world.state).http = app_http
        body = {"client_id": CLIENT_ID, "company_id": world.admin.company_id, "user_id": world.admin.id}
        response = await world.http.post("/_sandbox/oauth/uninstall", json=body)
    assert response.json()["status_code"] is None
    assert response.json()["error"].startswith("ConnectError")
    unknown = await world.http.post("/_sandbox/oauth/uninstall", json={**body, "client_id": "nope"})
    assert unknown.status_code == 404
