"""Retention: whole old days of messages go (with their attachments, files and activity rows) once Pipedrive
has them; unsynced, dirty, busy and never-synced chats keep theirs; attachment files go before their
messages, which then show "removed"; pending outgoing messages and webhooks stay; other companies and
files they share are untouched. On SQLite and PostgreSQL, in the company's timezone."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.settings_form import CompanySettingsValues
from server.jobs.functions import CRON_JOBS
from server.jobs.retention import apply_retention
from server.storage.accounts import SqlAccountStore
from server.storage.chat_history import SqlChatHistory
from server.storage.companies import SqlCompanyStore
from server.storage.company_settings import SqlCompanySettingsStore
from server.storage.conversations import SqlConversationStore
from server.storage.engine import make_async_engine
from server.storage.retention import MEDIA_REMOVED
from server.storage.tables import (
    Chat,
    InboundEvent,
    MediaBlob,
    Message,
    MessageMediaRow,
    Outbox,
    table_of,
    utcnow,
)
from server.storage.tables_sync import SyncChatLink, SyncDayActivity
from tests.job_deps import deps_over, run_ctx

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
OLD = datetime(2026, 10, 20, 10, 0, tzinfo=UTC)  # 39 days before NOW
# Retention of 30 days in Europe/Berlin keeps local days from 2026-10-29 on, which start at 23:00 UTC.
LATE_ON_THE_28TH = datetime(2026, 10, 28, 22, 30, tzinfo=UTC)  # 23:30 in Berlin: deleted
EARLY_ON_THE_29TH = datetime(2026, 10, 28, 23, 30, tzinfo=UTC)  # 00:30 in Berlin: kept
TWENTY_DAYS_AGO = NOW - timedelta(days=20)
YESTERDAY = NOW - timedelta(days=1)


@dataclass
class Company:
    id: int
    account_id: int
    session: str
    chats: dict[str, int] = field(default_factory=dict)
    messages: dict[str, int] = field(default_factory=dict)


@dataclass
class World:
    engine: AsyncEngine
    media_dir: Path
    a: Company
    b: Company
    files: dict[str, Path] = field(default_factory=dict)

    async def insert(self, model: Any, **values: Any) -> int:
        async with self.engine.begin() as connection:
            result = await connection.execute(insert(table_of(model)).values(**values))
        key = result.inserted_primary_key
        return key[0] if key and isinstance(key[0], int) else 0

    def blob(self, name: str) -> str:
        content = name.encode()
        sha = hashlib.sha256(content).hexdigest()
        path = self.media_dir / sha[:2] / sha
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        self.files[name] = path
        return sha

    async def chat(self, company: Company, name: str, *, cursor: int | None, lease: str = "") -> int:
        chat_id = await self.insert(
            Chat, account_id=company.account_id, chat_key=f"{name}@c.us", e164=f"+49176{len(name):07d}"
        )
        company.chats[name] = chat_id
        if cursor is not None:
            await self.insert(
                SyncChatLink,
                chat_id=chat_id,
                account_id=company.account_id,
                company_id=company.id,
                chat_key=f"{name}@c.us",
                cursor=cursor,
                lease_owner=lease,
                lease_until=utcnow() + timedelta(hours=1) if lease else None,
            )
        return chat_id

    async def message(
        self, company: Company, chat: str, key: str, at: datetime, *, blob: str | None = None
    ) -> int:
        message_id = await self.insert(
            Message,
            account_id=company.account_id,
            chat_id=company.chats[chat],
            message_key=f"{company.session}-{key}",
            wa_message_id=key,
            text=f"text {key}",
            media_kind="image" if blob else "",
            sent_at=at,
        )
        company.messages[key] = message_id
        if blob is not None:
            sha = self.blob(blob)
            async with self.engine.begin() as connection:
                exists = (
                    await connection.execute(
                        select(table_of(MediaBlob)).where(table_of(MediaBlob).c.sha256 == sha)
                    )
                ).first()
            if exists is None:
                await self.insert(
                    MediaBlob, sha256=sha, path=str(self.files[blob]), mime="image/jpeg", size=3
                )
            await self.insert(MessageMediaRow, message_id=message_id, state="stored", sha256=sha)
        return message_id

    async def day(self, company: Company, chat: str, day: date, *, dirty: bool = False) -> None:
        await self.insert(
            SyncDayActivity,
            chat_id=company.chats[chat],
            day=day,
            part=1,
            activity_id=500 + len(chat),
            dirty=dirty,
            dirty_since=NOW if dirty else None,
        )

    async def set_cursor(self, company: Company, chat: str) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(
                update(table_of(SyncChatLink))
                .where(table_of(SyncChatLink).c.chat_id == company.chats[chat])
                .values(cursor=max(company.messages.values()))
            )

    async def ids(self, model: Any, column: str = "id") -> set[Any]:
        async with self.engine.connect() as connection:
            return set((await connection.execute(select(table_of(model).c[column]))).scalars())


async def company(engine: AsyncEngine, pipedrive_id: int, timezone: str) -> Company:
    row = await SqlCompanyStore(engine).upsert(pipedrive_id, name="", api_domain="", timezone=timezone)
    session = f"wp-{pipedrive_id}"
    account = await SqlAccountStore(engine).create(
        company_id=row.id, owner_user_id=1, transport="waha", session_name=session
    )
    return Company(row.id, account.id, session)


@pytest.fixture
async def world(migrated_database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    engine = make_async_engine(migrated_database_url)
    world = World(
        engine,
        tmp_path / "media",
        await company(engine, 1, "Europe/Berlin"),
        await company(engine, 2, "UTC"),
    )
    await SqlCompanySettingsStore(engine).save(
        world.a.id, CompanySettingsValues(message_retention_days=30, media_retention_days=10)
    )
    yield world
    await engine.dispose()


async def seed_synced_chat(world: World) -> None:
    """Company A's chat "maria", everything written to Pipedrive; company B has the same old photo."""
    a, b = world.a, world.b
    await world.chat(a, "maria", cursor=0)
    await world.message(a, "maria", "old-text", OLD)
    await world.message(a, "maria", "old-photo", OLD + timedelta(minutes=1), blob="shared-photo")
    await world.message(a, "maria", "old-only-here", OLD + timedelta(minutes=2), blob="only-a")
    await world.message(a, "maria", "late-28th", LATE_ON_THE_28TH)
    await world.message(a, "maria", "early-29th", EARLY_ON_THE_29TH)
    await world.message(a, "maria", "twenty-days", TWENTY_DAYS_AGO, blob="twenty")
    await world.message(a, "maria", "yesterday", YESTERDAY, blob="recent")
    await world.set_cursor(a, "maria")
    for day in (date(2026, 10, 20), date(2026, 10, 28), date(2026, 10, 29), date(2026, 11, 8)):
        await world.day(a, "maria", day)
    await world.chat(b, "maria", cursor=0)
    await world.message(b, "maria", "b-old-photo", OLD, blob="shared-photo")
    await world.message(b, "maria", "b-old-text", OLD)
    await world.set_cursor(b, "maria")


