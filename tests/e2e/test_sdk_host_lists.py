"""The sandbox's list views opening an app's custom modal with the real vendored App Extensions SDK.

The sandbox serves the list page on one port; a tiny app on another port serves the modal page, which
loads the SDK from its own origin, as WaPipe's modal does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from playwright.sync_api import Frame, Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse
from starlette.routing import Route

from sandbox.pipedrive.app import create_app
from sandbox.pipedrive.host import configure_host_app
from sandbox.pipedrive.seed import condition, seed_filter, seed_person
from sandbox.pipedrive.state import Clock, SandboxState, SandboxUser
from tests.e2e.live_server import serve

SDK = Path(__file__).resolve().parents[2] / "static" / "vendor" / "app-extensions-sdk.umd.js"
JWT_SECRET = "modal-jwt-secret-of-at-least-32-bytes"

MODAL_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test modal</title></head><body>
<h1 id="status">loading</h1>
<script src="/sdk.js"></script>
<script>
  window.closed = 0;
  (async () => {
    const sdk = await new AppExtensionsSDK().initialize({ size: { height: 5000, width: 500 } });
    window.sdk = sdk;
    sdk.listen("close_custom_modal", () => { window.closed += 1; });
    document.getElementById("status").textContent = "initialized";
  })();
</script>
</body></html>
"""


@dataclass
class Servers:
    sandbox_url: str
    app_url: str
    admin: SandboxUser
    persons: list[int]
    germany: int


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    state = SandboxState(clock=Clock(follow_wall_clock=True))
    company = state.add_company("Acme GmbH")
    admin = state.add_user(company.id, "Ada Admin", "ada@acme.test", is_admin=True)
    state.add_client("wapipe", "client-secret", "http://127.0.0.1:1/oauth/callback", ["base"], JWT_SECRET)
    persons = [
        int(seed_person(state, company.id, name, phones=[phone])["id"])
        for name, phone in (
            ("Maria Muster", "+49 89 1"),
            ("John Bull", "+44 20 1"),
            ("Hans Huber", "+49 30 2"),
        )
    ]
    germany = seed_filter(
        state,
        company.id,
        "Customers in Germany",
        "people",
        [condition(state, company.id, "person", "phone", "LIKE '$%'", "+49")],
    )

    async def modal(request: Request) -> HTMLResponse:
        return HTMLResponse(MODAL_PAGE)

    async def sdk(request: Request) -> FileResponse:
        return FileResponse(SDK, media_type="text/javascript")

    app = Starlette(routes=[Route("/campaigns/modal", modal), Route("/sdk.js", sdk)])
    with serve(create_app(state)) as sandbox_url, serve(app) as app_url:
        configure_host_app(state, "wapipe", modal_url=app_url + "/campaigns/modal")
        yield Servers(sandbox_url, app_url, admin, persons, int(germany["id"]))


def host(page: Page) -> Any:
    return page.evaluate("() => window.__pdHost")


def modal_frame(page: Page, app_url: str) -> Frame:
    page.wait_for_function("() => window.__pdHost.modal.initialized")
    frame = page.frame(url=lambda url: url.startswith(app_url + "/campaigns/modal"))
    assert frame is not None
    return frame


def open_action(page: Page) -> None:
    page.click("#pd-actions-toggle")
    page.click("#pd-action-campaign")


def test_a_selection_opens_the_custom_modal_with_pipedrive_params(page: Page, servers: Servers) -> None:
    page.goto(f"{servers.sandbox_url}/host/persons")
    page.click("#pd-actions-toggle")
    expect(page.locator("#pd-action-campaign")).to_be_disabled()  # nothing selected, no filter
    page.click("#pd-actions-toggle")
    maria, _, hans = servers.persons
    page.check(f'tr[data-id="{hans}"] .pd-row-select')
    page.check(f'tr[data-id="{maria}"] .pd-row-select')
    expect(page.locator("#pd-selected-count")).to_have_text("2 selected")
    open_action(page)

    frame = modal_frame(page, servers.app_url)
    expect(frame.locator("#status")).to_have_text("initialized")
    params = {k: v[0] for k, v in parse_qs(urlsplit(frame.url).query, keep_blank_values=True).items()}
    assert params["resource"] == "person" and params["view"] == "list"
    assert params["selectedIds"] == f"{maria},{hans}"  # in the list's order
    assert params["theme"] == "light" and "filter" not in params
    claims = jwt.decode(params["token"], JWT_SECRET, algorithms=["HS256"])
    assert (claims["userId"], claims["companyId"]) == (servers.admin.id, servers.admin.company_id)
    assert (params["userId"], params["companyId"]) == (str(servers.admin.id), str(servers.admin.company_id))
    # initialize asked for 5000 x 500: the height stops at the window (800 less the modal's header)
    state = host(page)["modal"]
    assert (state["width"], state["height"]) == (500, 800 - 44)
    frame.evaluate("() => sdk.execute('resize', { height: 50, width: 100 })")
    assert (host(page)["modal"]["width"], host(page)["modal"]["height"]) == (320, 120)
    box = page.locator("#pd-custom-modal").bounding_box()
    assert box is not None and round(box["width"]) == 320

    page.wait_for_function("() => (window.__pdHost.listeners.close_custom_modal || []).length === 1")
    page.click("#pd-custom-modal-close")
    expect(page.locator("#pd-custom-modal")).to_be_hidden()
    emitted = [c for c in host(page)["calls"] if c["type"] == "emit"]
    assert [(c["event"], c["delivered"]) for c in emitted] == [("close_custom_modal", 1)]
    assert host(page)["modal"]["closedBy"] == "user"


def test_a_filter_without_a_selection_passes_the_filter_and_the_app_closes_the_modal(
    page: Page, servers: Servers
) -> None:
    page.goto(f"{servers.sandbox_url}/host/persons")
    page.select_option("#pd-filter", str(servers.germany))
    page.wait_for_url(f"**/host/persons?filter_id={servers.germany}")
    expect(page.locator("tbody tr")).to_have_count(2)
    open_action(page)

    frame = modal_frame(page, servers.app_url)
    params = {k: v[0] for k, v in parse_qs(urlsplit(frame.url).query, keep_blank_values=True).items()}
    assert params["selectedIds"] == ""
    assert json.loads(params["filter"]) == {"filter_id": servers.germany}
    frame.evaluate("() => sdk.execute('show_snackbar', { message: 'Campaign created' })")
    expect(page.locator(".pd-snackbar")).to_have_text("Campaign created")
    frame.evaluate("() => sdk.execute('close_modal')")
    expect(page.locator("#pd-custom-modal")).to_be_hidden()
    state = host(page)
    assert state["modal"]["closedBy"] == "app"
    assert not [c for c in state["calls"] if c["type"] == "emit"]  # the app closed it: no event
    assert [c["command"] for c in state["calls"] if c["type"] == "command"] == [
        "initialize",
        "show_snackbar",
        "close_modal",
    ]
