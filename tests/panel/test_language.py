"""The panel answers in the language its user reads Pipedrive in (from ``/users/me`` at their install); when
WaPipe does not speak that language, or before anyone is known, in the browser's; else in English."""

from __future__ import annotations

import re

from sandbox.pipedrive.state import SandboxUser
from tests.panel.world import PanelWorld

LANG = re.compile(r'<html lang="(\w+)"')


async def page_language(world: PanelWorld, user: SandboxUser, browser: str | None = None) -> str:
    params = {"resource": "person", "selectedIds": world.persons["maria"], "token": world.token(user)}
    headers = {"Accept-Language": browser} if browser else {}
    page = await world.client.get("/panel", params=params, headers=headers)
    assert page.status_code == 200
    found = LANG.search(page.text)
    assert found is not None
    return found.group(1)


async def test_the_users_pipedrive_language_wins_over_the_browsers(world: PanelWorld) -> None:
    yuki = world.pd.add_user(world.anna.company_id, "Yuki Tanaka", "yuki@acme.test", locale="ja_JP")
    await world.install(yuki)
    assert await page_language(world, yuki) == "ja"
    assert await page_language(world, yuki, "en-US,en;q=0.9") == "ja"
    assert await page_language(world, world.anna) == "en"  # Anna reads Pipedrive in English
    assert await page_language(world, world.anna, "ja,en;q=0.5") == "en"


async def test_a_language_we_do_not_speak_falls_back_to_the_browsers(world: PanelWorld) -> None:
    jonas = world.pd.add_user(world.anna.company_id, "Jonas Weber", "jonas@acme.test", locale="de_DE")
    await world.install(jonas)
    assert await page_language(world, jonas, "de-DE,de;q=0.9,ja;q=0.8") == "ja"
    assert await page_language(world, jonas, "de-DE") == "en"
    assert await page_language(world, jonas) == "en"


async def test_one_users_language_does_not_leak_into_the_next_request(world: PanelWorld) -> None:
    yuki = world.pd.add_user(world.anna.company_id, "Yuki Tanaka", "yuki@acme.test", locale="ja_JP")
    await world.install(yuki)
    assert [await page_language(world, u) for u in (yuki, world.anna, yuki, world.anna)] == [
        "ja",
        "en",
        "ja",
        "en",
    ]


async def test_pages_before_an_installation_follow_the_browser(world: PanelWorld) -> None:
    for browser, code in (("ja-JP,ja;q=0.9", "ja"), ("fr-FR", "en"), (None, "en")):
        headers = {"Accept-Language": browser} if browser else {}
        page = await world.client.get("/", headers=headers)  # the status page
        found = LANG.search(page.text)
        assert found is not None and found.group(1) == code, (browser, page.status_code)
