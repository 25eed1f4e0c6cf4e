"""The inbox store on SQLite and PostgreSQL: one row per chat and logical message; statuses go forward."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from server.domain.whatsapp import Delivery, InboundMessage, Peer, SessionStatus, StatusChanged
from server.services.ingest import ingest_events
from server.storage.accounts import SqlAccountStore
from server.storage.companies import SqlCompanyStore
from server.storage.engine import make_async_engine
from server.storage.inbox import SqlInboxStore
from server.storage.outbox import SqlOutboxStore
from server.storage.tables import Chat, Message, WhatsAppAccount, table_of

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
CONTACT = Peer("4917655501234@s.whatsapp.net", e164="+4917655501234", display_name="Maria")
LID = Peer("352411759821761@lid", lid="352411759821761@lid")


@pytest.fixture
async def inbox(migrated_database_url: str) -> AsyncIterator[tuple[SqlInboxStore, int]]:
    engine = make_async_engine(migrated_database_url)
    company = await SqlCompanyStore(engine).upsert(1, name="A", api_domain="a", timezone="UTC")
    account = await SqlAccountStore(engine).create(
        company_id=company.id, owner_user_id=1, transport="waha", session_name="s1"
    )
    yield SqlInboxStore(engine), account.id
    await engine.dispose()


def message(wa_id: str, chat: Peer = CONTACT, *, from_me: bool = False, text: str = "hi") -> InboundMessage:
    return InboundMessage(
        account_id="s1", wa_message_id=wa_id, chat=chat, sender=chat, from_me=from_me, sent_at=T0, text=text
    )


async def rows(store: SqlInboxStore, table: type) -> list[dict[str, object]]:
    sa_table = table_of(table)
    async with store._engine.connect() as connection:
        return [
            dict(r) for r in (await connection.execute(select(sa_table).order_by(sa_table.c.id))).mappings()
        ]


async def test_a_message_is_stored_once(inbox: tuple[SqlInboxStore, int]) -> None:
    store, account = inbox
    chat = await store.upsert_chat(account, CONTACT, T0)
    assert await store.upsert_chat(account, CONTACT, T0 + timedelta(minutes=1)) == chat
    assert await store.add_message(account, chat, message("3EB0A")) is True
    assert await store.add_message(account, chat, message("3EB0A", text="changed")) is False
    [row] = await rows(store, Message)
    assert row["text"] == "hi"
    [chat_row] = await rows(store, Chat)
    assert chat_row["last_message_at"] == T0 + timedelta(minutes=1)
    assert chat_row["display_name"] == "Maria"


async def test_statuses_only_move_forward(inbox: tuple[SqlInboxStore, int]) -> None:
    store, account = inbox
    chat = await store.upsert_chat(account, CONTACT, T0)
    sent = message("3EB0B", from_me=True)
    await store.add_message(account, chat, sent)
    assert await store.advance_status(account, sent.key, Delivery.READ) is Delivery.READ
    assert await store.advance_status(account, sent.key, Delivery.DELIVERED) is Delivery.READ
    assert await store.advance_status(account, sent.key, Delivery.FAILED) is Delivery.READ
    assert await store.advance_status(account, "s1/out/unknown", Delivery.READ) is None


async def test_the_first_delivered_and_read_ticks_are_timed_once(inbox: tuple[SqlInboxStore, int]) -> None:
    store, account = inbox
    chat = await store.upsert_chat(account, CONTACT, T0)
    early, late = message("3EB0D", from_me=True), message("3EB0E", from_me=True)
    await store.add_message(account, chat, early)
    await store.add_message(account, chat, late)

    before = datetime.now(UTC)
    await store.advance_status(account, early.key, Delivery.DELIVERED)
    await store.advance_status(account, late.key, Delivery.READ)  # the read tick alone: delivered too
    after = datetime.now(UTC)
    first = {row["message_key"]: (row["delivered_at"], row["read_at"]) for row in await rows(store, Message)}
    early_delivered, early_read = first[early.key]
    assert isinstance(early_delivered, datetime) and before <= early_delivered <= after
    assert early_read is None
    late_delivered, late_read = first[late.key]
    assert isinstance(late_read, datetime) and before <= late_read <= after
    assert late_delivered == late_read

    await store.advance_status(account, early.key, Delivery.READ)
    await store.advance_status(account, late.key, Delivery.PLAYED)
    await store.advance_status(account, late.key, Delivery.DELIVERED)
    again = {row["message_key"]: (row["delivered_at"], row["read_at"]) for row in await rows(store, Message)}
    assert again[early.key][0] == early_delivered  # kept: the first delivered tick's time
    assert isinstance(again[early.key][1], datetime) and again[early.key][1] >= after
    assert again[late.key] == first[late.key]  # a later tick moves neither time


async def test_a_learned_identity_merges_the_lid_chat_into_the_phone_chat(
    inbox: tuple[SqlInboxStore, int],
) -> None:
    store, account = inbox
    lid_chat = await store.upsert_chat(account, LID, T0)
    phone_chat = await store.upsert_chat(account, CONTACT, T0)
    await store.add_message(account, lid_chat, message("3EB0C", LID))
    await store.add_message(account, phone_chat, message("3EB0D"))
    await store.learn_identity(account, LID.chat_key, CONTACT.chat_key, CONTACT.e164)
    [chat_row] = await rows(store, Chat)
    assert (chat_row["chat_key"], chat_row["lid"]) == (CONTACT.chat_key, LID.chat_key)
    assert {m["chat_id"] for m in await rows(store, Message)} == {chat_row["id"]}


async def test_a_lid_chat_alone_becomes_the_phone_chat(inbox: tuple[SqlInboxStore, int]) -> None:
    store, account = inbox
    await store.upsert_chat(account, LID, T0)
    await store.learn_identity(account, LID.chat_key, CONTACT.chat_key, CONTACT.e164)
    [chat_row] = await rows(store, Chat)
    assert (chat_row["chat_key"], chat_row["e164"]) == (CONTACT.chat_key, CONTACT.e164)


async def test_session_statuses_apply_in_the_order_they_happened(inbox: tuple[SqlInboxStore, int]) -> None:
    store, account = inbox
    me = Peer("4915112345678@s.whatsapp.net", e164="+4915112345678", display_name="Anna")
    assert await store.record_session(
        account, SessionStatus.CONNECTED, "WORKING", me, T0 + timedelta(seconds=2)
    )
    assert not await store.record_session(account, SessionStatus.STARTING, "STARTING", None, T0)  # overtaken
    assert not await store.record_session(
        account, SessionStatus.STARTING, "STARTING", None, T0 + timedelta(seconds=2)
    )
    assert await store.record_session(
        account, SessionStatus.LOGGED_OUT, "FAILED", None, T0 + timedelta(seconds=3)
    )
    [account_row] = await rows(store, WhatsAppAccount)
    assert account_row["status"] == "logged_out"
    assert account_row["e164"] == "+4915112345678"


async def test_a_session_seen_leaving_lowers_the_catch_up_mark_to_its_newest_message(
    inbox: tuple[SqlInboxStore, int],
) -> None:
    store, account = inbox
    accounts = SqlAccountStore(store._engine)
    other = await accounts.create(company_id=1, owner_user_id=2, transport="waha", session_name="s2")
    later = T0 + timedelta(hours=1)
    for each in (account, other.id):
        assert await store.record_session(each, SessionStatus.CONNECTED, "", None, T0 - timedelta(hours=2))
        assert await accounts.mark_caught_up(each, later, was=None)
    chat = await store.upsert_chat(account, CONTACT, T0)
    await store.add_message(account, chat, message("3EB0A"))  # sent at T0, before the mark

    async def marks() -> tuple[datetime | None, datetime | None]:
        found = [await accounts.by_id(each) for each in (account, other.id)]
        return (
            found[0].caught_up_until if found[0] else None,
            found[1].caught_up_until if found[1] else None,
        )

    # Overtaken by a later status, a drop is not applied, and lowers nothing.
    assert not await store.record_session(
        account, SessionStatus.DISCONNECTED, "", None, T0 - timedelta(hours=3)
    )
    assert await marks() == (later, later)
    assert await store.record_session(account, SessionStatus.CONNECTED, "", None, None)
    assert await marks() == (later, later)
    assert await store.record_session(account, SessionStatus.STARTING, "", None, None)
    assert await marks() == (T0, later)  # the other number has no message, and its session stayed
    assert await store.record_session(other.id, SessionStatus.FAILED, "", None, None)
    assert await marks() == (T0, later)  # no message stored: nothing to lower it to
    await store.add_message(account, chat, replace(message("3EB0B"), sent_at=T0 + timedelta(hours=2)))
    assert await store.record_session(account, SessionStatus.DISCONNECTED, "", None, None)
    assert await marks() == (T0, later)  # never raised


async def test_a_refusal_reported_by_webhook_fails_the_outbox_entry_by_name(
    inbox: tuple[SqlInboxStore, int],
) -> None:
    store, account = inbox
    outbox = SqlOutboxStore(store._engine)
    [company_id] = [row["company_id"] for row in await rows(store, WhatsAppAccount)]
    entry, _ = await outbox.create(
        client_ref="ref-1",
        company_id=int(company_id),  # type: ignore[call-overload]
        account_id=account,
        requested_by=1,
        to_chat=CONTACT.chat_key,
        text="Angebot",
        fingerprint="f",
    )
    sent = message("wamid.OUT1", from_me=True, text="Angebot")
    chat = await store.upsert_chat(account, CONTACT, T0)
    await store.add_message(account, chat, sent)
    await outbox.mark_sent(entry.id, "wamid.OUT1", sent.key)
    refusal = StatusChanged(
        "s1",
        "wamid.OUT1",
        Delivery.FAILED,
        T0,
        error_code="131047",
        reason="outside_24h_window",
        error="More than 24 hours have passed since the customer last replied",
    )
    outcome = await ingest_events([refusal], transport="waha", store=store)
    assert outcome.statuses == 1
    failed = await outbox.by_id(entry.id)
    assert failed is not None and failed.status == "failed"
    assert failed.error_reason == "outside_24h_window"
    assert "24 hours" in failed.error_message
    # a second delivery of the same refusal changes nothing more
    await ingest_events([refusal], transport="waha", store=store)
    assert (await outbox.by_id(entry.id)).error_reason == "outside_24h_window"  # type: ignore[union-attr]


async def test_a_status_carrying_our_reference_names_the_send_still_on_its_way(
    inbox: tuple[SqlInboxStore, int],
) -> None:
    """The Cloud API echoes our client_ref on statuses: the entry whose send answer was lost learns its
    message id, once, and only an entry of that account whose attempt started."""
    store, account = inbox
    outbox = SqlOutboxStore(store._engine)
    [company_id] = [row["company_id"] for row in await rows(store, WhatsAppAccount)]

    async def create(ref: str) -> int:
        entry, _ = await outbox.create(
            client_ref=ref,
            company_id=int(company_id),  # type: ignore[call-overload]
            account_id=account,
            requested_by=1,
            to_chat=CONTACT.chat_key,
            text="Angebot",
            fingerprint="f",
        )
        return entry.id

    lost, queued = await create("ref-lost"), await create("ref-queued")
    await outbox.start_attempt(lost, T0)
    sent_status = StatusChanged("s1", "wamid.LOST", Delivery.SENT, T0, client_ref="ref-lost")
    await ingest_events([sent_status], transport="waha", store=store)
    claimed = await outbox.by_id(lost)
    assert claimed is not None and claimed.wa_message_id == "wamid.LOST" and claimed.status == "sending"

    assert not await store.claim_send(account, "ref-lost", "wamid.OTHER")  # named once
    assert not await store.claim_send(account, "ref-queued", "wamid.Q")  # no attempt started
    assert not await store.claim_send(account + 1000, "ref-lost", "wamid.X")  # another account's
    assert (await outbox.by_id(lost)).wa_message_id == "wamid.LOST"  # type: ignore[union-attr]
    assert (await outbox.by_id(queued)).wa_message_id is None  # type: ignore[union-attr]
