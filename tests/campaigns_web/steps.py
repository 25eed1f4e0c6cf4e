"""What the campaign web tests do through the pages: open the modal's campaign from a selection, fill
the compose form, start, read what a page shows."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import httpx

from sandbox.pipedrive.state import SandboxUser
from server.storage.accounts import SqlAccountStore
from server.storage.companies import SqlCompanyStore
from tests.panel.world import PanelWorld

# No waiting between messages, no cap, no quiet hours: the tests run the campaign at once.
QUICK = {"min_gap": "0", "max_gap": "0", "daily_cap": "0", "quiet_start": "00:00", "quiet_end": "00:00"}


async def account_id(world: PanelWorld, user: SandboxUser | None = None) -> int:
    user = user or world.anna
    company = await SqlCompanyStore(world.resources.engine).get(user.company_id)
    assert company is not None
    accounts = await SqlAccountStore(world.resources.engine).for_company(company.id)
    return next(a.id for a in accounts if a.owner_user_id == user.id)


async def open_campaign(
    world: PanelWorld, person_ids: list[int], user: SandboxUser | None = None, resource: str = "person"
) -> int:
    """The modal's first step for the selected records; the new campaign's id."""
    answer = await world.client.post(
        "/campaigns/modal/source",
        data={"resource": resource, "selectedIds": ",".join(map(str, person_ids))},
        headers=world.headers(user),
    )
    assert answer.status_code == 200, answer.text
    found = re.search(r'data-campaign-id="(\d+)"', answer.text)
    assert found is not None, answer.text
    return int(found.group(1))


async def form(
    world: PanelWorld, text: str, user: SandboxUser | None = None, **changes: Any
) -> dict[str, Any]:
    """The compose form as a person fills it: ``text`` from the user's own number, sent at once."""
    fields: dict[str, Any] = {
        "text": text,
        "from_mode": "fixed",
        "account_ids": [str(await account_id(world, user))],
        **QUICK,
    }
    fields.update(changes)
    return {key: value for key, value in fields.items() if value is not None}


async def post(
    world: PanelWorld, path: str, data: dict[str, Any] | None = None, user: SandboxUser | None = None
) -> httpx.Response:
    return await world.client.post(
        path, data=data or {}, headers={**world.headers(user), "HX-Request": "true"}
    )


async def get(world: PanelWorld, path: str, user: SandboxUser | None = None) -> httpx.Response:
    return await world.client.get(path, headers={**world.headers(user), "HX-Request": "true"})


def reasons(html: str) -> list[str]:
    return re.findall(r'data-reason="([a-z_]+)"', html)


def text_of(html: str) -> str:
    """What a person reads: the tags gone, the spaces folded."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())
