"""Every campaign route is verified with Pipedrive's signed token like every page Pipedrive frames: no
token, a forged one or an expired one is refused by name before anything is read; a campaign of another
company is not found (404) on every route; a user without WaPipe installed sees nothing; only admins change
the stop words."""

from __future__ import annotations

import jwt
import pytest

from tests.campaigns_web.steps import form, get, open_campaign, post, reasons
from tests.panel.world import PanelWorld

ROUTES = [
    ("GET", "/campaigns"),
    ("GET", "/campaigns/modal?resource=person&selectedIds=1,2"),
    ("POST", "/campaigns/modal/source"),
    ("POST", "/campaigns/stop-words"),
    ("GET", "/campaigns/template?template_id=1"),
    ("GET", "/campaigns/1"),
    ("GET", "/campaigns/1/progress"),
    ("POST", "/campaigns/1/preview"),
    ("POST", "/campaigns/1/start"),
    ("POST", "/campaigns/1/pause"),
    ("POST", "/campaigns/1/resume"),
    ("POST", "/campaigns/1/cancel"),
    ("GET", "/campaigns/1/results.csv"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_every_route_refuses_a_request_without_a_valid_token(
    world: PanelWorld, method: str, path: str
) -> None:
    missing = await world.client.request(method, path)
    assert missing.status_code == 401 and reasons(missing.text) == ["token_missing"]
    forged_token = jwt.encode(
        {"userId": world.anna.id, "companyId": world.anna.company_id, "exp": 9_999_999_999},
        "not-pipedrives-secret-but-long-enough-to-sign",
        algorithm="HS256",
    )
    forged = await world.client.request(method, path, headers={"X-Pipedrive-Token": forged_token})
    assert forged.status_code == 401 and reasons(forged.text) == ["token_invalid"]
    expired = await world.client.request(method, path, headers={"X-Pipedrive-Token": world.token(ttl=-60)})
    assert expired.status_code == 401 and reasons(expired.text) == ["token_expired"]


async def test_the_pages_may_be_framed_by_pipedrive_only(world: PanelWorld) -> None:
    page = await world.client.get("/campaigns", params={"token": world.token()})
    assert page.status_code == 200, page.text
    assert "x-frame-options" not in page.headers
    assert "frame-ancestors https://*.pipedrive.com" in page.headers["content-security-policy"]


async def test_another_companys_campaign_is_not_found_on_every_route(world: PanelWorld) -> None:
    campaign = await open_campaign(world, [world.persons["maria"]])
    compose = await form(world, "Hallo", user=world.grace)
    for method, path in ROUTES[5:]:
        path = path.replace("/1", f"/{campaign}")
        if method == "GET":
            answer = await get(world, path, user=world.grace)
        else:
            answer = await post(world, path, compose, user=world.grace)
        assert answer.status_code == 404, (path, answer.text)
        assert "unknown_campaign" in reasons(answer.text), path
    listed = await get(world, "/campaigns", user=world.grace)
    assert f'data-campaign-id="{campaign}"' not in listed.text
    own = await get(world, "/campaigns")
    assert f'data-campaign-id="{campaign}"' in own.text


async def test_a_user_without_wapipe_installed_sees_nothing(world: PanelWorld) -> None:
    stranger = world.pd.add_user(world.anna.company_id, "Nora Neu", "nora@acme.test", is_admin=False)
    campaign = await open_campaign(world, [world.persons["maria"]])
    for path in ("/campaigns", f"/campaigns/{campaign}", "/campaigns/modal?selectedIds=1"):
        answer = await get(world, path, user=stranger)
        assert answer.status_code == 403 and reasons(answer.text) == ["install_required"], path
        assert "Maria" not in answer.text


async def test_only_admins_change_the_stop_words(world: PanelWorld) -> None:
    member = world.pd.add_user(world.anna.company_id, "Nick Member", "nick@acme.test", is_admin=False)
    await world.install(member)
    page = await get(world, "/campaigns", user=member)
    assert page.status_code == 200
    assert 'id="stop-words" name="words" rows="5" disabled' in page.text
    refused = await post(world, "/campaigns/stop-words", {"words": "HALT"}, user=member)
    assert refused.status_code == 403 and reasons(refused.text) == ["admin_only"]
    kept = await get(world, "/campaigns")
    assert "HALT" not in kept.text and "UNSUBSCRIBE" in kept.text
