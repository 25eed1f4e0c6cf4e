from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from server.storage.engine import make_async_engine
from server.storage.inbound_events import SqlInboundEventStore
from server.storage.tables import utcnow


@pytest.fixture
async def store(migrated_database_url: str) -> AsyncIterator[SqlInboundEventStore]:
    engine: AsyncEngine = make_async_engine(migrated_database_url)
    yield SqlInboundEventStore(engine)
    await engine.dispose()


async def test_an_event_is_stored_once_under_its_key(store: SqlInboundEventStore) -> None:
    first = await store.record(transport="waha", event_key="waha:evt_1", session_name="s1", body=b'{"a":1}')
    again = await store.record(transport="waha", event_key="waha:evt_1", session_name="s1", body=b'{"a":1}')
    assert first[1] is True
    assert again == (first[0], False)
    stored = await store.get(first[0])
    assert stored is not None
    assert (stored.body, stored.state, stored.attempts) == (b'{"a":1}', "pending", 0)


async def test_concurrent_redeliveries_store_one_row(store: SqlInboundEventStore) -> None:
    results = await asyncio.gather(
        *(
            store.record(transport="waha", event_key="waha:evt_x", session_name="s", body=b"{}")
            for _ in range(6)
        )
    )
    assert len({event_id for event_id, _ in results}) == 1
    assert sum(new for _, new in results) == 1


async def test_binary_bodies_round_trip_exactly(store: SqlInboundEventStore) -> None:
    body = bytes(range(256)) + "ü\u202e<script>".encode()
    event_id, _ = await store.record(transport="cloud", event_key="cloud:b", session_name="", body=body)
    stored = await store.get(event_id)
    assert stored is not None and stored.body == body


async def test_outcomes_are_recorded_and_pending_ones_found(store: SqlInboundEventStore) -> None:
    done, _ = await store.record(transport="waha", event_key="k1", session_name="s", body=b"{}")
    waiting, _ = await store.record(transport="waha", event_key="k2", session_name="s", body=b"{}")
    await store.mark(done, "processed")
    assert await store.pending_ids(older_than=utcnow() + timedelta(seconds=1)) == [waiting]
    assert await store.pending_ids(older_than=utcnow() - timedelta(hours=1)) == []
    stored = await store.get(done)
    assert stored is not None and (stored.state, stored.attempts) == ("processed", 1)
    assert stored.body == b""  # processed in full: the inbox holds it, the key still stops a redelivery
    assert await store.record(transport="waha", event_key="k1", session_name="s", body=b"{}") == (done, False)
    await store.mark(waiting, "rejected", reason="malformed_webhook", detail="x" * 5000)
    rejected = await store.get(waiting)
    assert rejected is not None and rejected.reason == "malformed_webhook" and len(rejected.detail) == 1000
