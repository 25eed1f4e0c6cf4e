"""The sandbox's Pipedrive host page driving the real vendored App Extensions SDK in Chromium.

The sandbox serves the host page on one port; a tiny app on another port (another origin) serves a page
that loads the SDK from its own origin, like our panels will.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from playwright.sync_api import Frame, Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse
from starlette.routing import Route

from sandbox.pipedrive.app import create_app
from sandbox.pipedrive.seed import seed_person
from sandbox.pipedrive.state import Clock, SandboxState, SandboxUser
from tests.e2e.live_server import serve

SDK = Path(__file__).resolve().parents[2] / "static" / "vendor" / "app-extensions-sdk.umd.js"
JWT_SECRET = "panel-jwt-secret-of-at-least-32-bytes"

PANEL_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test panel</title>
<style>body{font:14px system-ui;margin:12px} body[data-theme=dark]{background:#222;color:#eee}</style>
</head><body>
<h1 id="status">loading</h1>
<p>Test panel on another origin.</p>
<script src="/sdk.js"></script>
<script>
  window.themes = [];
  (async () => {
    const sdk = await new AppExtensionsSDK().initialize({ size: { height: 300 } });
    window.sdk = sdk;
    sdk.listen("user_settings_change", ({ data }) => {
      window.themes.push(data.theme);
      document.body.dataset.theme = data.theme;
    });
    document.getElementById("status").textContent = "initialized";
  })();
</script>
</body></html>
"""

SILENT_PAGE = "<!doctype html><html><body><p>This page never initializes the SDK.</p></body></html>"


def app_pages() -> Starlette:
    async def panel(request: Request) -> HTMLResponse:
        return HTMLResponse(PANEL_PAGE)

    async def silent(request: Request) -> HTMLResponse:
        return HTMLResponse(SILENT_PAGE)

    async def sdk(request: Request) -> FileResponse:
        return FileResponse(SDK, media_type="text/javascript")

    return Starlette(routes=[Route("/panel", panel), Route("/silent", silent), Route("/sdk.js", sdk)])


@dataclass
class Servers:
    state: SandboxState
    sandbox_url: str
    app_url: str
    admin: SandboxUser
    person_id: int


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    state = SandboxState(clock=Clock(follow_wall_clock=True))
    company = state.add_company("Acme GmbH")
    admin = state.add_user(company.id, "Ada Admin", "ada@acme.test", is_admin=True)
    state.add_client("wapipe", "client-secret", "http://127.0.0.1:1/oauth/callback", ["base"], JWT_SECRET)
    person = seed_person(
        state, company.id, "Grace <Hopper>", phones=["+49 30 1234567"], emails=["g@acme.test"]
    )
    with serve(create_app(state)) as sandbox_url, serve(app_pages()) as app_url:
        yield Servers(state, sandbox_url, app_url, admin, int(person["id"]))


def host(page: Page) -> Any:
    return page.evaluate("() => window.__pdHost")


def frame_height(page: Page) -> float:
    box = page.locator("#pd-extension").bounding_box()
    assert box is not None
    return box["height"]


def panel_frame(page: Page, app_url: str) -> Frame:
    frame = page.frame(url=lambda url: url.startswith(app_url + "/panel"))
    assert frame is not None
    return frame


