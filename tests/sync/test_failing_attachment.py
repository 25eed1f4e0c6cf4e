"""One attachment that keeps failing to download does not stall its chat, on SQLite and PostgreSQL.

End to end through the WAHA sandbox (one file answers 503 while the others are served), our webhook route
and job queue, into the Pipedrive sandbox, on the controlled clock: the chat's other messages and
attachments reach Pipedrive at once, the failing attachment is retried on its own schedule (the settings'
base, doubling) and is attached when it works, or is marked unavailable with a sync problem for admins.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from sandbox.waha.models import Message as SimMessage
from server.settings import Settings
from server.storage.tables import Chat, Message, MessageMediaRow
from server.storage.tables_sync import SyncProblemRow
from tests.panel.world import PanelWorld, panel_world
from tests.world import WAPIPE, world_settings_overrides

SESSION = "wp-acme-anna"
MARIA = "4917655501234"  # Maria Kunde's mobile in Pipedrive: "+49 176 55501234"
RETRY_BASE = 10.0  # seconds before the first retry; each later one waits twice as long
ATTEMPTS = 4  # downloads of one attachment, the first included, before it is given up
RETRIES_AT = [0.0, 10.0, 30.0, 70.0]  # 0, then +10, +20, +40: written out, not computed by WaPipe
PENDING = "not downloaded yet"
UPLOAD, CREATE, UPDATE = "POST /v1/files", "POST /v2/activities", "PATCH /v2/activities/{id}"


@pytest.fixture
async def world(
    migrated_database_url: str, make_settings: Callable[..., Settings]
) -> AsyncIterator[PanelWorld]:
    settings = make_settings(
        database_url=migrated_database_url,
        media_retry_base=RETRY_BASE,
        media_attempts=ATTEMPTS,
        **world_settings_overrides(),
    )
    async with panel_world(settings) as world:
        yield world


@dataclass
class Sent:
    m1: SimMessage  # text
    m2: SimMessage  # a document with a caption: its download fails
    m3: SimMessage  # a picture: served
    m4: SimMessage  # text


def send_four(world: PanelWorld, failures: list[int]) -> Sent:
    """Maria writes m1..m4; m2's file answers ``failures`` to its first downloads."""
    assert world.waha is not None
    sent = Sent(
        m1=world.waha.receive(SESSION, MARIA, "Guten Morgen!"),
        m2=world.waha.receive(SESSION, MARIA, "Angebot anbei", kind="document", filename="angebot.pdf"),
        m3=world.waha.receive(SESSION, MARIA, "", kind="image"),
        m4=world.waha.receive(SESSION, MARIA, "Bis morgen"),
    )
    assert sent.m2.media is not None and sent.m3.media is not None
    world.waha.faults(SESSION).media_failures[sent.m2.media.name] = list(failures)
    return sent


def on_schedule(times: list[float], expected: list[float]) -> bool:
    """Each download at its planned time, give or take the real time the work took: the controlled clock
    follows the wall clock between skips, a retry is planned from when its job started (not from the
    failed download, a little later), and times are counted from the first download. On a busy machine
    that is up to seconds either way, far less than the 10 s, 20 s and 40 s between tries, so another
    schedule (a constant delay, no retry) still fails."""
    return len(times) == len(expected) and all(
        e - 5 < t < e + 5 for t, e in zip(times, expected, strict=True)
    )


def downloads(world: PanelWorld, message: SimMessage) -> list[tuple[float, int]]:
    """(seconds after the first request, HTTP status) of every request for the message's file."""
    assert world.waha is not None and message.media is not None
    found = [d for d in world.waha.media.downloads if d.name == message.media.name]
    return [((d.at_ms - found[0].at_ms) / 1000, d.status) for d in found]


