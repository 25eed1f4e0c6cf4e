"""The team on the app settings page, in the Pipedrive sandbox's settings surface: Anna (admin, number
linked) sees every user of her company, Bernd who has not installed among them, and the invite link;
Bernd opening the page is told to install and has nothing to link with; once he has installed, his row
says so and Anna's number is named as hers."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import FrameLocator, Page, expect

from server.demo import DemoAddresses
from server.settings import Settings
from tests.e2e.panel_helpers import ANNA_NUMBER, choose_user

BERND = 2  # "Bernd Agent", a user (not an admin) of the demo's first company


def settings_as(page: Page, addresses: DemoAddresses, user_id: int | None = None) -> FrameLocator:
    who = f"?user_id={user_id}" if user_id else ""
    page.goto(f"{addresses.pipedrive}/host/settings{who}")
    page.wait_for_function("() => window.__pdHost && window.__pdHost.initialized === true")
    return page.frame_locator("iframe")


def row_texts(frame: FrameLocator) -> list[str]:
    rows = frame.locator("#team-table tbody tr")
    return [" ".join(text.split()) for text in rows.all_inner_texts()]


def test_the_team_shows_who_installed_and_linked_and_a_member_without_wapipe_is_told_how(
    page: Page, demo: tuple[Settings, DemoAddresses], session: str, artifacts: Path
) -> None:
    _, addresses = demo  # Anna installed WaPipe and linked her number (session)
    digits = "".join(ch for ch in ANNA_NUMBER if ch.isdigit())

    frame = settings_as(page, addresses)
    expect(frame.locator("#team-table tbody tr")).to_have_count(2)
    assert row_texts(frame) == [
        f"Anna Admin anna@acme-sales.test Admin Installed +{digits} Connected",
        "Bernd Agent bernd@acme-sales.test User Not installed yet —",
    ]
    invite = frame.locator("#invite-link")
    expect(invite).to_have_value(addresses.wapipe + "/install")
    invite_url = invite.input_value()
    page.screenshot(path=str(artifacts / "settings-team.png"), full_page=True)

    # Bernd has not installed: what to do, an install link, nothing of the team and no linking.
    bernd = settings_as(page, addresses, BERND)
    expect(bernd.locator("#install-needed")).to_contain_text("not for you")
    expect(bernd.locator("#install-wapipe")).to_be_visible()
    expect(bernd.locator("#link-number")).to_have_count(0)
    expect(bernd.locator("#team-table")).to_have_count(0)

    # He opens the invite link and installs as himself; now the page is his too.
    page.goto(invite_url)
    choose_user(page, "Bernd Agent")
    page.click("#allow")
    expect(page.get_by_role("heading", level=2)).to_have_text("WaPipe is installed for Acme Sales GmbH")
    bernd = settings_as(page, addresses, BERND)
    expect(bernd.locator("#link-number")).to_be_visible()
    expect(bernd.locator("#team-table tbody tr", has_text="Bernd Agent")).to_contain_text("Installed")
    expect(bernd.locator("#team-table tbody tr", has_text="Bernd Agent")).to_contain_text("No number linked")
    expect(bernd.locator("#numbers-list td.linked-by")).to_have_text(["Anna Admin"])
