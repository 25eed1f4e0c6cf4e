"""A running embedded session on its own: how it names a failure to connect and when it tries again, what
it keeps of each event, and what it does when asked to log out. The session's row and WaPipe's inbound
store are in-memory stand-ins here (``tests/web/test_embedded_numbers.py`` runs the real ones); waits are
recorded and released by the test, never slept."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest

from server.domain.whatsapp import SessionStatus
from server.whatsapp.embedded_client import SessionFailed, Unreachable, failure_of
from server.whatsapp.embedded_connection import EmbeddedConnection, SessionTimings
from tests.whatsapp.neonize_events import CUSTOMER, E, jid, message_event, source
from tests.whatsapp.whatsapp_web_standin import Sink, StandInWhatsApp, State

SESSION = "wapipe-c1-u7-abc123"
TIMINGS = SessionTimings(
    retry_base=timedelta(seconds=2), retry_max=timedelta(seconds=10), poll=timedelta(seconds=5)
)


class Waits:
    """The session's ``sleep``: each wait before a retry is recorded and lasts until the test lets it pass;
    the wait between the session's looks at its row never ends (these tests do not look)."""

    def __init__(self) -> None:
        self.asked: list[float] = []
        self._passes = asyncio.Queue[None]()

    async def __call__(self, seconds: float) -> None:
        if seconds == TIMINGS.poll.total_seconds():
            await asyncio.Event().wait()
        self.asked.append(seconds)
        await self._passes.get()

    def let_pass(self) -> None:
        self._passes.put_nowait(None)


async def turns(count: int = 20) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


def connection(
    tmp_path: Path, whatsapp: StandInWhatsApp, state: State, sink: Sink, waits: Waits
) -> EmbeddedConnection:
    return EmbeddedConnection(
        SESSION,
        3,
        client_for=whatsapp,
        state=state,
        sink=sink,
        store_dir=tmp_path,
        timings=TIMINGS,
        sleep=waits,
    )


async def test_whatsapp_out_of_reach_is_named_and_tried_again_twice_as_late_up_to_the_longest_wait(
    tmp_path: Path,
) -> None:
    whatsapp, state, sink, waits = (
        StandInWhatsApp(unreachable="dial tcp: lookup web.whatsapp.com: no such host"),
        State(),
        Sink(),
        Waits(),
    )
    running = connection(tmp_path, whatsapp, state, sink, waits)
    await running.start()
    for _ in range(4):
        await turns()
        waits.let_pass()
    await turns()
    client = whatsapp.client(SESSION)
    assert client.runs == 5
    unreachable = [detail for status, detail in sink.statuses if status is SessionStatus.UNREACHABLE]
    assert unreachable == ["cannot reach WhatsApp: dial tcp: lookup web.whatsapp.com: no such host"] * 5
    assert waits.asked == [2.0, 4.0, 8.0, 10.0, 10.0]
    await running.stop()
    assert not running.connected


@pytest.mark.parametrize(
    ("words", "named"),
    [
        (
            "failed to dial whatsapp web websocket: dial tcp: lookup web.whatsapp.com: no such host",
            Unreachable,
        ),
        ("socks connect tcp 127.0.0.1:1->web.whatsapp.com:443: connect: connection refused", Unreachable),
        ("i/o timeout", Unreachable),
        ("server responded with 401: logged out", SessionFailed),
        ("client outdated (405)", SessionFailed),
    ],
)
def test_whatsmeows_failures_are_told_apart_by_whether_the_network_is_the_problem(
    words: str, named: type[Exception]
) -> None:
    failure = failure_of(RuntimeError(words))
    assert type(failure) is named and str(failure) == words


async def test_every_event_is_kept_as_a_delivery_even_when_the_first_tries_to_store_it_fail(
    tmp_path: Path,
) -> None:
    whatsapp, state, sink, waits = StandInWhatsApp(), State(), Sink(failures_left=2), Waits()
    running = connection(tmp_path, whatsapp, state, sink, waits)
    await running.start()
    await turns()
    client = whatsapp.client(SESSION)
    stored = asyncio.create_task(
        client.emit(message_event(E.Message(conversation="Hallo"), src=source(jid(CUSTOMER), jid(CUSTOMER))))
    )
    for _ in range(2):
        await turns()
        waits.let_pass()
    await stored
    [(key, body)] = sink.kept
    assert key.startswith(f"embedded:{SESSION}:")
    assert json.loads(body)["event"] == "neonize.Message"
    assert waits.asked == [2.0, 4.0]
    await running.stop()


async def test_a_logout_asked_for_is_done_before_the_session_stops(tmp_path: Path) -> None:
    whatsapp, state, sink, waits = StandInWhatsApp(), State(), Sink(), Waits()
    running = connection(tmp_path, whatsapp, state, sink, waits)
    await running.start()
    await turns()
    state.codes_now.logout_requested = True
    await running.stop()
    client = whatsapp.client(SESSION)
    assert client.logged_out and client.stopped.is_set()
