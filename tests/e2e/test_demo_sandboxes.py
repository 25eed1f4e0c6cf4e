"""The browser tests' demos share one Pipedrive sandbox and one WAHA sandbox per worker: a second WaPipe
finds them as a fresh demo has them, with nothing left of the first one (no sessions or their webhooks, no
persons beyond the seed, no fault switches, no OAuth codes, grants or tokens, both clocks on the wall
clock), and registered for its own address."""

from __future__ import annotations

import html
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from sandbox.pipedrive.seed import dump_company
from server.demo import DemoAddresses, build_pipedrive_sandbox
from server.settings import Settings
from tests.e2e.demo_world import DemoSandboxes, running_demo

CONTACT = "4917612345678"
OWNER = "4915111122233"


def authorize(http: httpx.Client, settings: Settings, addresses: DemoAddresses, user_id: int) -> str:
    """Anna allows WaPipe on the consent page: the code Pipedrive sends to WaPipe's callback."""
    form = {
        "client_id": settings.pipedrive_client_id,
        "redirect_uri": f"{addresses.wapipe}/oauth/callback",
        "decision": "allow",
        "user_id": str(user_id),
    }
    answer = http.post(f"{addresses.pipedrive}/oauth/authorize", data=form)
    assert answer.status_code == 302, answer.text
    return str(httpx.URL(answer.headers["location"]).params["code"])


def exchange(
    http: httpx.Client, settings: Settings, addresses: DemoAddresses, form: dict[str, str]
) -> httpx.Response:
    credentials = (settings.pipedrive_client_id, settings.pipedrive_client_secret.get_secret_value())
    return http.post(f"{addresses.pipedrive}/oauth/token", data=form, auth=credentials)


def pipedrive_state(http: httpx.Client, addresses: DemoAddresses) -> list[dict[str, Any]]:
    companies: list[dict[str, Any]] = http.get(f"{addresses.pipedrive}/_sandbox/state").json()["companies"]
    return companies


def without_times(value: Any) -> Any:
    """A dump without the moments things were written: a fresh demo and a reset one differ only there."""
    if isinstance(value, dict):
        return {k: without_times(v) for k, v in value.items() if not k.endswith("_time") and k != "day"}
    if isinstance(value, list):
        return [without_times(v) for v in value]
    return value


def seconds_from_now(moment: datetime) -> float:
    return abs((moment - datetime.now(UTC)).total_seconds())


def leave_everything_behind(
    http: httpx.Client, settings: Settings, addresses: DemoAddresses
) -> dict[str, str]:
    """What a browser module may leave in the sandboxes; the bearer values it held."""
    pipedrive, waha = addresses.pipedrive, addresses.waha
    users = pipedrive_state(http, addresses)[0]["users"]
    anna = next(u for u in users if u["is_admin"])
    bernd = next(u for u in users if not u["is_admin"])
    unredeemed = authorize(http, settings, addresses, anna["id"])
    code = authorize(http, settings, addresses, anna["id"])
    callback = f"{addresses.wapipe}/oauth/callback"
    tokens = exchange(
        http,
        settings,
        addresses,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": callback},
    )
    assert tokens.status_code == 200, tokens.text
    bearer = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
    assert http.get(f"{pipedrive}/api/v1/users/me", headers=bearer).status_code == 200
    uninstalled = http.post(
        f"{pipedrive}/_sandbox/oauth/uninstall",
        json={
            "client_id": settings.pipedrive_client_id,
            "company_id": bernd["company_id"],
            "user_id": bernd["id"],
        },
    )
    assert uninstalled.json()["url"] == callback
    calls: list[tuple[str, dict[str, Any]]] = [
        (f"{pipedrive}/_sandbox/companies/1/persons", {"name": "Left Behind", "phones": ["+49 30 1"]}),
        (f"{pipedrive}/_sandbox/settings", {"token_ttl_seconds": 5, "emit_nulls": True}),
        (f"{pipedrive}/_sandbox/clock", {"advance_seconds": 2 * 86_400}),
        (f"{pipedrive}/_sandbox/faults", {"force_429": 5, "cloudflare_403": 2}),
    ]

    key = {"X-Api-Key": settings.waha_api_key.get_secret_value()}
    hook = {"url": f"{addresses.wapipe}/webhooks/waha", "events": ["message"]}
    created = http.post(
        f"{waha}/api/sessions", json={"name": "wapipe-c1-a1", "config": {"webhooks": [hook]}}, headers=key
    )
    assert created.status_code == 201, created.text
    calls += [
        (f"{waha}/_sim/clock", {"advance": 3600}),
        (f"{waha}/_sim/wapipe-c1-a1/scan", {"phone": OWNER, "pushName": "Anna"}),
        (f"{waha}/_sim/wapipe-c1-a1/inbound", {"from": CONTACT, "text": "hallo"}),
        (f"{waha}/_sim/wapipe-c1-a1/faults", {"silent": True, "lid_twins": True}),
    ]
    for url, body in calls:
        http.post(url, json=body).raise_for_status()
    delivered = http.get(f"{waha}/_sim/deliveries", params={"event": "message"}).json()
    assert {d["url"] for d in delivered} == {hook["url"]}
    return {"unredeemed": unredeemed, **tokens.json()}