async def test_old_synced_days_go_with_their_attachments_and_activity_rows(world: World) -> None:
    await seed_synced_chat(world)
    a, b = world.a, world.b

    [outcome] = await apply_retention(run_ctx(deps_over(world.engine)), now=NOW)

    kept = await world.ids(Message)
    gone = {a.messages[k] for k in ("old-text", "old-photo", "old-only-here", "late-28th")}
    assert not gone & kept
    assert {a.messages["early-29th"], a.messages["twenty-days"], a.messages["yesterday"]} <= kept
    assert set(b.messages.values()) <= kept  # company B keeps no retention: everything stays
    assert outcome.company_id == a.id and outcome.messages == 4
    assert not gone & await world.ids(MessageMediaRow, "message_id")
    async with world.engine.connect() as connection:
        days = (
            await connection.execute(
                select(table_of(SyncDayActivity).c.day).where(
                    table_of(SyncDayActivity).c.chat_id == a.chats["maria"]
                )
            )
        ).scalars()
        assert sorted(days) == [date(2026, 10, 29), date(2026, 11, 8)]  # the 20th and the 28th are gone
    assert not world.files["only-a"].exists()  # used only by A's deleted message
    assert world.files["shared-photo"].exists()  # company B's message still shows it
    blobs = await world.ids(MediaBlob, "sha256")
    assert hashlib.sha256(b"shared-photo").hexdigest() in blobs
    assert hashlib.sha256(b"only-a").hexdigest() not in blobs