async def our_ids(world: PanelWorld) -> tuple[int, dict[str, int]]:
    """Maria's chat id, and our message ids by what they say (m3 has no text: "image")."""
    [chat] = [c for c in await world.rows(Chat) if c["e164"] == f"+{MARIA}"]
    messages = [m for m in await world.rows(Message) if m["chat_id"] == chat["id"]]
    return chat["id"], {(m["text"] or m["media_kind"]): m["id"] for m in messages}


def company(world: PanelWorld) -> Any:
    assert world.pd is not None
    return world.pd.data[world.anna.company_id]


def maria_notes(world: PanelWorld) -> list[str]:
    person = world.persons["maria"]
    return [
        a["note"]
        for a in company(world).activities.values()
        if not a["is_deleted"] and any(p["person_id"] == person for p in a["participants"])
    ]


def _target(world: PanelWorld, record: dict[str, Any]) -> str:
    if record.get("person_id") == world.persons["maria"]:
        return "person"
    assert record.get("deal_id") == world.deal_id, record
    return "deal"


def files_named(world: PanelWorld, name: str) -> list[tuple[str, bytes]]:
    """("person" or "deal", content) of every Pipedrive file with this name."""
    found = company(world).files.values()
    return sorted((_target(world, f.record), f.content) for f in found if f.record["name"] == name)


def targets_holding(world: PanelWorld, content: bytes) -> list[str]:
    """Where Pipedrive files with exactly this content are ("person", "deal")."""
    return sorted(_target(world, f.record) for f in company(world).files.values() if f.content == content)


def operations(world: PanelWorld) -> dict[str, int]:
    assert world.pd is not None
    return dict(world.pd.limiter.usage_for(world.anna.company_id).per_operation)


def line_of(note: str, words: str) -> str:
    [line] = [part for part in note.split("<p") if words in part]
    return line


async def media_row(world: PanelWorld, message_id: int) -> dict[str, Any]:
    [row] = [r for r in await world.rows(MessageMediaRow) if r["message_id"] == message_id]
    return row


async def test_the_chat_reaches_pipedrive_while_one_attachment_keeps_failing(world: PanelWorld) -> None:
    assert world.waha is not None
    start = world.clock.now()
    sent = send_four(world, [503] * 20)
    assert sent.m3.media is not None
    m3_expires_ms = world.waha.media.files[sent.m3.media.name].expires_ms
    assert m3_expires_ms is not None
    await world.settle(until=start + timedelta(seconds=RETRY_BASE - 2))  # the burst, not m2's first retry

    chat, ids = await our_ids(world)
    [note] = maria_notes(world)
    assert "Guten Morgen!" in note and "Bis morgen" in note
    m2_line = line_of(note, "Angebot anbei")
    assert "angebot.pdf" in m2_line and PENDING in m2_line and "/media/" not in m2_line
    assert f'href="{WAPIPE}/chats/{chat}/media/{ids["image"]}"' in note
    assert sent.m3.media is not None
    assert targets_holding(world, sent.m3.media.data) == ["deal", "person"]
    assert files_named(world, "angebot.pdf") == []
    # m3 was fetched once, at once, before its link expired, although m2 (sent before it) kept failing
    assert downloads(world, sent.m3) == [(0.0, 200)]
    [m3_download] = [d for d in world.waha.media.downloads if d.name == sent.m3.media.name]
    assert m3_download.at_ms < m3_expires_ms
    assert (await media_row(world, ids["image"]))["state"] == "stored"
    assert (await media_row(world, ids["Angebot anbei"]))["state"] == "pending"
    assert [status for _, status in downloads(world, sent.m2)] == [503]


