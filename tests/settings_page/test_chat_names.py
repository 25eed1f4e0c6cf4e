"""Chats are named as Pipedrive knows them: a group by its subject (also when groups are not imported),
a contact by the Person the chat is linked to, on the settings page and in the "WhatsApp chat" activity
(not by the WhatsApp profile name, which is the contact's own choice)."""

from __future__ import annotations

import re

from sandbox.waha.models import Group
from tests.panel.world import PanelWorld

SESSION = "wp-acme-anna"
GROUP = "120363041234567890@g.us"


def exclusion_options(html: str) -> list[str]:
    select = html.split('id="exclude-chat"', 1)[1].split("</select>", 1)[0]
    return re.findall(r"<option [^>]*>([^<]*)</option>", select)


async def test_groups_go_by_their_subject_and_contacts_by_their_persons_name(world: PanelWorld) -> None:
    world.waha.session(SESSION).groups[GROUP] = Group(GROUP, "Team Nord", [])
    world.waha.receive(SESSION, "4917611111111", "Meeting Donnerstag?", group=GROUP, push_name="Jonas")
    # Maria Kunde's number; on WhatsApp she calls herself "Mia".
    world.waha.receive(SESSION, "4917655501234", "Hallo, hier Mia", push_name="Mia")
    await world.settle()

    page = await world.client.get("/settings", params={"token": world.token()})
    options = exclusion_options(page.text)
    assert {"Maria Kunde · +4917655501234", "Team Nord (group)"} <= set(options), options
    assert not any("Mia" in option or option.endswith("group") for option in options), options

    activities = world.pd.data[world.anna.company_id].activities.values()
    [activity] = [a for a in activities if "Hallo, hier Mia" in str(a.get("note") or "")]
    assert activity["subject"] == "WhatsApp chat with Maria Kunde"
    assert "<b>Mia</b>: Hallo, hier Mia" in str(activity["note"])  # her lines: as she calls herself

    excluded = await world.client.post(
        "/settings/exclusions",
        data={"chat_id": _chat_id(page.text, "Team Nord (group)"), "excluded": "1"},
        headers=world.headers(),
    )
    assert excluded.status_code == 200
    assert re.search(r'<li data-chat-id="\d+">Team Nord \(group\)', excluded.text)


def _chat_id(html: str, label: str) -> str:
    found = re.search(rf'<option value="(\d+)">{re.escape(label)}</option>', html)
    assert found is not None, label
    return found.group(1)
