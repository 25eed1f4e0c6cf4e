"""A chat's messages are committed in the order of their ids, on PostgreSQL too, where two workers store
messages of one chat at once. The sync folds a chat's messages in past the highest id it has seen: had a
message taken id 30, a second one id 31 and committed first, a sync between the two commits would have
moved past 30 and never read it.

Worker A stores a message and is held between its INSERT and its COMMIT (in a thread of its own, with its own
engine); worker B then stores another message of the same chat. B must wait for A's commit, and take the
later id."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select, text

from server.storage.accounts import SqlAccountStore
from server.storage.companies import SqlCompanyStore
from server.storage.engine import make_async_engine
from server.storage.inbox import SqlInboxStore
from server.storage.tables import Message, table_of
from tests.conftest import taken_database
from tests.storage.test_inbox import CONTACT, T0, message

BOUND_S = 30.0  # what a loaded machine may take for a step; never a figure of the test


@pytest.fixture
def postgres(request: pytest.FixtureRequest) -> Iterator[str]:
    with taken_database(request.getfixturevalue("migrated_postgres")) as url:
        yield url


def store_held_before_commit(
    url: str, account_id: int, chat_id: int, inserted: threading.Event, release: threading.Event
) -> None:
    """Worker A: ``add_message`` on an engine of its own, held after its INSERT until ``release``."""

    def hold(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO MESSAGE "):
            inserted.set()
            release.wait(BOUND_S)

    async def run() -> None:
        engine = make_async_engine(url)
        event.listen(engine.sync_engine, "after_cursor_execute", hold)
        try:
            await SqlInboxStore(engine).add_message(account_id, chat_id, message("3EB0AAAA", text="first"))
        finally:
            await engine.dispose()

    asyncio.run(run())


async def test_a_message_stored_while_another_of_its_chat_is_uncommitted_waits_and_takes_the_later_id(
    postgres: str,
) -> None:
    engine = make_async_engine(postgres)
    messages = table_of(Message)
    try:
        company = await SqlCompanyStore(engine).upsert(1, name="A", api_domain="a", timezone="UTC")
        account = await SqlAccountStore(engine).create(
            company_id=company.id, owner_user_id=1, transport="waha", session_name="s1"
        )
        store = SqlInboxStore(engine)
        chat_id = await store.upsert_chat(account.id, CONTACT, T0)
        inserted, release = threading.Event(), threading.Event()
        worker_a = threading.Thread(
            target=store_held_before_commit, args=(postgres, account.id, chat_id, inserted, release)
        )
        worker_a.start()
        try:
            assert await asyncio.to_thread(inserted.wait, BOUND_S), "worker A never stored its message"
            worker_b = asyncio.create_task(
                store.add_message(account.id, chat_id, message("3EB0BBBB", text="second"))
            )
            waiting = text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            deadline = asyncio.get_running_loop().time() + BOUND_S
            while not worker_b.done():
                async with engine.connect() as connection:
                    if (await connection.execute(waiting)).scalar_one():
                        break  # B waits for A's commit
                assert asyncio.get_running_loop().time() < deadline, "B neither finished nor waited"
                await asyncio.sleep(0.01)
            committed_before_a = worker_b.done()
        finally:
            release.set()
            await asyncio.to_thread(worker_a.join, BOUND_S)
        assert await worker_b is True
        assert not committed_before_a, "B committed while A's message, with a lower id, was not yet committed"
        async with engine.connect() as connection:
            stored = (
                (await connection.execute(select(messages.c.text).order_by(messages.c.id))).scalars().all()
            )
        assert stored == ["first", "second"]
    finally:
        await engine.dispose()
