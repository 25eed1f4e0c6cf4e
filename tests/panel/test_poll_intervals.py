"""How often open pages ask for news comes from the settings, and the set-up page's patience is a time."""

from __future__ import annotations

import pytest

from panels.install import SetupProgress, render_setup_progress
from panels.panel import messages_view, render_messages
from panels.templating import seconds
from server.settings import Mode, load_settings
from tests.panel.world import PanelWorld


def test_intervals_are_written_as_htmx_reads_them() -> None:
    assert seconds(3.0) == "3s"
    assert seconds(0.5) == "0.5s"


def test_the_panels_list_polls_at_the_given_interval() -> None:
    html = render_messages(messages_view((), person_id=7, deal_id=None, poll_seconds=0.5))
    assert 'hx-trigger="every 0.5s, panel-sent from:body"' in html


@pytest.mark.parametrize(("every", "polls_in_a_minute"), [(2.0, 30), (0.5, 120)])
def test_the_set_up_page_gives_up_after_a_minute_whatever_the_interval(
    every: float, polls_in_a_minute: int
) -> None:
    waiting = SetupProgress(False, "/installed/setup?ticket=t", polls_in_a_minute - 1, every)
    assert not waiting.gave_up
    assert f'hx-trigger="every {seconds(every)}"' in render_setup_progress(waiting)
    assert SetupProgress(False, "/installed/setup?ticket=t", polls_in_a_minute, every).gave_up
    assert not SetupProgress(True, "/installed/setup?ticket=t", polls_in_a_minute, every).gave_up


def test_the_intervals_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = load_settings(mode=Mode.TEST)
    assert (defaults.conversation_poll, defaults.progress_poll) == (3.0, 2.0)
    monkeypatch.setenv("WAPIPE_CONVERSATION_POLL", "1.5")
    monkeypatch.setenv("WAPIPE_PROGRESS_POLL", "0.5")
    settings = load_settings(mode=Mode.TEST)
    assert (settings.conversation_poll, settings.progress_poll) == (1.5, 0.5)


async def test_an_open_panel_asks_every_three_seconds_by_default(world: PanelWorld) -> None:
    params = {
        "resource": "person",
        "selectedIds": world.persons["maria"],
        "id": "frame-1",
        "token": world.token(),
    }
    page = await world.client.get("/panel", params=params)
    assert page.status_code == 200, page.text
    assert 'hx-trigger="every 3s, panel-sent from:body"' in page.text
