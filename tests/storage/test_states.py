"""The outbox's statuses and the stored deliveries' states read back as enums, and are stored as the same
words as before they were enums (so rows written by earlier versions read the same)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.models import InboundEventState, OutboxStatus
from server.storage.accounts import SqlAccountStore
from server.storage.companies import SqlCompanyStore
from server.storage.engine import make_async_engine
from server.storage.inbound_events import SqlInboundEventStore
from server.storage.outbox import SqlOutboxStore
from server.storage.tables import InboundEvent, Outbox, table_of


@pytest.fixture
async def engine(migrated_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_async_engine(migrated_database_url)
    yield engine
    await engine.dispose()


async def _stored(
    engine: AsyncEngine, column: str, row_id: int, model: type[Outbox] | type[InboundEvent]
) -> str:
    table = table_of(model)
    async with engine.connect() as connection:
        value = (await connection.execute(select(table.c[column]).where(table.c.id == row_id))).scalar_one()
    assert type(value) is str  # the plain word, as a driver reads it
    return value


async def _outbox_status(engine: AsyncEngine, outbox: SqlOutboxStore, entry_id: int) -> tuple[object, str]:
    entry = await outbox.by_id(entry_id)
    assert entry is not None
    return entry.status, await _stored(engine, "status", entry_id, Outbox)


async def _event_state(
    engine: AsyncEngine, events: SqlInboundEventStore, event_id: int
) -> tuple[object, str]:
    event = await events.get(event_id)
    assert event is not None
    return event.state, await _stored(engine, "state", event_id, InboundEvent)


async def test_outbox_statuses_are_enums_stored_as_their_words(engine: AsyncEngine) -> None:
    company = await SqlCompanyStore(engine).upsert(7, name="Acme", api_domain="", timezone="UTC")
    account = await SqlAccountStore(engine).create(
        company_id=company.id, owner_user_id=1, transport="waha", session_name="wp-acme"
    )
    outbox = SqlOutboxStore(engine)
    entry, _ = await outbox.create(
        client_ref="ref-1",
        company_id=company.id,
        account_id=account.id,
        requested_by=1,
        to_chat="4915111111111@c.us",
        text="Hello",
        fingerprint="f",
    )
    seen = [await _outbox_status(engine, outbox, entry.id)]
    await outbox.start_attempt(entry.id, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    seen.append(await _outbox_status(engine, outbox, entry.id))
    await outbox.mark_sent(entry.id, "wamid.1", "true_4915111111111@c.us_1")
    seen.append(await _outbox_status(engine, outbox, entry.id))
    await outbox.mark_failed(entry.id, "gateway_refused", "WAHA refused the message")
    seen.append(await _outbox_status(engine, outbox, entry.id))
    assert seen == [
        (OutboxStatus.QUEUED, "queued"),
        (OutboxStatus.SENDING, "sending"),
        (OutboxStatus.SENT, "sent"),
        (OutboxStatus.FAILED, "failed"),
    ]
    assert all(type(status) is OutboxStatus for status, _ in seen)


async def test_delivery_states_are_enums_stored_as_their_words(engine: AsyncEngine) -> None:
    events = SqlInboundEventStore(engine)
    event_id, _ = await events.record(transport="waha", event_key="waha:1", session_name="s", body=b"{}")
    seen = [await _event_state(engine, events, event_id)]
    for state in (InboundEventState.FAILED, InboundEventState.REJECTED, InboundEventState.PROCESSED):
        await events.mark(event_id, state, reason="r" if state is not InboundEventState.PROCESSED else "")
        seen.append(await _event_state(engine, events, event_id))
    assert seen == [
        (InboundEventState.PENDING, "pending"),
        (InboundEventState.FAILED, "failed"),
        (InboundEventState.REJECTED, "rejected"),
        (InboundEventState.PROCESSED, "processed"),
    ]
    assert all(type(state) is InboundEventState for state, _ in seen)


async def test_a_delivery_state_that_is_none_of_the_four_is_refused(engine: AsyncEngine) -> None:
    events = SqlInboundEventStore(engine)
    event_id, _ = await events.record(transport="waha", event_key="waha:2", session_name="s", body=b"{}")
    with pytest.raises(ValueError, match="'done' is not a valid InboundEventState"):
        await events.mark(event_id, "done")  # type: ignore[arg-type]
    assert await _stored(engine, "state", event_id, InboundEvent) == "pending"
