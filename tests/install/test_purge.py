"""Grace-period deletion: a company whose last installation went away N days ago loses all its data."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from server.crypto import SecretBox
from server.domain.installations import StoredTokens
from server.jobs.functions import CRON_JOBS
from server.jobs.purge import purge_uninstalled_companies
from server.storage.accounts import SqlAccountStore
from server.storage.companies import SqlCompanyStore
from server.storage.company_setup import SqlCompanySetupStore
from server.storage.engine import make_async_engine
from server.storage.installations import SqlInstallationStore
from server.storage.tables import (
    AuditLog,
    Chat,
    Company,
    CompanySettings,
    EmbeddedSession,
    InboundEvent,
    Installation,
    MediaBlob,
    MediaUpload,
    Message,
    MessageMediaRow,
    Outbox,
    SessionLease,
    WhatsAppAccount,
    table_of,
)
from server.storage.tables_campaigns import (
    CampaignRecipientRow,
    CampaignRow,
    CampaignSenderRow,
    CampaignSettingsRow,
    OptOutRow,
    WaitingOptOutRow,
)
from server.storage.tables_changes import (
    FileDeletion,
    MessageChange,
    MessageReaction,
    WaitingChange,
    WaitingReaction,
)
from server.storage.tables_cloud_templates import CloudTemplateMapping
from server.storage.tables_sync import (
    PhoneIndexEntry,
    SyncChatLink,
    SyncCompanyState,
    SyncDayActivity,
    SyncIntent,
    SyncProblemRow,
)
from server.storage.tables_templates import MessageTemplateRow
from tests.job_deps import deps_over, run_ctx

TABLES: list[type[SQLModel]] = [
    Company,
    CompanySettings,
    Installation,
    WhatsAppAccount,
    Chat,
    Message,
    InboundEvent,
]
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
TOKENS = StoredTokens(
    "v1u:a", "1:1:r", NOW + timedelta(hours=1), frozenset({"base"}), "https://x.pipedrive.com"
)


@pytest.fixture
async def engine(migrated_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_async_engine(migrated_database_url)
    yield engine
    await engine.dispose()


async def seed_company(engine: AsyncEngine, store: SqlInstallationStore, pipedrive_id: int) -> int:
    """A company with two installations, settings, one number with a chat, a message and a webhook."""
    company = await SqlCompanyStore(engine).upsert(
        pipedrive_id, name=f"c{pipedrive_id}", api_domain="", timezone="UTC"
    )
    for user in (1, 2):
        await store.upsert(company.id, user, name="", email="", is_admin=user == 1, tokens=TOKENS)
    await SqlCompanySetupStore(engine).ensure_defaults(company.id)
    session = f"wp-{pipedrive_id}"
    account = await SqlAccountStore(engine).create(
        company_id=company.id, owner_user_id=1, transport="waha", session_name=session
    )
    async with engine.begin() as connection:
        inserted = await connection.execute(
            insert(table_of(Chat)).values(
                account_id=account.id, chat_key=f"{pipedrive_id}@c.us", created_at=NOW
            )
        )
        assert inserted.inserted_primary_key is not None
        chat_id = inserted.inserted_primary_key[0]
        await connection.execute(
            insert(table_of(Message)).values(
                account_id=account.id,
                chat_id=chat_id,
                message_key=f"m{pipedrive_id}",
                wa_message_id=f"m{pipedrive_id}",
                sent_at=NOW,
                created_at=NOW,
                updated_at=NOW,
            )
        )
        await connection.execute(
            insert(table_of(InboundEvent)).values(
                transport="waha",
                event_key=f"e{pipedrive_id}",
                session_name=session,
                body=b"{}",
                received_at=NOW,
            )
        )
    return company.id


async def counts(engine: AsyncEngine) -> dict[str, int]:
    result: dict[str, Any] = {}
    async with engine.connect() as connection:
        for table in TABLES:
            sa_table = table_of(table)
            result[sa_table.name] = (
                await connection.execute(select(func.count()).select_from(sa_table))
            ).scalar()
    return result


async def test_a_company_gone_past_the_retention_period_is_deleted_and_others_stay(
    engine: AsyncEngine,
) -> None:
    store = SqlInstallationStore(engine, SecretBox([Fernet.generate_key().decode()]))
    leaving = await seed_company(engine, store, 100)
    staying = await seed_company(engine, store, 200)
    recent = await seed_company(engine, store, 300)
    for user in (1, 2):
        await store.mark_uninstalled(leaving, user, at=NOW - timedelta(days=31))
        await store.mark_uninstalled(recent, user, at=NOW - timedelta(days=29))
    await store.mark_uninstalled(staying, 1, at=NOW - timedelta(days=90))  # user 2 is still installed
    before = await counts(engine)
    assert before == {name: 6 if name == "installation" else 3 for name in before}

    ctx = run_ctx(deps_over(engine, installations=store, data_retention_days=30))
    assert await purge_uninstalled_companies(ctx, now=NOW) == [leaving]
    after = await counts(engine)
    assert after == {
        "company": 2,
        "company_settings": 2,
        "installation": 4,
        "whatsapp_account": 2,
        "chat": 2,
        "message": 2,
        "inbound_event": 2,
    }
    assert await SqlCompanyStore(engine).get(100) is None
    async with engine.connect() as connection:  # whatever tables exist by now, none keeps the company
        for table in SQLModel.metadata.sorted_tables:
            if "company_id" in table.c:
                query = select(func.count()).select_from(table).where(table.c.company_id == leaving)
                assert (await connection.execute(query)).scalar() == 0, table.name
    assert await SqlCompanyStore(engine).get(200) is not None
    assert await purge_uninstalled_companies(ctx, now=NOW) == []  # running it again deletes nothing more

    assert await purge_uninstalled_companies(ctx, now=NOW + timedelta(days=2)) == [recent]


async def test_reinstalling_within_the_period_keeps_the_data(engine: AsyncEngine) -> None:
    store = SqlInstallationStore(engine, SecretBox([Fernet.generate_key().decode()]))
    company = await seed_company(engine, store, 100)
    for user in (1, 2):
        await store.mark_uninstalled(company, user, at=NOW - timedelta(days=40))
    await store.upsert(company, 2, name="", email="", is_admin=False, tokens=TOKENS)  # came back
    ctx = run_ctx(deps_over(engine, installations=store, data_retention_days=30))
    assert await purge_uninstalled_companies(ctx, now=NOW) == []
    assert (await counts(engine))["message"] == 1


def test_the_purge_runs_daily() -> None:
    [purge] = [c for c in CRON_JOBS if c.name == "purge_uninstalled_companies"]
    assert (purge.hour, purge.minute, purge.second) == ({3}, {17}, {0})


# --- every table -------------------------------------------------------------------------------------

# Job-runner liveness and used OAuth states: no company's data.
NOT_COMPANY_DATA = {"worker_heartbeat", "oauth_state_use", "media_deletion"}


def blob(media_dir: Path, name: str) -> tuple[str, Path]:
    sha = hashlib.sha256(name.encode()).hexdigest()
    path = media_dir / sha[:2] / sha
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(name.encode())
    return sha, path


async def fill_every_table(
    engine: AsyncEngine, company_id: int, media_dir: Path, shared_sha: str
) -> set[str]:
    """A row in each table that holds company data (two attachments: one its own, one shared with the
    other company); the names of the tables filled."""
    own_sha, own_path = blob(media_dir, f"own-{company_id}")
    filled: set[str] = set()

    async def add(model: Any, **values: Any) -> Any:
        sa_table = table_of(model)
        filled.add(sa_table.name)
        async with engine.begin() as connection:
            result = await connection.execute(insert(sa_table).values(**values))
        key = result.inserted_primary_key
        return key[0] if key else None

    session = f"wp-every-{company_id}"
    await add(CompanySettings, company_id=company_id)
    await add(Installation, company_id=company_id, pipedrive_user_id=7, status="uninstalled")
    account = await add(
        WhatsAppAccount, company_id=company_id, owner_user_id=7, transport="waha", session_name=session
    )
    await add(
        InboundEvent, transport="waha", event_key=f"every-{company_id}", session_name=session, body=b"{}"
    )
    await add(SessionLease, session_key=session, owner="worker:host:1", token=3, expires_at=None)
    await add(
        EmbeddedSession,
        session_name=session,
        company_id=company_id,
        account_id=account,
        qr_encrypted="",
        pairing_phone="",
        pairing_code_encrypted="",
        logout_requested=False,
        device_encrypted=b"sealed",
        device_token=3,
    )
    chat = await add(Chat, account_id=account, chat_key=f"every-{company_id}@c.us", e164="+4917655501234")
    messages = [
        await add(
            Message,
            account_id=account,
            chat_id=chat,
            message_key=f"every-{company_id}-{n}",
            wa_message_id=f"every-{n}",
            media_kind="image",
            sent_at=NOW,
        )
        for n in (1, 2)
    ]
    await add(
        SyncChatLink, chat_id=chat, account_id=account, company_id=company_id, chat_key="k", person_id=5
    )
    await add(SyncDayActivity, chat_id=chat, day=NOW.date(), part=1, activity_id=9)
    await add(MessageChange, chat_id=chat, message_id=messages[0], created_at=NOW)
    await add(MessageReaction, message_id=messages[0], reactor_key="me", emoji="👍", reacted_at=NOW)
    await add(
        WaitingChange,
        account_id=account,
        message_key=f"{session}/in/WAWAIT",
        target_id="WAWAIT",
        kind="edited",
        text="waiting",
        changed_at=NOW,
    )
    await add(
        WaitingReaction,
        account_id=account,
        message_key=f"{session}/in/WAWAIT",
        target_id="WAWAIT",
        reactor_key="4917655501234@s.whatsapp.net",
        emoji="👍",
        reacted_at=NOW,
    )
    await add(FileDeletion, company_id=company_id, chat_id=chat, file_id=4)
    await add(SyncIntent, company_id=company_id, intent_key=f"every-{company_id}")
    await add(SyncProblemRow, company_id=company_id, chat_id=chat, reason="permission_denied")
    await add(SyncCompanyState, company_id=company_id)
    await add(PhoneIndexEntry, company_id=company_id, person_id=5, phones='["+4917655501234"]')
    await add(MediaBlob, sha256=own_sha, path=str(own_path), mime="image/png", size=10)
    async with engine.connect() as connection:
        shared_exists = (
            await connection.execute(
                select(table_of(MediaBlob)).where(table_of(MediaBlob).c.sha256 == shared_sha)
            )
        ).first()
    if shared_exists is None:
        await add(
            MediaBlob, sha256=shared_sha, path=str(media_dir / shared_sha[:2] / shared_sha), mime="image/png"
        )
    await add(MessageMediaRow, message_id=messages[0], state="stored", sha256=own_sha)
    await add(MessageMediaRow, message_id=messages[1], state="stored", sha256=shared_sha)
    await add(MediaUpload, company_id=company_id, sha256=own_sha, target="person", target_id=5, file_id=3)
    await add(
        Outbox, client_ref=f"every-{company_id}", company_id=company_id, account_id=account, to_chat="+49"
    )
    await add(AuditLog, company_id=company_id, action="settings.update")
    campaign = await add(CampaignRow, company_id=company_id, source_kind="person")
    await add(CampaignRecipientRow, campaign_id=campaign, company_id=company_id, position=0, person_id=5)
    await add(CampaignSenderRow, campaign_id=campaign, account_id=account, next_at=NOW)
    await add(OptOutRow, company_id=company_id, e164="+4917655501234", word="STOP")
    await add(
        WaitingOptOutRow,
        company_id=company_id,
        account_id=account,
        lid="254000825925805@lid",
        word="STOP",
        at=NOW,
        next_ask_at=NOW,
    )
    await add(CampaignSettingsRow, company_id=company_id, stop_words="STOP")
    await add(MessageTemplateRow, company_id=company_id, owner_user_id=7, name="welcome", text="Hi")
    await add(CloudTemplateMapping, company_id=company_id, template_key="order_update:en_US")
    return filled


async def left_long_ago(engine: AsyncEngine, company_id: int) -> None:
    """The company uninstalled WaPipe 31 days before ``NOW``: past a 30-day retention, due for the purge."""
    async with engine.begin() as connection:
        await connection.execute(
            update(table_of(Installation))
            .where(table_of(Installation).c.company_id == company_id)
            .values(uninstalled_at=NOW - timedelta(days=31))
        )


async def primary_keys(engine: AsyncEngine) -> dict[str, set[tuple[Any, ...]]]:
    keys: dict[str, set[tuple[Any, ...]]] = {}
    async with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            rows = await connection.execute(select(*table.primary_key.columns))
            keys[table.name] = {tuple(row) for row in rows}
    return keys


async def test_the_purge_leaves_nothing_of_the_company_in_any_table_or_on_disk(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    media_dir = tmp_path / "media"
    shared_sha, shared_path = blob(media_dir, "shared")
    companies = SqlCompanyStore(engine)
    empty = await primary_keys(engine)
    leaving = (await companies.upsert(100, name="leaving", api_domain="", timezone="UTC")).id
    filled = await fill_every_table(engine, leaving, media_dir, shared_sha)
    with_leaving = await primary_keys(engine)
    staying = (await companies.upsert(200, name="staying", api_domain="", timezone="UTC")).id
    await fill_every_table(engine, staying, media_dir, shared_sha)
    before = await primary_keys(engine)

    company_tables = {t.name for t in SQLModel.metadata.sorted_tables} - NOT_COMPANY_DATA
    assert company_tables - filled - {"company"} == set(), (
        "a table holds company data but this test does not fill it: add a row to fill_every_table and make "
        "server/storage/company_purge.py delete it"
    )
    leaving_rows = {name: with_leaving[name] - empty[name] for name in company_tables}
    leaving_rows["media"].discard((shared_sha,))  # the other company's message uses it too: it stays
    assert all(leaving_rows.values()), leaving_rows  # each table has a row of the leaving company

    await left_long_ago(engine, leaving)
    store = SqlInstallationStore(engine, SecretBox([Fernet.generate_key().decode()]))
    ctx = run_ctx(deps_over(engine, installations=store, data_retention_days=30))
    assert await purge_uninstalled_companies(ctx, now=NOW) == [leaving]

    after = await primary_keys(engine)
    for name in company_tables:
        assert not leaving_rows[name] & after[name], f"{name} still holds the purged company's rows"
        assert after[name] == before[name] - leaving_rows[name], f"{name}: the other company lost rows"
    own_leaving = media_dir / hashlib.sha256(f"own-{leaving}".encode()).hexdigest()[:2]
    assert not any(own_leaving.rglob("*")), "the purged company's own attachment is still on disk"
    assert shared_path.exists() and (shared_sha,) in after["media"]  # the other company still uses it
    assert (media_dir / hashlib.sha256(f"own-{staying}".encode()).hexdigest()[:2]).is_dir()