def assert_as_fresh(
    http: httpx.Client,
    settings: Settings,
    addresses: DemoAddresses,
    first: DemoAddresses,
    held: dict[str, str],
) -> None:
    """The second WaPipe's sandboxes: the seed, WaPipe at its own address, nothing of the first."""
    assert (addresses.pipedrive, addresses.waha) == (first.pipedrive, first.waha)
    assert addresses.wapipe != first.wapipe

    # Pipedrive holds the demo's seed and nothing else, as a newly built demo sandbox does.
    companies = pipedrive_state(http, addresses)
    fresh = build_pipedrive_sandbox(settings, addresses)
    assert without_times(companies) == without_times(
        [dump_company(fresh, c) for c in sorted(fresh.companies)]
    )
    assert [len(c["persons"]) for c in companies] == [6, 2]
    assert "Left Behind" not in str(companies)
    assert all(c["usage"]["requests"] == 0 for c in companies)
    faults = http.get(f"{addresses.pipedrive}/_sandbox/faults").json()
    assert {k: v for k, v in faults.items() if v and k != "status_5xx"} == {}
    sandbox_settings = http.get(f"{addresses.pipedrive}/_sandbox/settings").json()
    assert sandbox_settings["token_ttl_seconds"] == 3600 and sandbox_settings["emit_nulls"] is False
    now = http.get(f"{addresses.pipedrive}/_sandbox/clock").json()["now"]
    assert seconds_from_now(datetime.fromisoformat(now.replace("Z", "+00:00"))) < 60

    # No code, grant or token of the first WaPipe works; none of its uninstall notices is listed.
    callback = f"{addresses.wapipe}/oauth/callback"
    code = {"grant_type": "authorization_code", "code": held["unredeemed"], "redirect_uri": callback}
    assert (
        exchange(http, settings, addresses, code).json()["message"]
        == "Invalid grant: authorization_code is invalid"
    )
    refresh = {"grant_type": "refresh_token", "refresh_token": held["refresh_token"]}
    assert (
        exchange(http, settings, addresses, refresh).json()["message"]
        == "Invalid grant: refresh_token is invalid"
    )
    bearer = {"Authorization": f"Bearer {held['access_token']}"}
    assert http.get(f"{addresses.pipedrive}/api/v1/users/me", headers=bearer).status_code == 401
    assert http.get(f"{addresses.pipedrive}/_sandbox/oauth/uninstalls").json() == []

    # WaPipe is the app at its new address: consent sends to it, the host pages frame it.
    query = {"client_id": settings.pipedrive_client_id}
    consent = http.get(f"{addresses.pipedrive}/oauth/authorize", params={**query, "redirect_uri": callback})
    assert consent.status_code == 200
    old = {**query, "redirect_uri": f"{first.wapipe}/oauth/callback"}
    refused = http.get(f"{addresses.pipedrive}/oauth/authorize", params=old)
    assert refused.status_code == 400 and "redirect_uri is invalid" in refused.text
    host = http.get(f"{addresses.pipedrive}/host/settings").text
    framed = re.search(r'<iframe id="pd-extension"[^>]*\sdata-src="([^"]*)"', host)
    assert framed and html.unescape(framed.group(1)).startswith(f"{addresses.wapipe}/settings?")
    person = http.get(f"{addresses.pipedrive}/host/person/1").text
    framed = re.search(r'<iframe id="pd-extension"[^>]*\sdata-src="([^"]*)"', person)
    assert framed and html.unescape(framed.group(1)).startswith(f"{addresses.wapipe}/panel?")

    # WAHA has no session (so no webhook to the first WaPipe), no events or deliveries, and its
    # clock is the wall clock again.
    key = {"X-Api-Key": settings.waha_api_key.get_secret_value()}
    sessions = http.get(f"{addresses.waha}/api/sessions", params={"all": "true"}, headers=key)
    assert sessions.json() == []
    assert http.get(f"{addresses.waha}/_sim/events").json() == []
    assert http.get(f"{addresses.waha}/_sim/deliveries").json() == []
    waha_now = http.get(f"{addresses.waha}/_sim/clock").json()
    assert abs(waha_now["now"] - time.time() * 1000) < 60_000 and waha_now["scheduled"] == []
    faults = http.get(f"{addresses.waha}/_sim/wapipe-c1-a1/faults")
    assert faults.status_code == 404


def test_a_second_wapipe_finds_the_sandboxes_as_a_fresh_demo_has_them(
    tmp_path: Path, demo_sandboxes: DemoSandboxes
) -> None:
    with httpx.Client(timeout=10) as http:
        with running_demo(tmp_path / "first", demo_sandboxes) as (first_settings, first):
            held = leave_everything_behind(http, first_settings, first)
        with running_demo(tmp_path / "second", demo_sandboxes) as (settings, addresses):
            assert_as_fresh(http, settings, addresses, first, held)