def test_sdk_commands_and_events_round_trip(page: Page, servers: Servers, artifacts: Path) -> None:
    token_requests: list[str] = []
    page.on("request", lambda r: token_requests.append(r.url) if "/host/token" in r.url else None)
    panel_url = servers.app_url + "/panel"
    page.goto(f"{servers.sandbox_url}/host/person/{servers.person_id}?panel_url={panel_url}")

    expect(page.locator("#pd-title")).to_have_text("Grace <Hopper>")
    frame = panel_frame(page, servers.app_url)
    expect(frame.locator("#status")).to_have_text("initialized")
    iframe = page.locator("#pd-extension")
    src = iframe.get_attribute("src") or ""
    assert src.startswith(panel_url + "?")
    state = host(page)
    assert state["initialized"] is True
    assert [c["command"] for c in state["calls"] if c["type"] == "command"] == ["initialize"]
    assert state["calls"][0]["args"] == {"size": {"height": 300}}
    assert state["height"] == 300
    page.wait_for_function("() => window.__pdHost.listeners.user_settings_change?.length === 1")

    frame.evaluate("() => sdk.execute('resize', { height: 2000 })")
    assert host(page)["height"] == 750
    assert frame_height(page) == 750
    frame.evaluate("() => sdk.execute('resize', { height: 10 })")
    assert host(page)["height"] == 100
    assert frame_height(page) == 100
    frame.evaluate("() => sdk.execute('resize', { height: 420 })")
    assert host(page)["height"] == 420

    frame.evaluate("() => sdk.execute('show_snackbar', { message: 'Sent <b>hello</b> to Grace' })")
    snackbar = page.locator(".pd-snackbar")
    expect(snackbar).to_be_visible()
    expect(snackbar).to_have_text("Sent <b>hello</b> to Grace")
    expect(page.locator(".pd-snackbar b")).to_have_count(0)
    assert host(page)["snackbars"][0]["message"] == "Sent <b>hello</b> to Grace"
    page.screenshot(path=str(artifacts / "sandbox-host-person.png"), full_page=True)

    reply = frame.evaluate("() => sdk.execute('get_signed_token')")
    assert token_requests, "get_signed_token must fetch a fresh token from the host"
    claims = jwt.decode(reply["token"], JWT_SECRET, algorithms=["HS256"])
    assert claims["userId"] == servers.admin.id
    assert claims["companyId"] == servers.admin.company_id
    assert claims["exp"] - claims["iat"] == 300
    url_claims = jwt.decode(src.split("token=")[1].split("&")[0], JWT_SECRET, algorithms=["HS256"])
    assert (url_claims["userId"], url_claims["companyId"]) == (claims["userId"], claims["companyId"])

    frame.evaluate(
        "() => { window.confirmation = sdk.execute('show_confirmation', { title: 'Unlink chat?' }); }"
    )
    expect(page.locator("#pd-confirm-title")).to_have_text("Unlink chat?")
    page.click("#pd-confirm-ok")
    assert frame.evaluate("() => window.confirmation") == {"confirmed": True}

    frame.evaluate(
        "() => { window.modal = sdk.execute('open_modal', { type: 'person', prefill: { name: 'X' } }); }"
    )
    expect(page.locator("#pd-modal-title")).to_have_text("New person")
    page.click("#pd-modal-submit")
    assert frame.evaluate("() => window.modal") == {"status": "submitted", "id": 1001}
    frame.evaluate("() => sdk.execute('redirect_to', { view: 'leads', id: 7 })")
    expect(page.locator("#pd-redirect")).to_have_text("The app asked to open /leads/7")

    metadata = frame.evaluate("() => sdk.execute('get_metadata')")
    assert metadata == {"windowHeight": 800, "windowWidth": 1100}

    page.select_option("#pd-theme", "dark")
    frame.wait_for_function("() => window.themes.length === 1")
    assert frame.evaluate("() => window.themes") == ["dark"]
    assert page.evaluate("() => window.__pdHost.emit('visibility', { is_visible: false })") == 0

    unknown = frame.evaluate(
        """() => new Promise((resolve) => {
            const channel = new MessageChannel();
            channel.port1.onmessage = (event) => resolve(event.data);
            const id = new URLSearchParams(location.search).get("id");
            window.parent.postMessage({ id, payload: { type: "command", command: "make_coffee" } }, "*",
                                      [channel.port2]);
        })"""
    )
    assert unknown == {"error": "Invalid command"}

    frame.evaluate(
        "() => { window.dispatchEvent(new Event('blur')); window.dispatchEvent(new Event('focus')); }"
    )
    page.wait_for_function("() => window.__pdHost.tracks.length > 0")
    assert host(page)["tracks"][0]["event"] == "focused"

    calls_before = len(host(page)["calls"])
    ignored_before = host(page)["ignored"]
    identifier = iframe.get_attribute("data-identifier")
    forged = {"id": identifier, "payload": {"type": "command", "command": "resize", "args": {"height": 600}}}
    page.evaluate("(message) => window.postMessage(message, '*')", forged)
    page.wait_for_function("(before) => window.__pdHost.ignored > before", arg=ignored_before)
    assert len(host(page)["calls"]) == calls_before
    assert host(page)["height"] == 420


def test_an_app_that_never_initializes_is_hidden_after_ten_seconds(page: Page, servers: Servers) -> None:
    panel_url = servers.app_url + "/silent"
    # The page's timers run on a clock the test holds still and moves: ten seconds cost none.
    page.clock.install()
    page.goto(f"{servers.sandbox_url}/host/person/{servers.person_id}?panel_url={panel_url}")
    page_now = datetime.fromtimestamp(page.evaluate("() => Date.now()") / 1000, UTC)
    page.clock.pause_at(page_now + timedelta(milliseconds=100))  # under a second after the page started
    iframe = page.locator("#pd-extension")
    expect(iframe).to_be_visible()
    page.clock.run_for(8_900)  # nine seconds in, at most
    expect(iframe).to_be_visible()
    expect(page.locator("#pd-init-timeout")).to_be_hidden()
    page.clock.run_for(1_200)  # ten seconds in, at least
    expect(iframe).to_be_hidden()
    expect(page.locator("#pd-init-timeout")).to_be_visible()
    state = host(page)
    assert state["hidden"] is True
    assert state["initialized"] is False
    assert [c["command"] for c in state["calls"]] == ["init_timeout"]
