"""Reactions in the day activities: a line on the day the reaction was made, one rewrite per change, an
older reaction arriving late changes nothing, a removed one leaves the day."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from sandbox.pipedrive.seed import seed_person
from server.domain.message_changes import Reacted
from server.services.ingest import ingest_events
from tests.sync.world import SyncWorld

NUMBER = "+498963648018"
MONDAY = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
TUESDAY = MONDAY + timedelta(days=1)
MARIA = "498963648018@s.whatsapp.net"


def reaction(world: SyncWorld, emoji: str, at: datetime) -> Reacted:
    return Reacted(world.session, "WAASK", False, MARIA, False, emoji, at)


async def test_a_reaction_is_a_line_on_the_day_it_was_made_and_goes_when_removed(world: SyncWorld) -> None:
    seed_person(world.pd, world.pd_company, "Maria Muster", phones=["+49 89 6364 8018"])
    chat = await world.message(NUMBER, "Can you do 5 % off?", name="Maria", at=MONDAY, message_id="WAASK")
    await world.sync(chat)
    [monday] = world.activities()
    outcome = await ingest_events([reaction(world, "👍", TUESDAY)], transport="waha", store=world.inbox)
    assert outcome.changed_messages == [(world.account_id, chat)] and outcome.new_messages == []
    before = Counter(world.operations())
    await world.sync(chat)
    by_day = {a["due_date"]: a for a in world.activities()}
    assert by_day["2026-03-02"]["note"] == monday["note"]  # the message's day is not written again
    assert "09:00 ← <b>Maria</b>: 👍 to “Can you do 5 % off?”</p>" in by_day["2026-03-03"]["note"]
    assert Counter(world.operations()) - before == Counter({"POST /api/v2/activities": 1}), world.operations()

    late = reaction(world, "❤️", MONDAY + timedelta(hours=1))  # made before the 👍, delivered after it
    again = reaction(world, "👍", TUESDAY)  # the same event delivered twice
    outcome = await ingest_events([late, again], transport="waha", store=world.inbox)
    assert outcome.changed_messages == []

    await ingest_events(
        [reaction(world, "", TUESDAY + timedelta(hours=1))], transport="waha", store=world.inbox
    )
    await world.sync(chat)
    [left] = world.activities()
    assert left["id"] == monday["id"] and "👍" not in left["note"] and "❤️" not in left["note"]
