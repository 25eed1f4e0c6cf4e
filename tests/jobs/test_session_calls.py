"""A job in one worker uses a number's embedded session that runs in another, through the real Redis: the
worker that runs it answers sends, number checks and downloads through its own session; a session that is
not connected refuses by name; a call nobody answers fails as transient and leaves nothing in Redis.

The two workers are two sets of objects on two Redis connections in one test; the session is the stand-in
client (``tests/whatsapp/whatsapp_web_standin.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from server.domain.clock import ControlledClock
from server.domain.errors import GatewayUnavailable, NumberNotOnWhatsApp, SessionDisconnected
from server.domain.whatsapp import MediaKind, MediaRef, OutboundMedia, OutboundMessage
from server.jobs.session_calls_redis import CALLS, REPLIES, RedisSessionCalls
from server.whatsapp.embedded import EmbeddedTransport, LiveSessions
from server.whatsapp.embedded_connection import EmbeddedConnection, SessionTimings
from server.whatsapp.embedded_media import EmbeddedMedia
from server.whatsapp.embedded_remote import answer_call
from tests.whatsapp.neonize_events import CUSTOMER, OWN
from tests.whatsapp.whatsapp_web_standin import Sink, StandInClient, StandInWhatsApp, State

SESSION = "wapipe-c1-u7-calls"
TIMINGS = SessionTimings(
    timedelta(hours=1), timedelta(hours=1), timedelta(hours=1)
)  # nothing is retried here
VOICE = b"OggS" + bytes(range(200)) * 50


@dataclass
class Workers:
    owner: StandInClient  # the session, in the worker that runs it
    caller: EmbeddedTransport  # the transport of another worker, where a job runs
    serving: asyncio.Event  # set: the owner stops answering
    redis: Redis


@pytest.fixture
async def workers(redis_url: str, tmp_path: Path) -> AsyncIterator[Workers]:
    whatsapp = StandInWhatsApp(on_whatsapp={CUSTOMER}, files={"/v/t62.7117-24/voice": VOICE})
    live = LiveSessions()
    connection = EmbeddedConnection(
        SESSION,
        1,
        client_for=whatsapp,
        state=State(),
        sink=Sink(),
        store_dir=tmp_path,
        timings=TIMINGS,
        sleep=asyncio.sleep,
    )
    await connection.start()
    owner = whatsapp.client(SESSION)
    await asyncio.wait_for(owner.running.wait(), timeout=5)
    await owner.pair(OWN)
    live.add(connection)
    owner_redis, caller_redis = Redis.from_url(redis_url), Redis.from_url(redis_url)
    stopping = asyncio.Event()

    async def answer(session: str, method: str, args: dict[str, Any]) -> dict[str, Any]:
        return await answer_call(live, session, method, args)

    serving = asyncio.create_task(
        RedisSessionCalls(owner_redis, idle=0.05).serve(live.names, answer, stopping)
    )
    caller = EmbeddedTransport(
        None,  # type: ignore[arg-type]  # the linking rows are not used by these calls
        LiveSessions(),
        ControlledClock(),
        relay=RedisSessionCalls(caller_redis, timeout=5),
    )
    try:
        yield Workers(owner, caller, stopping, caller_redis)
    finally:
        stopping.set()
        await serving
        await connection.stop()
        await owner_redis.aclose()
        await caller_redis.aclose()


async def test_a_send_check_and_download_in_one_worker_go_through_the_session_in_another(
    workers: Workers,
) -> None:
    message = OutboundMessage(
        client_ref="41",
        to=f"+{CUSTOMER}",
        text="Anbei die Sprachnachricht",
        media=OutboundMedia(kind=MediaKind.VOICE, mime="audio/ogg", filename="memo.ogg", data=VOICE),
    )
    sent = await workers.caller.send(SESSION, message)
    [(to, relayed)] = workers.owner.sent
    assert to == f"{CUSTOMER}@s.whatsapp.net"
    assert relayed == message  # every field, the file's bytes too, as the job built it
    assert (sent.wa_message_id, sent.client_ref, sent.chat_key) == (
        "3EB0STANDIN0001",
        "41",
        f"{CUSTOMER}@s.whatsapp.net",
    )

    peer = await workers.caller.check_number(SESSION, f"+{CUSTOMER}")
    assert peer.e164 == f"+{CUSTOMER}"
    with pytest.raises(NumberNotOnWhatsApp):
        await workers.caller.check_number(SESSION, "+4930000000")

    locator = EmbeddedMedia("audio", "/v/t62.7117-24/voice", b"k" * 32).locator
    ref = MediaRef(kind=MediaKind.VOICE, locator=locator, mime="audio/ogg", size=len(VOICE))
    fetched = b"".join([chunk async for chunk in workers.caller.fetch_media(SESSION, ref)])
    assert fetched == VOICE


async def test_a_session_that_is_not_connected_refuses_by_name_and_nothing_is_sent(workers: Workers) -> None:
    await workers.owner.emit_disconnected()
    with pytest.raises(SessionDisconnected):
        await workers.caller.send(SESSION, OutboundMessage(client_ref="42", to=f"+{CUSTOMER}", text="Hallo?"))
    assert workers.owner.sent == []


async def test_a_call_nobody_answers_is_transient_and_leaves_nothing_in_redis(workers: Workers) -> None:
    workers.serving.set()  # the worker that ran the session is gone
    await asyncio.sleep(0.2)  # its last look at the lists ends (they are looked at every 0.05 s)
    quick = EmbeddedTransport(
        None,  # type: ignore[arg-type]
        LiveSessions(),
        ControlledClock(),
        relay=RedisSessionCalls(workers.redis, timeout=1),
    )
    with pytest.raises(GatewayUnavailable) as refused:
        await quick.send(SESSION, OutboundMessage(client_ref="43", to=f"+{CUSTOMER}", text="Noch da?"))
    assert refused.value.reason == "session_not_answering"
    assert refused.value.maybe_sent  # the call may have been taken just before its worker died
    assert await workers.redis.keys(REPLIES + "*") == []
    for left in await workers.redis.keys(CALLS + "*"):  # the call nobody took: gone by the caller's timeout
        assert 0 < await workers.redis.ttl(left) <= 1


async def test_a_send_whose_answer_was_lost_is_found_by_its_retry_and_not_sent_again(
    workers: Workers,
) -> None:
    message = OutboundMessage(client_ref="44", to=f"+{CUSTOMER}", text="Ihr Angebot kommt heute")
    sent = await workers.caller.send(SESSION, message)
    since = sent.accepted_at - timedelta(minutes=1)
    # The retry of a job that never got this answer asks before it sends: the session's worker recorded it.
    found = await workers.caller.find_sent(SESSION, message, since=since)
    assert found is not None
    assert (found.wa_message_id, found.client_ref, found.chat_key) == (
        sent.wa_message_id,
        "44",
        f"{CUSTOMER}@s.whatsapp.net",
    )
    other = OutboundMessage(client_ref="45", to=f"+{CUSTOMER}", text="Noch eine")
    assert await workers.caller.find_sent(SESSION, other, since=since) is None  # never sent
    assert len(workers.owner.sent) == 1
    left = await workers.redis.ttl(f"wapipe:session-sent:{SESSION}:44")
    assert 86_000 < left <= 86_400  # remembered for a day, then gone


async def test_a_call_taken_after_its_caller_gave_up_is_dropped_not_made(workers: Workers) -> None:
    workers.serving.set()  # the session's usual worker stops answering ...
    await asyncio.sleep(0.2)
    late_stop = asyncio.Event()
    clock = [0.0]

    async def answer(session: str, method: str, args: dict[str, Any]) -> dict[str, Any]:
        raise AssertionError(f"a call its caller gave up on was made: {method}")

    caller = RedisSessionCalls(workers.redis, timeout=1, now=lambda: clock[0])
    late = RedisSessionCalls(workers.redis, idle=0.05, now=lambda: clock[0] + 5)  # ... one comes too late
    quick = EmbeddedTransport(None, LiveSessions(), ControlledClock(), relay=caller)  # type: ignore[arg-type]
    sending = asyncio.create_task(
        quick.send(SESSION, OutboundMessage(client_ref="46", to=f"+{CUSTOMER}", text="Zu spät?"))
    )
    serving = asyncio.create_task(late.serve(lambda: [SESSION], answer, late_stop))
    with pytest.raises(GatewayUnavailable) as refused:
        await sending
    late_stop.set()
    await serving
    assert refused.value.reason == "session_not_answering"
    assert await workers.redis.llen(CALLS + SESSION) == 0  # taken, and dropped
    assert await workers.redis.get(f"wapipe:session-sent:{SESSION}:46") is None
