"""A reaction that came before its message (the message missed by webhooks) waits for it, as edits and
deletions do: WAHA's history leaves reactions out, so when a catch-up brings the message, the waiting
reaction is what shows on it. On its own it starts no chat, and after eight days it is given up."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from sandbox.pipedrive.seed import seed_person
from server.domain.message_changes import Reacted
from server.domain.whatsapp import HistoryBatch
from server.jobs.retention import apply_retention
from server.services.ingest import ingest_events
from tests.job_deps import deps_over, run_ctx
from tests.sync.catch_up import MARIA, MORNING, catch_up, from_history
from tests.sync.world import SyncWorld


def _reaction(
    world: SyncWorld, target: str, emoji: str, minutes: int, *, target_from_me: bool | None = False
) -> Reacted:
    return Reacted(
        world.session, target, target_from_me, MARIA, False, emoji, MORNING + timedelta(minutes=minutes)
    )


async def _waiting(world: SyncWorld) -> list[str]:
    async with world.engine.connect() as connection:
        query = text("select message_key from waiting_reaction order by message_key")
        return list((await connection.execute(query)).scalars().all())


async def _chats(world: SyncWorld) -> int:
    async with world.engine.connect() as connection:
        return int((await connection.execute(text("select count(*) from chat"))).scalar() or 0)


async def test_a_reaction_before_its_message_shows_once_the_catch_up_brings_it(world: SyncWorld) -> None:
    seed_person(world.pd, world.pd_company, "Maria Muster", phones=["+49 89 6364 8018"])
    early = _reaction(world, "WAASK", "👍", 5)
    for _ in range(3):  # the live delivery and its tries, while the message is nowhere yet
        outcome = await ingest_events([early], transport="waha", store=world.inbox)
        assert outcome.early_changes == [f"{world.session}/in/WAASK"] and outcome.changed_messages == []
    assert await _waiting(world) == [f"{world.session}/in/WAASK"]
    assert await _chats(world) == 0  # on its own it starts no chat

    chat = await catch_up(world, from_history(world, "WAASK", "Can you do 5 % off?", 2))
    await world.sync(chat)
    [activity] = world.activities()
    note = activity["note"]
    assert "09:02 ← <b>Maria</b>: Can you do 5 % off?</p>" in note
    assert "09:05 ← <b>Maria</b>: 👍 to “Can you do 5 % off?”</p>" in note
    assert note.index("5 % off?</p>") < note.index("👍")
    assert await _waiting(world) == []

    before = Counter(world.operations())  # the same history read again, the reaction delivered again
    again = HistoryBatch(
        account_id=world.session,
        chat_key=None,
        messages=[from_history(world, "WAASK", "Can you do 5 % off?", 2)],
    )
    outcome = await ingest_events([again, early], transport="waha", store=world.inbox)
    assert outcome.new_messages == [] and outcome.changed_messages == []
    await world.sync(chat)
    assert Counter(world.operations()) == before
    assert world.notes().count("👍") == 1


async def test_a_reaction_taken_back_before_its_message_came_shows_nothing(world: SyncWorld) -> None:
    seed_person(world.pd, world.pd_company, "Maria Muster", phones=["+49 89 6364 8018"])
    # delivered in any order: the removal (later) first
    await ingest_events(
        [_reaction(world, "WAASK", "", 7), _reaction(world, "WAASK", "❤️", 5)],
        transport="waha",
        store=world.inbox,
    )
    chat = await catch_up(world, from_history(world, "WAASK", "Can you do 5 % off?", 2))
    await world.sync(chat)
    [activity] = world.activities()
    assert "❤️" not in activity["note"] and " to “" not in activity["note"]
    assert await _waiting(world) == []


async def test_a_reaction_naming_its_message_by_id_alone_waits_under_both_keys(world: SyncWorld) -> None:
    """The Cloud API names the message reacted to by its id, not its direction."""
    seed_person(world.pd, world.pd_company, "Maria Muster", phones=["+49 89 6364 8018"])
    early = _reaction(world, "WAOFFER", "🙏", 6, target_from_me=None)
    await ingest_events([early], transport="waha", store=world.inbox)
    assert await _waiting(world) == [f"{world.session}/in/WAOFFER", f"{world.session}/out/WAOFFER"]
    chat = await catch_up(world, from_history(world, "WAOFFER", "Unser Angebot", 3, from_me=True))
    await world.sync(chat)
    assert "09:06 ← <b>Maria</b>: 🙏 to “Unser Angebot”</p>" in world.notes()
    assert await _waiting(world) == []


async def test_a_reaction_whose_message_never_comes_is_given_up_after_eight_days(world: SyncWorld) -> None:
    for target in ("WAOLD", "WANEW"):
        await ingest_events([_reaction(world, target, "👍", 0)], transport="waha", store=world.inbox)
    async with world.engine.begin() as connection:
        await connection.execute(
            text("update waiting_reaction set created_at = :at where message_key like '%WAOLD'"),
            {"at": datetime(2026, 3, 1, 12, 0, tzinfo=UTC)},
        )
        await connection.execute(
            text("update waiting_reaction set created_at = :at where message_key like '%WANEW'"),
            {"at": datetime(2026, 3, 2, 12, 0, tzinfo=UTC)},
        )
    await apply_retention(run_ctx(deps_over(world.engine)), now=datetime(2026, 3, 9, 12, 30, tzinfo=UTC))
    assert await _waiting(world) == [f"{world.session}/in/WANEW"]  # 7 days and 30 minutes old: still waiting
    assert await _chats(world) == 0
