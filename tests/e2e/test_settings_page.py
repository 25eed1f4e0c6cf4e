"""The app settings page in the Pipedrive sandbox's settings host, in Chromium: install, change settings
(the pipeline choice appears for "create a deal"), see them saved and audited; and the chat view's
sign-in through the sandbox's OAuth page in a top-level window."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from server.demo import DemoAddresses
from server.settings import Settings
from tests.e2e.demo_world import running_demo


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[Settings, DemoAddresses]]:
    with running_demo(tmp_path) as running:
        yield running


def install(page: Page, addresses: DemoAddresses) -> None:
    page.goto(addresses.wapipe + "/install")
    expect(page).to_have_url(re.compile(re.escape(addresses.pipedrive + "/oauth/authorize?")))
    page.click("#allow")
    expect(page.locator("#install-setup")).to_have_attribute("data-setup", "complete", timeout=15_000)


def test_settings_are_changed_saved_and_audited_in_the_host(
    page: Page, demo: tuple[Settings, DemoAddresses], artifacts: Path
) -> None:
    _, addresses = demo
    install(page, addresses)
    page.goto(addresses.pipedrive + "/host/settings")
    frame = page.frame_locator("iframe")
    expect(frame.locator("h1")).to_have_text("WaPipe settings")
    page.wait_for_function("() => window.__pdHost && window.__pdHost.initialized === true")
    expect(frame.locator("#pipeline_id")).to_have_count(0)

    frame.locator("#import_frequency").select_option("6h")
    frame.locator("#new_chat_action").select_option("deal")
    pipeline = frame.locator("#pipeline_id")
    expect(pipeline).to_be_visible()
    values = [v for v in pipeline.locator("option").evaluate_all("os => os.map(o => o.value)") if v]
    pipeline.select_option(values[0])
    frame.locator("#settings-save").click()
    expect(frame.locator("#settings-saved")).to_be_visible()
    expect(frame.locator("#import_frequency")).to_have_value("6h")
    expect(frame.locator("#audit-log tr[data-action='settings.update']")).to_have_count(1)
    expect(frame.locator("#audit-log")).to_contain_text('"after": "6h"')

    frame.locator("#auto_add_persons").uncheck()
    frame.locator("#import_groups").check()
    frame.locator("#settings-save").click()
    expect(frame.locator("[data-reason='groups_need_auto_add']")).to_be_visible()
    expect(frame.locator("#import_groups")).to_be_checked()
    page.screenshot(path=str(artifacts / "settings-page.png"), full_page=True)


def test_the_chat_view_signs_in_through_pipedrive_and_refuses_what_is_not_yours(
    page: Page, demo: tuple[Settings, DemoAddresses], artifacts: Path
) -> None:
    _, addresses = demo
    install(page, addresses)
    page.goto(addresses.wapipe + "/chats/424242")
    expect(page).to_have_url(re.compile(re.escape(addresses.pipedrive + "/oauth/authorize?")))
    page.click("#allow")
    expect(page).to_have_url(addresses.wapipe + "/chats/424242")
    expect(page.locator("[data-reason='forbidden']")).to_contain_text("not in your Pipedrive company")
    page.screenshot(path=str(artifacts / "chat-view.png"), full_page=True)