async def test_attachment_files_go_before_their_messages_which_show_removed(world: World) -> None:
    await seed_synced_chat(world)
    a = world.a

    [outcome] = await apply_retention(run_ctx(deps_over(world.engine)), now=NOW)

    assert outcome.attachments == 1 and not world.files["twenty"].exists()
    assert world.files["recent"].exists()
    async with world.engine.connect() as connection:
        row = (
            (
                await connection.execute(
                    select(table_of(MessageMediaRow)).where(
                        table_of(MessageMediaRow).c.message_id == a.messages["twenty-days"]
                    )
                )
            )
            .mappings()
            .one()
        )
    assert row["state"] == MEDIA_REMOVED and row["sha256"] is None
    assert hashlib.sha256(b"twenty").hexdigest() not in await world.ids(MediaBlob, "sha256")
    # The chat view and the panel keep the message and offer no link to a file that is gone.
    history = SqlChatHistory(world.engine)
    page = {m.id: m for m in await history.page(a.chats["maria"], before_id=None, limit=50)}
    assert page[a.messages["twenty-days"]].text == "text twenty-days"
    assert page[a.messages["twenty-days"]].media_state == MEDIA_REMOVED
    assert page[a.messages["yesterday"]].media_state == "stored"
    assert await history.media_file(a.id, a.chats["maria"], a.messages["twenty-days"]) is None
    latest = {
        m.id: m for m in await SqlConversationStore(world.engine).latest_messages(a.id, [a.chats["maria"]])
    }
    assert latest[a.messages["twenty-days"]].media_stored is False
    assert latest[a.messages["twenty-days"]].media_removed is True  # the panel says "removed by retention"
    assert latest[a.messages["yesterday"]].media_stored is True
    assert latest[a.messages["yesterday"]].media_removed is False


async def test_what_pipedrive_does_not_have_yet_is_kept_until_it_has(world: World) -> None:
    a = world.a
    await world.chat(a, "dirty", cursor=0)  # written once, changed since: the day waits for its flush
    await world.message(a, "dirty", "dirty-1", OLD, blob="dirty-photo")
    await world.set_cursor(a, "dirty")
    await world.day(a, "dirty", date(2026, 10, 20), dirty=True)
    await world.chat(a, "behind", cursor=0)  # the engine has not folded these yet (id above the cursor)
    await world.message(a, "behind", "behind-1", OLD)
    await world.chat(a, "never", cursor=None)  # the engine never looked at this chat
    await world.message(a, "never", "never-1", OLD)
    await world.chat(a, "busy", cursor=0, lease="worker:host:1")  # a sync holds the chat right now
    await world.message(a, "busy", "busy-1", OLD)
    await world.set_cursor(a, "busy")
    await world.chat(a, "half", cursor=0)  # one old day, half folded: the whole day waits
    half_1 = await world.message(a, "half", "half-1", OLD)
    await world.message(a, "half", "half-2", OLD + timedelta(hours=1))
    async with world.engine.begin() as connection:
        await connection.execute(
            update(table_of(SyncChatLink))
            .where(table_of(SyncChatLink).c.chat_id == a.chats["half"])
            .values(cursor=half_1)
        )

    [outcome] = await apply_retention(run_ctx(deps_over(world.engine)), now=NOW)

    assert set(a.messages.values()) <= await world.ids(Message)
    assert outcome.messages == 0 and outcome.attachments == 0
    # dirty, behind and half for the messages, and the dirty day once more for its photo; busy + never
    assert outcome.days_waiting == 4 and outcome.chats_busy == 2
    assert world.files["dirty-photo"].exists()
    async with world.engine.connect() as connection:
        lease = (
            await connection.execute(
                select(table_of(SyncChatLink).c.lease_owner).where(
                    table_of(SyncChatLink).c.chat_id == a.chats["busy"]
                )
            )
        ).scalar()
    assert lease == "worker:host:1"  # the sync engine's lease is not taken over

    # Once the flush wrote the day and the engine folded the rest, the next run deletes them.
    async with world.engine.begin() as connection:
        await connection.execute(update(table_of(SyncDayActivity)).values(dirty=False, dirty_since=None))
        await connection.execute(update(table_of(SyncChatLink)).values(lease_owner="", lease_until=None))
    for chat in ("behind", "half"):
        await world.set_cursor(a, chat)
    [again] = await apply_retention(run_ctx(deps_over(world.engine)), now=NOW)
    assert again.messages == 5 and again.chats_busy == 1  # "never" still waits for the engine
    assert await world.ids(Message) == {a.messages["never-1"]}
    assert not world.files["dirty-photo"].exists()


