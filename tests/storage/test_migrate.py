from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select

from server.domain.errors import NotMigrated
from server.domain.whatsapp import InboundMessage, MessageReceived, Peer
from server.services.ingest import ingest_events
from server.storage.accounts import SqlAccountStore
from server.storage.companies import SqlCompanyStore
from server.storage.engine import make_async_engine, make_sync_engine
from server.storage.inbox import SqlInboxStore
from server.storage.migrate import ensure_migrated, head_revisions, upgrade
from server.storage.tables import Company, WhatsAppAccount, table_of


async def test_unmigrated_database_is_refused_with_a_clear_message(database_url: str) -> None:
    engine = make_async_engine(database_url)
    try:
        with pytest.raises(NotMigrated, match=r"not migrated \(found no schema.*Run `wapipe migrate`"):
            await ensure_migrated(engine)
    finally:
        await engine.dispose()


async def test_upgrade_creates_every_table_and_reaches_head(database_url: str) -> None:
    upgrade(database_url)
    sync_engine = make_sync_engine(database_url)
    try:
        tables = set(inspect(sync_engine).get_table_names())
    finally:
        sync_engine.dispose()
    assert {"company", "worker_heartbeat", "alembic_version"} <= tables
    engine = make_async_engine(database_url)
    try:
        await ensure_migrated(engine)
    finally:
        await engine.dispose()


async def test_a_database_behind_head_is_refused(database_url: str) -> None:
    upgrade(database_url, "0001")
    engine = make_async_engine(database_url)
    try:
        with pytest.raises(NotMigrated, match="found 0001"):
            await ensure_migrated(engine)
    finally:
        await engine.dispose()


def schema_of(database_url: str) -> dict[str, object]:
    """Every table's columns, primary key, indexes, unique constraints and foreign keys."""
    engine = make_sync_engine(database_url)
    try:
        inspector = inspect(engine)
        return {
            table: {
                "columns": [
                    (column["name"], str(column["type"]), column["nullable"])
                    for column in inspector.get_columns(table)
                ],
                "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
                "indexes": sorted(
                    (index["name"] or "", tuple(index["column_names"]), bool(index["unique"]))
                    for index in inspector.get_indexes(table)
                ),
                "unique": sorted(
                    tuple(constraint["column_names"])
                    for constraint in inspector.get_unique_constraints(table)
                ),
                "foreign_keys": sorted(
                    (tuple(key["constrained_columns"]), key["referred_table"], tuple(key["referred_columns"]))
                    for key in inspector.get_foreign_keys(table)
                ),
            }
            for table in inspector.get_table_names()
        }
    finally:
        engine.dispose()


def test_upgrade_twice_is_harmless(database_url: str) -> None:
    upgrade(database_url)
    before = schema_of(database_url)
    company = table_of(Company)
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    engine = make_sync_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                company.insert().values(
                    pipedrive_company_id=4711, name="Acme Sales GmbH", created_at=at, updated_at=at
                )
            )
    finally:
        engine.dispose()

    upgrade(database_url)

    assert schema_of(database_url) == before
    assert {"company", "message", "outbox", "alembic_version"} <= set(before)
    engine = make_sync_engine(database_url)
    try:
        with engine.connect() as connection:
            revisions = set(MigrationContext.configure(connection).get_current_heads())
            rows = connection.execute(select(company.c.pipedrive_company_id, company.c.name)).all()
    finally:
        engine.dispose()
    assert revisions == head_revisions() and len(revisions) == 1
    assert [tuple(row) for row in rows] == [(4711, "Acme Sales GmbH")]


def test_one_head() -> None:
    assert len(head_revisions()) == 1


async def test_numbers_linked_before_the_catch_up_mark_start_from_their_newest_message(
    database_url: str,
) -> None:
    upgrade(database_url, "0024")
    engine = make_async_engine(database_url)
    at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    try:
        company = await SqlCompanyStore(engine).upsert(1, name="A", api_domain="a", timezone="UTC")
        accounts = table_of(WhatsAppAccount)
        async with engine.begin() as connection:
            for session in ("with-messages", "without"):
                values = dict(company_id=company.id, owner_user_id=1, transport="waha", session_name=session)
                values |= dict(display_name="", status="connected", status_detail="")
                await connection.execute(
                    accounts.insert().values(**values, created_at=at, updated_at=at)  # the columns of 0024
                )
        inbox = SqlInboxStore(engine)
        contact = Peer("4917655501234@s.whatsapp.net", e164="+4917655501234")
        sent = [at + timedelta(minutes=minutes) for minutes in (3, 50, 7)]
        for number, sent_at in enumerate(sent):
            message = InboundMessage("with-messages", f"WA{number}", contact, contact, False, sent_at, "hi")
            await ingest_events([MessageReceived(message)], transport="waha", store=inbox)
    finally:
        await engine.dispose()

    upgrade(database_url)

    engine = make_async_engine(database_url)
    try:
        stored = SqlAccountStore(engine)
        marks = {a.session_name: a.caught_up_until for a in await stored.for_company(company.id)}
    finally:
        await engine.dispose()
    assert marks == {"with-messages": at + timedelta(minutes=50), "without": None}
