"""Erasing a contact: their chats, messages (also in groups), attachments and outgoing messages go; other
contacts and other companies keep theirs; what stays in Pipedrive is listed."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.whatsapp import InboundMessage, Peer
from server.storage.accounts import SqlAccountStore
from server.storage.companies import SqlCompanyStore
from server.storage.engine import make_async_engine
from server.storage.erasure import erase_contact
from server.storage.inbound_events import SqlInboundEventStore
from server.storage.inbox import SqlInboxStore
from server.storage.tables import Chat, MediaBlob, MediaUpload, Message, MessageMediaRow, Outbox, table_of
from server.storage.tables_sync import SyncChatLink, SyncDayActivity

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
MARIA = Peer("4917655501234@s.whatsapp.net", e164="+4917655501234", display_name="Maria")
OTTO = Peer("4917655509999@s.whatsapp.net", e164="+4917655509999", display_name="Otto")
GROUP = Peer("120363000000000001@g.us", is_group=True, display_name="Team")


def message(wa_id: str, chat: Peer, sender: Peer) -> InboundMessage:
    return InboundMessage(
        account_id="s", wa_message_id=wa_id, chat=chat, sender=sender, from_me=False, sent_at=T0, text=wa_id
    )


async def count(engine: AsyncEngine, table: type) -> int:
    sa_table = table_of(table)
    async with engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(sa_table))).scalar_one())


@pytest.fixture
async def world(
    migrated_database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[AsyncEngine, int, int, Path]]:
    engine = make_async_engine(migrated_database_url)
    companies = SqlCompanyStore(engine)
    a = await companies.upsert(1, name="A", api_domain="a", timezone="UTC")
    b = await companies.upsert(2, name="B", api_domain="b", timezone="UTC")
    inbox = SqlInboxStore(engine)
    blob = tmp_path / "ab" / "maria-photo"
    blob.parent.mkdir(parents=True)
    blob.write_bytes(b"photo")
    sha = hashlib.sha256(b"photo").hexdigest()
    for company, session in ((a, "sa"), (b, "sb")):
        account = await SqlAccountStore(engine).create(
            company_id=company.id, owner_user_id=1, transport="waha", session_name=session
        )
        maria_chat = await inbox.upsert_chat(account.id, MARIA, T0)
        await inbox.add_message(account.id, maria_chat, message(f"{session}-m1", MARIA, MARIA))
        otto_chat = await inbox.upsert_chat(account.id, OTTO, T0)
        await inbox.add_message(account.id, otto_chat, message(f"{session}-o1", OTTO, OTTO))
        group_chat = await inbox.upsert_chat(account.id, GROUP, T0)
        await inbox.add_message(account.id, group_chat, message(f"{session}-g1", GROUP, MARIA))
        async with engine.begin() as connection:
            await connection.execute(
                insert(table_of(SyncChatLink)).values(
                    chat_id=maria_chat,
                    account_id=account.id,
                    company_id=company.id,
                    chat_key=MARIA.chat_key,
                    person_id=70 + company.id,
                    person_name="Maria",
                    updated_at=T0,
                )
            )
            await connection.execute(
                insert(table_of(SyncDayActivity)).values(
                    chat_id=maria_chat,
                    day=date(2026, 11, 28),
                    part=1,
                    activity_id=900 + company.id,
                    updated_at=T0,
                )
            )
            maria_message = (
                await connection.execute(
                    select(table_of(Message).c.id).where(table_of(Message).c.chat_id == maria_chat)
                )
            ).scalar_one()
            if company is a:
                await connection.execute(
                    insert(table_of(MediaBlob)).values(
                        sha256=sha, path=str(blob), mime="image/jpeg", size=5, created_at=T0
                    )
                )
                await connection.execute(
                    insert(table_of(MediaUpload)).values(
                        company_id=company.id,
                        sha256=sha,
                        target="person",
                        target_id=71,
                        file_id=55,
                        created_at=T0,
                    )
                )
                await connection.execute(
                    insert(table_of(MessageMediaRow)).values(
                        message_id=maria_message, state="stored", sha256=sha, updated_at=T0
                    )
                )
            await connection.execute(
                insert(table_of(Outbox)).values(
                    client_ref=f"ref-{session}-0001",
                    company_id=company.id,
                    account_id=account.id,
                    requested_by=1,
                    to_chat=MARIA.e164,
                    text="hi",
                    file_name="",
                    fingerprint="",
                    status="sent",
                    attempts=1,
                    error_reason="",
                    error_message="",
                    created_at=T0,
                    updated_at=T0,
                )
            )
    yield engine, a.id, b.id, blob
    await engine.dispose()


async def test_a_contact_is_erased_from_one_company_only(world: tuple[AsyncEngine, int, int, Path]) -> None:
    engine, company_a, _, blob = world
    report = await erase_contact(engine, company_a, "+4917655501234")
    assert (report.chats, report.messages, report.attachments, report.outgoing) == (1, 2, 1, 1)
    assert [str(item) for item in report.remaining_in_pipedrive] == [
        "person 71 (Maria)",
        "activity 901 (WhatsApp chat of 2026-11-28)",
        "file 55 on person 71",
    ]
    assert not blob.exists()
    # Otto's chat and company B's copy of Maria stay.
    assert await count(engine, Chat) == 5
    assert await count(engine, Message) == 4
    assert await count(engine, SyncChatLink) == 1
    assert await count(engine, Outbox) == 1
    assert await count(engine, MediaBlob) == 0


async def test_erasing_twice_is_harmless(world: tuple[AsyncEngine, int, int, Path]) -> None:
    engine, company_a, _, _ = world
    await erase_contact(engine, company_a, "+4917655501234")
    again = await erase_contact(engine, company_a, "+4917655501234")
    assert (again.chats, again.messages, again.attachments) == (0, 0, 0)


async def test_kept_raw_deliveries_that_mention_the_contact_go_others_stay(
    world: tuple[AsyncEngine, int, int, Path],
) -> None:
    engine, company_a, _, _ = world
    events = SqlInboundEventStore(engine)
    maria_body = b'{"session":"%s","payload":{"from":"4917655501234@c.us","body":"my address is ..."}}'
    kept: dict[str, int] = {}
    for key, session, body, state in (
        ("a-failed", "sa", maria_body % b"sa", "failed"),
        ("a-rejected", "sa", maria_body % b"sa", "rejected"),
        ("a-otto", "sa", b'{"payload":{"from":"4917655509999@c.us"}}', "failed"),
        ("a-pending", "sa", maria_body % b"sa", "pending"),  # on its way into the inbox: left to arrive
        ("a-done", "sa", maria_body % b"sa", "processed"),
        ("b-failed", "sb", maria_body % b"sb", "failed"),  # the other company's
    ):
        event_id, _ = await events.record(transport="waha", event_key=key, session_name=session, body=body)
        if state != "pending":
            await events.mark(event_id, state, reason="x" if state != "processed" else "")
        kept[key] = event_id
    report = await erase_contact(engine, company_a, "+4917655501234", dry_run=True)
    assert report.webhook_deliveries == 2 and await events.get(kept["a-failed"]) is not None
    report = await erase_contact(engine, company_a, "+4917655501234")
    assert report.webhook_deliveries == 2
    assert report.as_dict()["erased"]["webhook_deliveries"] == 2  # type: ignore[index]
    gone = {key for key, event_id in kept.items() if await events.get(event_id) is None}
    assert gone == {"a-failed", "a-rejected"}
    done = await events.get(kept["a-done"])
    assert done is not None and done.body == b""  # processed in full: its body was dropped at once
