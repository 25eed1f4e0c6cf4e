"""Host pages without a browser: the iframe URL, the JWT, escaping, configuration and errors."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from sandbox.pipedrive.app import create_app
from sandbox.pipedrive.host import configure_host_app
from sandbox.pipedrive.seed import seed_deal, seed_person
from sandbox.pipedrive.state import SandboxState, SandboxUser

JWT_SECRET = "a-jwt-secret-that-is-32-bytes-long!"
PANEL = "https://app.test/panel?v=2"


@dataclass
class World:
    state: SandboxState
    http: httpx.AsyncClient
    admin: SandboxUser
    member: SandboxUser


@pytest.fixture
async def world() -> AsyncIterator[World]:
    state = SandboxState()
    company = state.add_company("Acme <GmbH>")
    member = state.add_user(company.id, "Mia <script>alert(1)</script>", "mia@acme.test")
    admin = state.add_user(company.id, "Ada Admin", "ada@acme.test", is_admin=True)
    state.add_client("wapipe", "client-secret", "https://app.test/oauth/callback", ["base"], JWT_SECRET)
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as http:
        yield World(state, http, admin, member)


def iframe_src(page: str) -> str:
    match = re.search(r'<iframe id="pd-extension"[^>]*\sdata-src="([^"]*)"', page)
    assert match, page
    return html.unescape(match.group(1))


def params_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


async def test_person_page_embeds_the_panel_with_pipedrive_params(world: World) -> None:
    person = seed_person(world.state, world.admin.company_id, "Grace <b>Hopper</b>", phones=["+49 30 1"])
    response = await world.http.get(
        f"/host/person/{person['id']}", params={"panel_url": PANEL, "theme": "dark"}
    )
    assert response.status_code == 200
    src = iframe_src(response.text)
    assert src.startswith(PANEL + "&")
    params = params_of(src)
    assert set(params) == {
        "v",
        "id",
        "userId",
        "companyId",
        "token",
        "resource",
        "view",
        "selectedIds",
        "theme",
    }
    assert params["userId"] == str(world.admin.id)
    assert params["companyId"] == str(world.admin.company_id)
    assert (params["resource"], params["view"], params["selectedIds"]) == (
        "person",
        "details",
        str(person["id"]),
    )
    assert params["theme"] == "dark"
    assert re.fullmatch(r"[0-9a-f-]{36}", params["id"])
    assert f'data-identifier="{params["id"]}"' in response.text

    claims = jwt.decode(params["token"], JWT_SECRET, algorithms=["HS256"], options={"verify_exp": False})
    now = int(world.state.clock.now().timestamp())
    assert claims == {
        "userId": world.admin.id,
        "companyId": world.admin.company_id,
        "iat": now,
        "exp": now + 300,
    }
    assert "Grace &lt;b&gt;Hopper&lt;/b&gt;" in response.text
    assert "+49 30 1" in response.text
    assert 'data-max-height="750"' in response.text
    assert 'data-min-height="100"' in response.text
    assert '<script src="/host/static/host.js"></script>' in response.text


async def test_user_controlled_values_are_escaped(world: World) -> None:
    hostile = 'https://app.test/p?x="><script>alert(1)</script>'
    params = {"panel_url": hostile, "user_id": str(world.member.id), "client_id": "wapipe"}
    response = await world.http.get("/host/deal/5", params=params)
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.text
    assert "Mia &lt;script&gt;" in response.text
    assert "Acme &lt;GmbH&gt;" in response.text
    assert iframe_src(response.text).startswith(hostile + "&")
    assert params_of(iframe_src(response.text))["userId"] == str(world.member.id)


async def test_deal_page_shows_the_deal_and_its_person(world: World) -> None:
    person = seed_person(world.state, world.admin.company_id, "Linus")
    deal = seed_deal(world.state, world.admin.company_id, "Big deal", person_id=person["id"])
    response = await world.http.get(f"/host/deal/{deal['id']}", params={"panel_url": PANEL})
    assert "Big deal" in response.text
    assert "Linus" in response.text
    params = params_of(iframe_src(response.text))
    assert (params["resource"], params["selectedIds"]) == ("deal", str(deal["id"]))


async def test_configured_urls_and_the_settings_page(world: World) -> None:
    configure_host_app(world.state, "wapipe", panel_url="https://app.test/panel")
    page = await world.http.get("/host/person/1")
    assert iframe_src(page.text).startswith("https://app.test/panel?id=")

    answer = await world.http.post(
        "/_sandbox/host/apps", json={"client_id": "wapipe", "settings_url": "https://app.test/settings"}
    )
    assert answer.json() == {
        "panel_url": "https://app.test/panel",
        "settings_url": "https://app.test/settings",
    }
    settings = await world.http.get("/host/settings")
    params = params_of(iframe_src(settings.text))
    assert iframe_src(settings.text).startswith("https://app.test/settings?")
    assert params["view"] == "settings"
    assert "resource" not in params
    assert "selectedIds" not in params

    bad = await world.http.post(
        "/_sandbox/host/apps", json={"client_id": "wapipe", "panel_url": "javascript:x"}
    )
    assert bad.status_code == 400
    unknown = await world.http.post("/_sandbox/host/apps", json={"client_id": "nope"})
    assert unknown.status_code == 404


async def test_token_endpoint_signs_a_fresh_token_on_the_sandbox_clock(world: World) -> None:
    first = (await world.http.get("/host/token", params={"client_id": "wapipe"})).json()["token"]
    world.state.clock.advance(120)
    response = await world.http.get("/host/token", params={"user_id": str(world.member.id)})
    assert response.headers["cache-control"] == "no-store"
    second = response.json()["token"]
    old = jwt.decode(first, JWT_SECRET, algorithms=["HS256"], options={"verify_exp": False})
    new = jwt.decode(second, JWT_SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert new["iat"] - old["iat"] == 120
    assert new["userId"] == world.member.id
    assert old["userId"] == world.admin.id


async def test_client_secret_signs_when_no_jwt_secret_is_set(world: World) -> None:
    world.state.add_client("plain", "plain-client-secret-32-bytes-long!!", "https://p.test/cb", ["base"])
    token = (await world.http.get("/host/token", params={"client_id": "plain"})).json()["token"]
    claims = jwt.decode(
        token, "plain-client-secret-32-bytes-long!!", algorithms=["HS256"], options={"verify_exp": False}
    )
    assert claims["companyId"] == world.admin.company_id


async def test_errors_are_pages_not_crashes(world: World) -> None:
    missing = await world.http.get("/host/person/1")
    assert missing.status_code == 400
    assert "panel_url" in missing.text
    scheme = await world.http.get("/host/person/1", params={"panel_url": "javascript:alert(1)"})
    assert scheme.status_code == 400
    no_client = await world.http.get("/host/person/1", params={"panel_url": PANEL, "client_id": "nope"})
    assert no_client.status_code == 404
    no_user = await world.http.get("/host/person/1", params={"panel_url": PANEL, "user_id": "999"})
    assert no_user.status_code == 404
    assert (await world.http.get("/host/token", params={"user_id": "x"})).status_code == 404


async def test_host_script_is_served_by_the_sandbox(world: World) -> None:
    response = await world.http.get("/host/static/host.js")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert "__pdHost" in response.text
    assert (await world.http.get("/host/static/host.css")).status_code == 200