async def test_a_failing_attachment_is_retried_on_its_schedule_then_given_up_with_a_problem(
    world: PanelWorld,
) -> None:
    sent = send_four(world, [503] * 20)
    await world.settle()

    attempts = downloads(world, sent.m2)
    assert [status for _, status in attempts] == [503] * ATTEMPTS
    assert on_schedule([at for at, _ in attempts], RETRIES_AT), attempts
    chat, ids = await our_ids(world)
    row = await media_row(world, ids["Angebot anbei"])
    assert (row["state"], row["attempts"]) == ("unavailable", ATTEMPTS)

    [problem] = [p for p in await world.rows(SyncProblemRow) if p["resolved_at"] is None]
    assert (problem["reason"], problem["chat_id"]) == ("attachment_unavailable", chat)
    assert "+4917655501234" in problem["detail"] and "angebot.pdf" in problem["detail"]
    assert str(ATTEMPTS) in problem["detail"]
    page = await world.client.get("/settings", params={"token": world.token()})
    assert page.status_code == 200
    [shown] = [li for li in page.text.split("<li")[1:] if 'data-reason="attachment_unavailable"' in li]
    assert f"(chat {chat})" in shown and "+4917655501234" in shown and "angebot.pdf" in shown

    [note] = maria_notes(world)
    m2_line = line_of(note, "Angebot anbei")
    assert "not available" in m2_line and PENDING not in m2_line
    assert "Guten Morgen!" in note and "Bis morgen" in note and f"/media/{ids['image']}" in note
    assert files_named(world, "angebot.pdf") == []


async def test_an_attachment_that_works_on_its_second_retry_is_attached_once(world: PanelWorld) -> None:
    start = world.clock.now()
    sent = send_four(world, [503, 503])
    await world.settle(until=start + timedelta(seconds=RETRY_BASE - 2))
    before = operations(world)
    [pending_note] = maria_notes(world)
    assert PENDING in line_of(pending_note, "Angebot anbei")

    await world.settle()

    attempts = downloads(world, sent.m2)
    assert [status for _, status in attempts] == [503, 503, 200]
    assert on_schedule([at for at, _ in attempts], RETRIES_AT[:3]), attempts
    assert sent.m2.media is not None
    assert files_named(world, "angebot.pdf") == [("deal", sent.m2.media.data), ("person", sent.m2.media.data)]
    after = operations(world)
    assert after.get(UPLOAD, 0) - before.get(UPLOAD, 0) == 2  # the Person's and the Deal's copy
    assert after.get(UPDATE, 0) - before.get(UPDATE, 0) == 1
    assert after.get(CREATE, 0) == before.get(CREATE, 0)
    chat, ids = await our_ids(world)
    [note] = maria_notes(world)
    m2_line = line_of(note, "Angebot anbei")
    assert f'href="{WAPIPE}/chats/{chat}/media/{ids["Angebot anbei"]}"' in m2_line
    assert PENDING not in note and note.count("Angebot anbei") == 1
    assert (await media_row(world, ids["Angebot anbei"]))["state"] == "stored"
    assert [p for p in await world.rows(SyncProblemRow) if p["resolved_at"] is None] == []


async def test_an_attachment_whose_link_expires_while_it_is_retried_is_given_up_then(
    world: PanelWorld,
) -> None:
    assert world.waha is not None
    world.waha.media.lifetime_seconds = 25  # the gateway deletes files 25 s after they arrived
    sent = send_four(world, [503, 503])
    await world.settle()

    attempts = downloads(world, sent.m2)
    assert [status for _, status in attempts] == [503, 503, 404]  # fewer than ATTEMPTS: the file is gone
    assert on_schedule([at for at, _ in attempts], RETRIES_AT[:3]), attempts
    chat, ids = await our_ids(world)
    row = await media_row(world, ids["Angebot anbei"])
    assert (row["state"], row["attempts"]) == ("unavailable", 3)
    [problem] = [p for p in await world.rows(SyncProblemRow) if p["resolved_at"] is None]
    assert (problem["reason"], problem["chat_id"]) == ("attachment_unavailable", chat)
    assert "expired" in problem["detail"] and "angebot.pdf" in problem["detail"]
    [note] = maria_notes(world)
    assert "not available" in line_of(note, "Angebot anbei")
    assert (await media_row(world, ids["image"]))["state"] == "stored"  # fetched long before it expired