async def test_pending_outgoing_messages_and_webhooks_stay_settled_old_ones_go(world: World) -> None:
    a, b = world.a, world.b
    for company in (a, b):
        for status in ("queued", "sending", "sent", "failed"):
            await world.insert(
                Outbox,
                client_ref=f"{company.session}-{status}",
                company_id=company.id,
                account_id=company.account_id,
                to_chat="+4917655501234",
                text="hello",
                status=status,
                created_at=OLD,
                updated_at=OLD,
            )
        await world.insert(
            Outbox,
            client_ref=f"{company.session}-recent",
            company_id=company.id,
            account_id=company.account_id,
            to_chat="+4917655501234",
            status="sent",
            created_at=YESTERDAY,
            updated_at=YESTERDAY,
        )
        for state in ("pending", "processed", "rejected"):
            await world.insert(
                InboundEvent,
                transport="waha",
                event_key=f"{company.session}-{state}",
                session_name=company.session,
                body=b'{"text": "hello"}',
                state=state,
                received_at=OLD,
            )

    [outcome] = await apply_retention(run_ctx(deps_over(world.engine)), now=NOW)

    assert (outcome.outgoing, outcome.webhooks) == (2, 2)
    async with world.engine.connect() as connection:
        refs = set((await connection.execute(select(table_of(Outbox).c.client_ref))).scalars())
        events = set((await connection.execute(select(table_of(InboundEvent).c.event_key))).scalars())
    assert {r for r in refs if r.startswith(a.session)} == {
        f"{a.session}-{s}" for s in ("queued", "sending", "recent")
    }
    assert len([r for r in refs if r.startswith(b.session)]) == 5
    assert {e for e in events if e.startswith(a.session)} == {f"{a.session}-pending"}
    assert len([e for e in events if e.startswith(b.session)]) == 3


async def test_running_again_deletes_nothing_more_and_forever_deletes_nothing(world: World) -> None:
    await seed_synced_chat(world)
    await apply_retention(run_ctx(deps_over(world.engine)), now=NOW)
    left = await world.ids(Message)
    [again] = await apply_retention(run_ctx(deps_over(world.engine)), now=NOW)
    assert again.as_dict() == {
        "messages": 0,
        "attachments": 0,
        "files": 0,
        "outgoing": 0,
        "webhooks": 0,
        "days_waiting": 0,
        "chats_busy": 0,
    }
    assert await world.ids(Message) == left

    await SqlCompanySettingsStore(world.engine).save(world.a.id, CompanySettingsValues())  # forever
    assert await apply_retention(run_ctx(deps_over(world.engine)), now=NOW + timedelta(days=400)) == []
    assert await world.ids(Message) == left


def test_retention_runs_daily() -> None:
    [job] = [c for c in CRON_JOBS if c.name == "apply_retention"]
    assert (job.hour, job.minute, job.second) == ({2}, {47}, {0})
