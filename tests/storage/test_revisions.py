"""Change numbers on SQLite and PostgreSQL: every path that changes how a stored message shows (an edit, a
deletion, a reaction added or removed, a delivery tick, a quote found later, a downloaded file) gives its
chat a new revision and the message that number; a change that changes nothing numbers nothing; two
changes in the same second get two numbers; the chat view's query finds the messages changed after what a
page has seen, within what the page shows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from server.domain.message_changes import ChangeKind, MessageChanged, Reacted
from server.domain.sync import MediaState, MessageMedia
from server.domain.whatsapp import Delivery, InboundMessage, Peer
from server.storage.accounts import SqlAccountStore
from server.storage.chat_history import SqlChatHistory
from server.storage.companies import SqlCompanyStore
from server.storage.engine import make_async_engine
from server.storage.inbox import SqlInboxStore
from server.storage.sync import SqlSyncStore
from server.storage.tables import Chat, Message, table_of

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
MARIA = Peer("4917655501234@s.whatsapp.net", e164="+4917655501234", display_name="Maria")
OTTO = Peer("4915112345678@s.whatsapp.net", e164="+4915112345678", display_name="Otto")
ME = Peer("4917011122233@s.whatsapp.net", e164="+4917011122233")
_chats = table_of(Chat)
_messages = table_of(Message)


@dataclass
class World:
    store: SqlInboxStore
    history: SqlChatHistory
    account: int
    maria: int  # chat ids
    otto: int
    ids: dict[str, int]  # message ids by wa id


def message(wa_id: str, chat: Peer, *, from_me: bool = False, reply_to: str | None = None) -> InboundMessage:
    return InboundMessage(
        account_id="s1",
        wa_message_id=wa_id,
        chat=chat,
        sender=ME if from_me else chat,
        from_me=from_me,
        sent_at=T0 + timedelta(seconds=len(wa_id)),
        text=f"text of {wa_id}",
        reply_to=reply_to,
    )


@pytest.fixture
async def world(migrated_database_url: str) -> AsyncIterator[World]:
    engine = make_async_engine(migrated_database_url)
    company = await SqlCompanyStore(engine).upsert(1, name="A", api_domain="a", timezone="UTC")
    account = await SqlAccountStore(engine).create(
        company_id=company.id, owner_user_id=1, transport="waha", session_name="s1"
    )
    store = SqlInboxStore(engine)
    maria = await store.upsert_chat(account.id, MARIA, T0)
    otto = await store.upsert_chat(account.id, OTTO, T0)
    for wa_id, chat, peer, from_me, reply_to in (
        ("A", maria, MARIA, False, None),
        ("BB", maria, MARIA, True, None),
        ("CCC", maria, MARIA, False, "A"),  # Maria answers her own first message
        ("O", otto, OTTO, False, None),
    ):
        assert await store.add_message(
            account.id, chat, message(wa_id, peer, from_me=from_me, reply_to=reply_to)
        )
    async with engine.connect() as connection:
        found = (await connection.execute(select(_messages.c.wa_message_id, _messages.c.id))).all()
    yield World(store, SqlChatHistory(engine), account.id, maria, otto, {str(w): int(i) for w, i in found})
    await engine.dispose()


async def numbers(world: World) -> tuple[dict[int, int], dict[str, int]]:
    """(chat id → revision, wa id → message revision)."""
    async with world.store._engine.connect() as connection:
        chats = (await connection.execute(select(_chats.c.id, _chats.c.revision))).all()
        messages = (await connection.execute(select(_messages.c.wa_message_id, _messages.c.revision))).all()
    return {int(c): int(r) for c, r in chats}, {str(w): int(r) for w, r in messages}


def edit(wa_id: str, text: str, at: datetime, *, from_me: bool = False) -> MessageChanged:
    return MessageChanged("s1", wa_id, from_me, ChangeKind.EDITED, at, text)


def react(wa_id: str, emoji: str, at: datetime) -> Reacted:
    return Reacted("s1", wa_id, False, MARIA.chat_key, False, emoji, at)


async def test_nothing_is_numbered_before_a_change(world: World) -> None:
    assert await numbers(world) == (
        {world.maria: 0, world.otto: 0},
        {"A": 0, "BB": 0, "CCC": 0, "O": 0},
    )


async def test_edits_in_the_same_second_get_numbers_of_their_own(world: World) -> None:
    at = T0 + timedelta(minutes=5)
    # CCC quotes A: its quote shows the new text, so it is numbered with it.
    assert await world.store.apply_change(world.account, edit("A", "first fix", at))
    assert await numbers(world) == ({world.maria: 1, world.otto: 0}, {"A": 1, "BB": 0, "CCC": 1, "O": 0})
    assert await world.store.apply_change(world.account, edit("A", "second fix", at))  # same second
    assert await numbers(world) == ({world.maria: 2, world.otto: 0}, {"A": 2, "BB": 0, "CCC": 2, "O": 0})
    # The same text again changes nothing, and numbers nothing.
    applied = await world.store.apply_change(world.account, edit("A", "second fix", at))
    assert applied is not None and not applied.changed
    assert (await numbers(world))[0] == {world.maria: 2, world.otto: 0}
    # A change to a message never stored numbers nothing either.
    assert await world.store.apply_change(world.account, edit("ZZ", "x", at)) is None
    assert (await numbers(world))[0] == {world.maria: 2, world.otto: 0}


async def test_a_deletion_numbers_the_message_and_the_replies_quoting_it_at_once(world: World) -> None:
    deleted = MessageChanged("s1", "A", False, ChangeKind.REVOKED, T0 + timedelta(minutes=5))
    assert await world.store.apply_change(world.account, deleted)
    assert await numbers(world) == ({world.maria: 1, world.otto: 0}, {"A": 1, "BB": 0, "CCC": 1, "O": 0})
    again = await world.store.apply_change(world.account, deleted)
    assert again is not None and not again.changed
    assert (await numbers(world))[0][world.maria] == 1


async def test_reactions_added_changed_and_removed_each_get_a_number(world: World) -> None:
    at = T0 + timedelta(minutes=5)
    assert await world.store.apply_reaction(world.account, react("O", "👍", at))
    assert await numbers(world) == ({world.maria: 0, world.otto: 1}, {"A": 0, "BB": 0, "CCC": 0, "O": 1})
    assert await world.store.apply_reaction(world.account, react("O", "❤️", at))  # changed, same second
    assert await world.store.apply_reaction(world.account, react("O", "", at + timedelta(seconds=1)))
    assert await numbers(world) == ({world.maria: 0, world.otto: 3}, {"A": 0, "BB": 0, "CCC": 0, "O": 3})
    repeat = await world.store.apply_reaction(world.account, react("O", "", at + timedelta(seconds=1)))
    assert repeat is not None and not repeat.changed
    assert (await numbers(world))[0][world.otto] == 3


async def test_a_tick_that_moves_gets_a_number_and_one_that_does_not_none(world: World) -> None:
    key = "s1/out/BB"
    assert await world.store.advance_status(world.account, key, Delivery.DELIVERED) is Delivery.DELIVERED
    assert await numbers(world) == ({world.maria: 1, world.otto: 0}, {"A": 0, "BB": 1, "CCC": 0, "O": 0})
    assert await world.store.advance_status(world.account, key, Delivery.SENT) is Delivery.DELIVERED
    assert (await numbers(world))[0][world.maria] == 1  # a late "sent" does not move the tick back
    assert await world.store.advance_status(world.account, key, Delivery.READ) is Delivery.READ
    assert await numbers(world) == ({world.maria: 2, world.otto: 0}, {"A": 0, "BB": 2, "CCC": 0, "O": 0})


async def test_the_chat_view_finds_what_changed_after_what_a_page_has_seen(world: World) -> None:
    ids, at = world.ids, T0 + timedelta(minutes=5)
    await world.store.apply_change(world.account, edit("A", "fixed", at))  # revision 1
    await world.store.advance_status(world.account, "s1/out/BB", Delivery.READ)  # 2
    await world.store.apply_reaction(world.account, react("CCC", "👍", at))  # 3
    await world.store.apply_reaction(world.account, react("O", "👍", at))  # Otto's chat: not Maria's

    async def changed(seen: int, upto: str = "CCC", start: str | None = None, limit: int = 10) -> list[str]:
        found = await world.history.changed(
            world.maria,
            seen=seen,
            upto_id=ids[upto],
            from_id=ids[start] if start else None,
            limit=limit,
        )
        return [next(w for w, i in ids.items() if i == m.id) + f"@{m.revision}" for m in found]

    assert await changed(0) == ["A@1", "BB@2", "CCC@3"]
    assert await changed(1) == ["BB@2", "CCC@3"]
    assert await changed(3) == []
    assert await changed(0, upto="BB") == ["A@1", "BB@2"]  # the page has not got CCC yet
    assert await changed(0, start="BB") == ["BB@2", "CCC@3"]  # the page does not show A (not loaded)
    assert await changed(0, limit=2) == ["A@1", "BB@2"]  # in the order they changed
    chat = await world.history.chat(1, world.maria)
    assert chat is not None and chat.revision == 3


async def test_a_quote_found_later_and_a_downloaded_file_are_numbered_too(world: World) -> None:
    # A reply to a message not stored yet quotes what the transport quoted; when the message comes, the
    # reply quotes it instead.
    reply = message("RR", OTTO, reply_to="Q")
    assert await world.store.add_message(world.account, world.otto, reply)
    original = message("Q", OTTO)
    assert await world.store.add_message(world.account, world.otto, original)
    assert await world.store.adopt_replies(world.account, original)
    chats, messages = await numbers(world)
    assert chats[world.otto] == 1 and (messages["RR"], messages["Q"], messages["O"]) == (1, 0, 0)

    # The sync stored a file of Maria's first message: the chat view's "not downloaded yet" becomes it.
    ready = MessageMedia(
        world.ids["A"], MediaState.STORED, sha256="ab" * 32, size=3, mime="image/png", path="/x"
    )
    await SqlSyncStore(world.store._engine).save_media(ready)
    chats, messages = await numbers(world)
    assert chats == {world.maria: 1, world.otto: 1} and messages["A"] == 1 and messages["BB"] == 0
