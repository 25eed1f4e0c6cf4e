"""Grace-period deletion: a company whose last installation went away N days ago loses all its data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, insert, select
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
from server.storage.migrate import upgrade
from server.storage.tables import (
    Chat,
    Company,
    CompanySettings,
    InboundEvent,
    Installation,
    Message,
    WhatsAppAccount,
)

TABLES = [Company, CompanySettings, Installation, WhatsAppAccount, Chat, Message, InboundEvent]
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
TOKENS = StoredTokens(
    "v1u:a", "1:1:r", NOW + timedelta(hours=1), frozenset({"base"}), "https://x.pipedrive.com"
)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    upgrade(database_url)
    engine = make_async_engine(database_url)
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
            insert(Chat.__table__).values(  # type: ignore[attr-defined]
                account_id=account.id, chat_key=f"{pipedrive_id}@c.us", created_at=NOW
            )
        )
        assert inserted.inserted_primary_key is not None
        chat_id = inserted.inserted_primary_key[0]
        await connection.execute(
            insert(Message.__table__).values(  # type: ignore[attr-defined]
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
            insert(InboundEvent.__table__).values(  # type: ignore[attr-defined]
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
            sa_table = table.__table__  # type: ignore[attr-defined]
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

    ctx = {"engine": engine, "installations": store, "data_retention_days": 30}
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
    ctx = {"engine": engine, "installations": store, "data_retention_days": 30}
    assert await purge_uninstalled_companies(ctx, now=NOW) == []
    assert (await counts(engine))["message"] == 1


def test_the_purge_runs_daily() -> None:
    [purge] = [c for c in CRON_JOBS if c.name == "purge_uninstalled_companies"]
    assert (purge.hour, purge.minute, purge.second) == ({3}, {17}, {0})
