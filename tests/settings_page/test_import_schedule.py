"""The import frequency on the settings page: a batch mode says when the next import runs, and switching
back to real time writes the waiting chats at once instead of leaving them for the next message."""

from __future__ import annotations

import re
from datetime import timedelta

from server.storage.tables import Chat
from tests.panel.world import PanelWorld
from tests.settings_page.test_settings_page import save

SESSION = "wp-acme-anna"
MARIA = "4917655501234"  # Maria Kunde's number


def notes(world: PanelWorld) -> list[str]:
    return [str(a.get("note") or "") for a in world.pd.data[world.anna.company_id].activities.values()]


async def test_a_batch_mode_names_the_next_import_and_real_time_writes_the_backlog_at_once(
    world: PanelWorld,
) -> None:
    saved = await save(world, import_frequency="1h")
    assert saved.status_code == 200, saved.text
    assert "Next import: nothing is waiting" in saved.text

    before = world.clock.now()
    world.waha.receive(SESSION, MARIA, "Wann kommt die Lieferung?", push_name="Maria")
    await world.settle()
    assert not any("Wann kommt die Lieferung" in note for note in notes(world))  # waiting for the hour

    page = await world.client.get("/settings", params={"token": world.token()})
    after = world.clock.now()
    # The message waits an hour; the minutely flush picks it up within the minute after. The clock runs
    # on while the message arrives: any minute between the two readings is right.
    expected = {(at + timedelta(hours=1, minutes=1)).strftime("%Y-%m-%d %H:%M") for at in (before, after)}
    shown = re.search(r"Next import: by ([0-9-]+ [0-9:]+) UTC, 1 chat waiting\.", page.text)
    assert shown is not None and shown.group(1) in expected, page.text

    back = await save(world, import_frequency="realtime")
    assert back.status_code == 200, back.text
    assert "1 waiting chat is being written to Pipedrive now." in back.text
    assert 'id="next-import"' not in back.text  # real time has no schedule to show
    await world.settle()  # the queued sync: no new message, no cron run needed
    assert any("Wann kommt die Lieferung" in note for note in notes(world))


async def test_a_shorter_period_writes_what_it_makes_due(world: PanelWorld) -> None:
    assert (await save(world, import_frequency="24h")).status_code == 200
    world.waha.receive(SESSION, MARIA, "Guten Morgen", push_name="Maria")
    await world.settle()
    world.clock.advance(timedelta(hours=2).total_seconds())
    shorter = await save(world, import_frequency="1h")  # two hours old: due under the hourly period
    assert "1 waiting chat is being written to Pipedrive now." in shorter.text
    await world.settle()
    assert any("Guten Morgen" in note for note in notes(world))


async def test_a_chat_whose_sync_is_already_queued_counts_as_being_written(world: PanelWorld) -> None:
    """The minutely flush may queue a due chat a moment before the admin saves: saving queues nothing more
    (one sync per chat), and the page still says the chat is being written."""
    assert (await save(world, import_frequency="24h")).status_code == 200
    world.waha.receive(SESSION, MARIA, "Guten Abend", push_name="Maria")
    await world.settle()
    world.clock.advance(timedelta(hours=2).total_seconds())
    [chat] = [row["id"] for row in await world.rows(Chat) if row["e164"] == "+" + MARIA]
    queued_first = await world.resources.queue.enqueue(
        "sync_chat", chat, job_id=f"sync:{chat}", defer_by=timedelta(minutes=1)
    )
    assert queued_first
    shorter = await save(world, import_frequency="1h")
    assert "1 waiting chat is being written to Pipedrive now." in shorter.text
    await world.settle()
    assert sum("Guten Abend" in note for note in notes(world)) == 1
