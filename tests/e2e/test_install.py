"""Installing WaPipe through the Pipedrive sandbox's consent page in Chromium: Allow, Deny, uninstall from
the sandbox, reinstall. WaPipe and the sandbox serve on two loopback ports and talk over real HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from sandbox.pipedrive.app import create_app as create_sandbox
from sandbox.pipedrive.seed import ALL_SCOPES
from sandbox.pipedrive.state import Clock, SandboxState, SandboxUser
from server.storage.engine import make_sync_engine
from server.storage.migrate import upgrade
from server.storage.tables import Installation, table_of
from server.web.app import create_app
from tests.conftest import settings_in
from tests.e2e.demo_world import QUICK_WAITS
from tests.e2e.live_server import free_port, serve

CLIENT_ID = "wapipe-e2e"
CLIENT_SECRET = "wapipe-e2e-client-secret"


@dataclass
class Servers:
    state: SandboxState
    wapipe: str
    sandbox: str
    database_url: str
    admin: SandboxUser

    def installations(self) -> list[dict[str, Any]]:
        engine = make_sync_engine(self.database_url)
        table = table_of(Installation)
        try:
            with engine.connect() as connection:
                return [dict(r) for r in connection.execute(select(table).order_by(table.c.id)).mappings()]
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    tmp = tmp_path_factory.mktemp("install-e2e")
    wapipe_port, sandbox_port = free_port(), free_port()
    wapipe_url, sandbox_url = f"http://127.0.0.1:{wapipe_port}", f"http://127.0.0.1:{sandbox_port}"
    settings = settings_in(
        tmp,
        public_url=wapipe_url,
        pipedrive_oauth_url=sandbox_url,
        pipedrive_api_url=sandbox_url,
        pipedrive_client_id=CLIENT_ID,
        pipedrive_client_secret=CLIENT_SECRET,
        **QUICK_WAITS,
    )
    upgrade(settings.effective_database_url)
    state = SandboxState(clock=Clock(follow_wall_clock=True), base_url=sandbox_url)
    company = state.add_company("Acme Sales GmbH", domain="acme")
    admin = state.add_user(company.id, "Anna Admin", "anna@acme.test", is_admin=True)
    state.add_user(company.id, "Bernd Agent", "bernd@acme.test")
    state.add_client(CLIENT_ID, CLIENT_SECRET, f"{wapipe_url}/oauth/callback", list(ALL_SCOPES))
    with serve(create_sandbox(state), port=sandbox_port), serve(create_app(settings), port=wapipe_port):
        yield Servers(state, wapipe_url, sandbox_url, settings.effective_database_url, admin)


def allow_install(page: Page, servers: Servers) -> None:
    page.goto(f"{servers.wapipe}/install")
    expect(page).to_have_url(re.compile(re.escape(f"{servers.sandbox}/oauth/authorize?")))
    expect(page.locator("#user_id")).to_have_value(str(servers.admin.id))
    page.click("#allow")
    expect(page.locator("[data-reason=installed] h2")).to_have_text("WaPipe is installed for Acme Sales GmbH")
    expect(page.locator("#install-setup")).to_have_attribute("data-setup", "complete", timeout=15000)


def test_allow_installs_and_sets_the_company_up(page: Page, servers: Servers, artifacts: Path) -> None:
    allow_install(page, servers)
    assert page.url.startswith(f"{servers.wapipe}/installed?ticket=")
    settings_link = page.locator("#open-settings")
    assert (settings_link.get_attribute("href") or "").startswith(f"{servers.sandbox}/host/settings?")
    page.screenshot(path=str(artifacts / "install-allow.png"), full_page=True)

    [row] = servers.installations()
    assert (row["pipedrive_user_id"], row["status"]) == (servers.admin.id, "active")
    grant = servers.state.grants[-1]
    assert grant.access_token not in row["access_token_encrypted"]
    data = servers.state.company_data(servers.admin.company_id)
    assert [t["name"] for t in data.activity_types.values()].count("WhatsApp chat") == 1


def test_deny_shows_a_friendly_page(page: Page, servers: Servers) -> None:
    page.goto(f"{servers.wapipe}/install")
    page.click("#deny")
    notice = page.locator("[data-reason=user_denied]")
    expect(notice).to_contain_text("WaPipe was not installed")
    expect(page.locator("#install-again")).to_have_attribute("href", "/install")


def test_uninstall_from_the_sandbox_removes_tokens_and_reinstall_restores(
    page: Page, servers: Servers
) -> None:
    allow_install(page, servers)
    answer = httpx.post(
        f"{servers.sandbox}/_sandbox/oauth/uninstall",
        json={"client_id": CLIENT_ID, "company_id": servers.admin.company_id, "user_id": servers.admin.id},
        timeout=10,
    )
    assert answer.status_code == 200
    assert answer.json()["status_code"] == 200  # WaPipe acknowledged the DELETE
    [row] = servers.installations()
    assert (row["status"], row["access_token_encrypted"], row["refresh_token_encrypted"]) == (
        "uninstalled",
        "",
        "",
    )

    allow_install(page, servers)
    [row] = servers.installations()
    assert row["status"] == "active" and row["access_token_encrypted"].startswith("gAAAAA")
    data = servers.state.company_data(servers.admin.company_id)
    assert [t["name"] for t in data.activity_types.values()].count("WhatsApp chat") == 1
