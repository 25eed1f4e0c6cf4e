"""The embedded sessions' shared rows on SQLite and PostgreSQL: secrets only ever stored encrypted (read back
here with a Fernet of the test key, not through the store), the device store fenced by the lease's token,
and every secret re-encrypted by a key rotation."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.crypto import SecretBox
from server.domain.clock import ControlledClock
from server.domain.errors import NotFound
from server.storage.accounts import SqlAccountStore
from server.storage.companies import SqlCompanyStore
from server.storage.embedded_sessions import SqlEmbeddedSessions
from server.storage.engine import make_async_engine
from server.storage.tables import EmbeddedSession, table_of

OLD_KEY, NEW_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()
SESSION = "wapipe-c1-u7-abc123"
QR = "2@Xk0bV2Wc5ZpS1TgQ,lQe6tN7sO0m3nY5r2x8A1bC4dE6fG8hJ0kL2mN4pQ6s=,Zm9vYmFy,cXV1eA=="
STORE = b"SQLite format 3\x00" + bytes(range(256)) * 8


@pytest.fixture
async def engine(migrated_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_async_engine(migrated_database_url)
    company = await SqlCompanyStore(engine).upsert(
        9001, name="Acme", api_domain="https://acme.pipedrive.com", timezone="Europe/Berlin"
    )
    await SqlAccountStore(engine).create(
        company_id=company.id, owner_user_id=7, transport="embedded", session_name=SESSION
    )
    yield engine
    await engine.dispose()


async def stored(engine: AsyncEngine) -> dict[str, object]:
    table = table_of(EmbeddedSession)
    async with engine.connect() as connection:
        row = (await connection.execute(select(table).where(table.c.session_name == SESSION))).one()
    return dict(row._mapping)


async def test_codes_and_the_device_store_are_kept_only_encrypted(engine: AsyncEngine) -> None:
    rows = SqlEmbeddedSessions(engine, SecretBox([OLD_KEY]), ControlledClock())
    await rows.register(SESSION)
    await rows.register(SESSION)  # again: nothing changes
    await rows.set_qr(SESSION, QR)
    await rows.ask_pairing_code(SESSION, "4930901820")
    await rows.set_pairing_code(SESSION, "4930901820", "WAPI-1820")
    assert await rows.save_device(SESSION, STORE, token=1)

    raw = await stored(engine)
    fernet = Fernet(OLD_KEY)
    assert (
        QR not in str(raw["qr_encrypted"])
        and fernet.decrypt(str(raw["qr_encrypted"]).encode()) == QR.encode()
    )
    assert b"WAPI" not in str(raw["pairing_code_encrypted"]).encode()
    sealed = bytes(raw["device_encrypted"])  # type: ignore[arg-type]
    assert b"SQLite format 3" not in sealed and fernet.decrypt(sealed) == STORE
    assert raw["pairing_phone"] == "4930901820"  # the number asked for is no secret: the worker reads it

    again = SqlEmbeddedSessions(engine, SecretBox([OLD_KEY]), ControlledClock())  # another process
    codes = await again.codes(SESSION)
    assert (codes.qr, codes.pairing_phone, codes.pairing_code) == (QR, "4930901820", "WAPI-1820")
    assert await again.device(SESSION) == STORE


async def test_a_worker_that_lost_its_lease_cannot_overwrite_the_new_holders_store(
    engine: AsyncEngine,
) -> None:
    rows = SqlEmbeddedSessions(engine, SecretBox([OLD_KEY]), ControlledClock())
    await rows.register(SESSION)
    assert await rows.save_device(SESSION, b"first holder", token=1)
    assert await rows.save_device(SESSION, b"second holder", token=2)
    assert not await rows.save_device(SESSION, b"first holder, late", token=1)
    assert await rows.device(SESSION) == b"second holder"
    assert await rows.save_device(SESSION, b"second holder, later", token=2)
    assert await rows.device(SESSION) == b"second holder, later"


async def test_a_session_no_embedded_number_has_is_refused(engine: AsyncEngine) -> None:
    rows = SqlEmbeddedSessions(engine, SecretBox([OLD_KEY]), ControlledClock())
    with pytest.raises(NotFound):
        await rows.register("wapipe-c1-u7-unknown")


async def test_rotating_keys_re_encrypts_every_secret_of_every_session(engine: AsyncEngine) -> None:
    old = SqlEmbeddedSessions(engine, SecretBox([OLD_KEY]), ControlledClock())
    await old.register(SESSION)
    await old.set_qr(SESSION, QR)
    await old.save_device(SESSION, STORE, token=1)
    both = SqlEmbeddedSessions(engine, SecretBox([NEW_KEY, OLD_KEY]), ControlledClock())
    assert await both.rotate_keys() == 1
    raw = await stored(engine)
    assert Fernet(NEW_KEY).decrypt(str(raw["qr_encrypted"]).encode()) == QR.encode()
    assert Fernet(NEW_KEY).decrypt(bytes(raw["device_encrypted"])) == STORE  # type: ignore[arg-type]
    new_only = SqlEmbeddedSessions(engine, SecretBox([NEW_KEY]), ControlledClock())
    assert (await new_only.codes(SESSION)).qr == QR and await new_only.device(SESSION) == STORE
