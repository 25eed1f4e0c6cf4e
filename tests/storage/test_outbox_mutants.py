"""The outbox store, column by column: what a create stores, what each step changes, and that it changes
only the row it names. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.models import OutboxEntry
from server.storage.accounts import SqlAccountStore
from server.storage.companies import SqlCompanyStore
from server.storage.engine import make_async_engine
from server.storage.migrate import upgrade
from server.storage.outbox import SqlOutboxStore
from server.storage.tables import Outbox, table_of

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    upgrade(database_url)
    engine = make_async_engine(database_url)
    yield engine
    await engine.dispose()


async def company_with_number(engine: AsyncEngine, pipedrive_company_id: int) -> tuple[int, int]:
    company = await SqlCompanyStore(engine).upsert(
        pipedrive_company_id, name=f"c{pipedrive_company_id}", api_domain="", timezone="UTC"
    )
    account = await SqlAccountStore(engine).create(
        company_id=company.id, owner_user_id=1, transport="waha", session_name=f"wp-{pipedrive_company_id}"
    )
    return company.id, account.id


async def create(
    outbox: SqlOutboxStore, company: tuple[int, int], ref: str, **values: Any
) -> tuple[OutboxEntry, bool]:
    fields: dict[str, Any] = {
        "client_ref": ref,
        "company_id": company[0],
        "account_id": company[1],
        "requested_by": 7,
        "to_chat": "+4917655501234",
        "text": "Hallo",
        "fingerprint": "fp-" + ref,
    }
    fields.update(values)
    return await outbox.create(**fields)


async def raw(engine: AsyncEngine, outbox_id: int) -> dict[str, Any]:
    """The row as stored, including the columns an ``OutboxEntry`` does not carry."""
    async with engine.connect() as connection:
        table = table_of(Outbox)
        result = await connection.execute(select(table).where(table.c.id == outbox_id))
        return dict(result.mappings().one())


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def test_a_create_stores_the_request_queued(engine: AsyncEngine) -> None:
    outbox = SqlOutboxStore(engine)
    acme = await company_with_number(engine, 101)
    before = datetime.now(UTC)
    entry, created = await create(
        outbox, acme, "ref-00001", person_id=11, deal_id=12, file_id=13, file_name="offer.pdf"
    )
    after = datetime.now(UTC)
    assert created is True
    assert entry == OutboxEntry(
        id=entry.id,
        client_ref="ref-00001",
        company_id=acme[0],
        account_id=acme[1],
        requested_by=7,
        to_chat="+4917655501234",
        person_id=11,
        deal_id=12,
        text="Hallo",
        file_id=13,
        file_name="offer.pdf",
        status="queued",
        attempts=0,
        attempt_started_at=None,
        wa_message_id=None,
        message_key=None,
        error_reason="",
        error_message="",
        created_at=entry.created_at,
    )
    assert before - timedelta(seconds=1) <= aware(entry.created_at) <= after + timedelta(seconds=1)
    row = await raw(engine, entry.id)
    assert row["fingerprint"] == "fp-ref-00001"
    assert aware(row["updated_at"]) == aware(row["created_at"])


async def test_optional_fields_default_to_nothing(engine: AsyncEngine) -> None:
    entry, _ = await create(SqlOutboxStore(engine), await company_with_number(engine, 101), "ref-00001")
    assert (entry.person_id, entry.deal_id, entry.file_id, entry.file_name) == (None, None, None, "")


async def test_a_long_file_name_is_cut_to_255_characters(engine: AsyncEngine) -> None:
    name = "a" * 250 + "bcdefghij.pdf"
    entry, _ = await create(
        SqlOutboxStore(engine), await company_with_number(engine, 101), "ref-00001", file_name=name
    )
    assert entry.file_name == name[:255]


async def test_the_same_client_ref_is_one_row_whatever_the_second_request_says(engine: AsyncEngine) -> None:
    outbox = SqlOutboxStore(engine)
    acme = await company_with_number(engine, 101)
    first, created = await create(outbox, acme, "ref-00001")
    again, created_again = await create(outbox, acme, "ref-00001", text="Changed", to_chat="+4915112345678")
    assert (created, created_again) == (True, False)
    assert again == first
    other, created_other = await create(outbox, acme, "ref-00002")
    assert created_other is True and other.id != first.id


async def test_lookups_find_the_row_they_name_and_only_in_its_company(engine: AsyncEngine) -> None:
    outbox = SqlOutboxStore(engine)
    acme, globex = await company_with_number(engine, 101), await company_with_number(engine, 202)
    one, _ = await create(outbox, acme, "ref-00001")
    two, _ = await create(outbox, globex, "ref-00002")
    assert await outbox.by_id(one.id) == one
    assert await outbox.by_id(two.id) == two
    assert await outbox.by_id(two.id + 1) is None
    assert await outbox.get(acme[0], one.id) == one
    assert await outbox.get(globex[0], two.id) == two
    assert await outbox.get(globex[0], one.id) is None
    assert await outbox.get(acme[0], two.id) is None


async def test_a_persons_entries_come_newest_first_twenty_at_most(engine: AsyncEngine) -> None:
    outbox = SqlOutboxStore(engine)
    acme = await company_with_number(engine, 101)
    ids = [(await create(outbox, acme, f"ref-{n:05}", person_id=11))[0].id for n in range(22)]
    await create(outbox, acme, "ref-other", person_id=12)
    assert [e.id for e in await outbox.for_person(acme[0], 11)] == ids[::-1][:20]
    assert [e.id for e in await outbox.for_person(acme[0], 11, limit=3)] == ids[::-1][:3]


async def test_an_attempt_counts_and_marks_the_row_sending(engine: AsyncEngine) -> None:
    outbox = SqlOutboxStore(engine)
    acme = await company_with_number(engine, 101)
    entry, _ = await create(outbox, acme, "ref-00001")
    other, _ = await create(outbox, acme, "ref-00002")
    await outbox.start_attempt(entry.id, AT)
    await outbox.start_attempt(entry.id, AT + timedelta(minutes=1))
    started = await outbox.by_id(entry.id)
    assert started is not None
    assert (started.status, started.attempts) == ("sending", 2)
    assert started.attempt_started_at is not None
    assert aware(started.attempt_started_at) == AT + timedelta(minutes=1)
    assert aware((await raw(engine, entry.id))["updated_at"]) == AT + timedelta(minutes=1)
    assert await outbox.by_id(other.id) == other


async def test_sent_stores_the_message_id_and_clears_an_earlier_error(engine: AsyncEngine) -> None:
    outbox = SqlOutboxStore(engine)
    acme = await company_with_number(engine, 101)
    entry, _ = await create(outbox, acme, "ref-00001")
    other, _ = await create(outbox, acme, "ref-00002")
    await outbox.start_attempt(entry.id, AT)
    await outbox.mark_failed(entry.id, "upstream", "WAHA did not answer")
    await outbox.start_attempt(entry.id, AT)  # updated_at back in the past: the mark must move it
    before = datetime.now(UTC)
    wamid = "true_4917655501234@c.us_" + "A" * 400
    await outbox.mark_sent(entry.id, wamid, "key-1")
    sent = await outbox.by_id(entry.id)
    assert sent is not None
    assert (sent.status, sent.wa_message_id, sent.message_key) == ("sent", wamid[:300], "key-1")
    assert (sent.error_reason, sent.error_message, sent.attempts) == ("", "", 2)
    updated = aware((await raw(engine, entry.id))["updated_at"])
    assert before - timedelta(seconds=1) <= updated <= datetime.now(UTC) + timedelta(seconds=1)
    assert await outbox.by_id(other.id) == other


async def test_failed_stores_the_reason_and_message_cut_to_their_columns(engine: AsyncEngine) -> None:
    outbox = SqlOutboxStore(engine)
    acme = await company_with_number(engine, 101)
    entry, _ = await create(outbox, acme, "ref-00001")
    other, _ = await create(outbox, acme, "ref-00002")
    reason, message = "r" * 63 + "stu", "m" * 499 + "nop"
    await outbox.start_attempt(entry.id, AT)  # updated_at in the past: the mark must move it
    before = datetime.now(UTC)
    await outbox.mark_failed(entry.id, reason, message)
    failed = await outbox.by_id(entry.id)
    assert failed is not None
    assert (failed.status, failed.error_reason, failed.error_message) == (
        "failed",
        reason[:64],
        message[:500],
    )
    assert (failed.wa_message_id, failed.attempts) == (None, 1)
    updated = aware((await raw(engine, entry.id))["updated_at"])
    assert before - timedelta(seconds=1) <= updated <= datetime.now(UTC) + timedelta(seconds=1)
    assert await outbox.by_id(other.id) == other
