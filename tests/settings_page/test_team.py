"""The settings page's team: every Pipedrive user of the company with where they stand in WaPipe and the
number they linked, an invite link to share, and owners named (not "User <id>") in the numbers list. A
member who has not installed is told what to do and starts nothing."""

from __future__ import annotations

import re

from tests.panel.world import ANNA_NUMBER, PanelWorld
from tests.settings_page.test_settings_page import add_member
from tests.world import WAPIPE


def team_rows(html: str) -> list[str]:
    """Each team row's text, tags and runs of white space taken out."""
    table = html.split('id="team-table"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr data-user-id=.*?</tr>", table, flags=re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]


async def test_the_team_lists_every_user_with_installation_and_number(world: PanelWorld) -> None:
    bernd = world.pd.add_user(world.anna.company_id, "Bernd Agent", "bernd@acme.test")
    gone = world.pd.add_user(world.anna.company_id, "Dora Gone", "dora@acme.test")
    gone.active = False
    nick = await add_member(world)
    page = await world.client.get("/settings", params={"token": world.token(nick)})
    assert page.status_code == 200, page.text
    assert team_rows(page.text) == [
        f"Anna Admin anna@acme.test Admin Installed +{ANNA_NUMBER} Connected",
        "Bernd Agent bernd@acme.test User Not installed yet —",
        "Nick Member nick@acme.test User Installed No number linked",
    ]
    assert f'data-user-id="{bernd.id}" data-state="not_installed"' in page.text
    assert "Grace" not in page.text and "Dora" not in page.text
    assert f'<input type="text" id="invite-link" readonly value="{WAPIPE}/install">' in page.text
    # Nick sees Anna's number under her name, not her user id.
    numbers = page.text.split('id="numbers-list"', 1)[1]
    assert '<td class="linked-by">Anna Admin</td>' in numbers and f"User {world.anna.id}" not in numbers
    listed = await world.client.get("/numbers/list", headers=world.headers(nick))
    assert '<td class="linked-by">Anna Admin</td>' in listed.text


async def test_a_member_who_has_not_installed_is_told_how_and_links_nothing(world: PanelWorld) -> None:
    bernd = world.pd.add_user(world.anna.company_id, "Bernd Agent", "bernd@acme.test")
    sessions = set(world.waha.sessions)
    page = await world.client.get("/settings", params={"token": world.token(bernd)})
    assert page.status_code == 403 and 'data-reason="install_required"' in page.text
    assert 'id="install-wapipe"' in page.text and 'id="link-number"' not in page.text
    started = await world.client.post("/numbers", headers=world.headers(bernd))
    assert started.status_code == 403 and 'data-reason="install_required"' in started.text
    assert set(world.waha.sessions) == sessions
    anna_page = await world.client.get("/settings", params={"token": world.token()})
    assert "Bernd Agent bernd@acme.test User Not installed yet —" in team_rows(anna_page.text)


async def test_the_users_list_is_read_once_in_five_minutes_per_company(world: PanelWorld) -> None:
    def reads() -> int:  # GET /api/v1/users answered by the sandbox, as it charges them
        return world.pd.limiter.usage_for(world.anna.company_id).per_operation.get("GET /v1/users", 0)

    before = reads()
    first = await world.client.get("/settings", params={"token": world.token()})
    assert first.status_code == 200 and reads() == before + 1
    bernd = world.pd.add_user(world.anna.company_id, "Bernd Agent", "bernd@acme.test")
    world.clock.advance(299)
    again = await world.client.get("/settings", params={"token": world.token()})
    assert reads() == before + 1  # the list read a moment ago: 20 tokens not spent again
    assert team_rows(again.text) == team_rows(first.text)
    world.clock.advance(1)
    later = await world.client.get("/settings", params={"token": world.token()})
    assert reads() == before + 2
    assert f'data-user-id="{bernd.id}"' in later.text
