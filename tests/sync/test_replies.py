"""Replies in the day's activity: the quote follows the answered message, whichever arrives first, and
a deleted answered message takes its text out of every quote."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sandbox.pipedrive.seed import seed_person
from server.domain.message_changes import ChangeKind, MessageChanged
from server.domain.quotes import QUOTE_LIMIT, short_quote
from server.domain.whatsapp import InboundMessage, MessageReceived, Peer
from server.services.ingest import ingest_events
from tests.sync.world import SyncWorld

NUMBER = "+498963648018"
MARIA = Peer(chat_key="498963648018@s.whatsapp.net", e164=NUMBER, display_name="Maria")
MORNING = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 09:00 in Berlin


def said(world: SyncWorld, wa_id: str, text: str, minute: int, **reply: str) -> MessageReceived:
    message = InboundMessage(
        account_id=world.session,
        wa_message_id=wa_id,
        chat=MARIA,
        sender=MARIA,
        from_me=False,
        sent_at=MORNING + timedelta(minutes=minute),
        text=text,
        reply_to=reply.get("to"),
        quoted_text=reply.get("quoted"),
    )
    return MessageReceived(message)


async def note(world: SyncWorld) -> str:
    chat = world.chat_ids.get(MARIA.chat_key) or await _chat(world)
    await world.sync(chat)
    [activity] = world.activities()
    return str(activity["note"])


async def _chat(world: SyncWorld) -> int:
    chat = await world.deps.sync_store.chat_by_key(world.account_id, MARIA.chat_key)
    world.chat_ids[MARIA.chat_key] = chat.id
    return int(chat.id)


async def test_a_reply_stored_before_the_message_it_answers_quotes_it_once_it_arrives(
    world: SyncWorld,
) -> None:
    seed_person(world.pd, world.pd_company, "Maria Muster", phones=["+49 89 6364 8018"])
    reply = said(world, "WAREPLY", "Yes please", 5, to="WAASK", quoted="Can you do 5 % off?")
    await ingest_events([reply], transport="waha", store=world.inbox)
    first = await note(world)
    assert "09:05 ← <b>Maria</b>: <i>↪ “Can you do 5 % off?”</i><br>Yes please</p>" in first
    outcome = await ingest_events(
        [said(world, "WAASK", "Can you do 10 % off?", 1)], transport="waha", store=world.inbox
    )
    assert outcome.changed_messages == [(world.account_id, world.chat_ids[MARIA.chat_key])]
    second = await note(world)
    assert (
        "09:05 ← <b>Maria</b>: <i>↪ “Can you do 10 % off?”</i><br>Yes please</p>" in second
    )  # the stored one
    assert second.count("Can you do 10 % off?") == 2 and "5 %" not in second


async def test_deleting_a_message_never_stored_takes_its_text_out_of_the_quotes(world: SyncWorld) -> None:
    seed_person(world.pd, world.pd_company, "Maria Muster", phones=["+49 89 6364 8018"])
    reply = said(world, "WAREPLY", "Yes please", 5, to="WAOLD", quoted="My home address is …")
    await ingest_events([reply], transport="waha", store=world.inbox)
    assert "My home address" in await note(world)
    gone = MessageChanged(world.session, "WAOLD", False, ChangeKind.REVOKED, MORNING + timedelta(minutes=6))
    await ingest_events([gone], transport="waha", store=world.inbox)
    after = await note(world)
    assert "My home address" not in after
    assert "09:05 ← <b>Maria</b>: <i>↪ “an earlier message”</i><br>Yes please</p>" in after


def test_a_quote_is_one_short_line() -> None:
    assert short_quote("  two\nlines  ") == "two lines"
    long = "x" * (QUOTE_LIMIT + 10)
    assert short_quote(long) == "x" * (QUOTE_LIMIT - 1) + "…" and len(short_quote(long)) == QUOTE_LIMIT
