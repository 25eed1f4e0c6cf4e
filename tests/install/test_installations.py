"""The installation store on SQLite and PostgreSQL: encrypted tokens, admin choice, statuses, rotation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.crypto import SecretBox, UndecryptableSecret
from server.domain.installations import InstallationStatus, StoredTokens
from server.storage.companies import SqlCompanyStore
from server.storage.engine import make_async_engine
from server.storage.installations import SqlInstallationStore
from server.storage.tables import Installation, table_of

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
EXPIRES = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)


def tokens(n: int = 1, *, api_domain: str = "https://acme.pipedrive.com") -> StoredTokens:
    return StoredTokens(
        access_token=f"v1u:access-{n}-" + "a" * 300,
        refresh_token=f"1:1:refresh-{n}",
        expires_at=EXPIRES,
        scopes=frozenset({"base", "admin", "contacts:full"}),
        api_domain=api_domain,
    )


@pytest.fixture
async def engine(migrated_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_async_engine(migrated_database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def company_id(engine: AsyncEngine) -> int:
    company = await SqlCompanyStore(engine).upsert(
        4242, name="Acme", api_domain="https://acme.pipedrive.com", timezone="UTC"
    )
    return company.id


async def raw_rows(engine: AsyncEngine) -> list[dict[str, object]]:
    table = table_of(Installation)
    async with engine.connect() as connection:
        return [dict(r) for r in (await connection.execute(select(table).order_by(table.c.id))).mappings()]


async def test_upsert_stores_tokens_encrypted_and_reads_them_back(
    engine: AsyncEngine, company_id: int
) -> None:
    store = SqlInstallationStore(engine, SecretBox([NEW_KEY]))
    saved = await store.upsert(
        company_id, 7, name="Anna", email="anna@x.test", is_admin=True, tokens=tokens()
    )
    assert (saved.status, saved.is_admin, saved.scopes) == (
        InstallationStatus.ACTIVE,
        True,
        frozenset({"base", "admin", "contacts:full"}),
    )
    [row] = await raw_rows(engine)
    assert "access-1" not in str(row["access_token_encrypted"])
    assert "refresh-1" not in str(row["refresh_token_encrypted"])
    assert await store.tokens(saved.id) == tokens()
    assert "access-1" not in repr(await store.tokens(saved.id))
    assert await store.get(company_id, 7) == saved
    assert await store.get(company_id + 1, 7) is None  # scoped by company


async def test_reinstall_updates_in_place_and_concurrent_installs_make_one_row(
    engine: AsyncEngine, company_id: int
) -> None:
    store = SqlInstallationStore(engine, SecretBox([NEW_KEY]))
    results = await asyncio.gather(
        *(
            store.upsert(company_id, 7, name=f"n{i}", email="", is_admin=True, tokens=tokens(i))
            for i in range(6)
        )
    )
    assert len({r.id for r in results}) == 1
    assert len(await raw_rows(engine)) == 1


async def test_the_sync_runs_on_the_earliest_active_admin(engine: AsyncEngine, company_id: int) -> None:
    store = SqlInstallationStore(engine, SecretBox([NEW_KEY]))
    assert await store.admin_installation(company_id) is None
    await store.upsert(company_id, 1, name="Agent", email="", is_admin=False, tokens=tokens(1))
    assert await store.admin_installation(company_id) is None
    first = await store.upsert(company_id, 2, name="First admin", email="", is_admin=True, tokens=tokens(2))
    second = await store.upsert(company_id, 3, name="Second admin", email="", is_admin=True, tokens=tokens(3))
    assert await store.admin_installation(company_id) == first
    assert await store.mark_needs_reauth(first.id, "refresh token refused")
    assert (await store.admin_installation(company_id)) == await store.get(company_id, 3)
    await store.mark_uninstalled(company_id, 3)
    chosen = await store.admin_installation(company_id)
    assert chosen is not None and (chosen.id, chosen.status) == (first.id, InstallationStatus.NEEDS_REAUTH)
    assert chosen.status_detail == "refresh token refused"
    assert second.id != first.id
    assert [i.pipedrive_user_id for i in await store.for_company(company_id)] == [1, 2, 3]


async def test_uninstall_empties_the_tokens_and_refreshes_cannot_revive_them(
    engine: AsyncEngine, company_id: int
) -> None:
    store = SqlInstallationStore(engine, SecretBox([NEW_KEY]))
    saved = await store.upsert(company_id, 7, name="Anna", email="", is_admin=True, tokens=tokens())
    gone = await store.mark_uninstalled(company_id, 7, detail="uninstalled in Pipedrive")
    assert gone is not None and gone.status is InstallationStatus.UNINSTALLED and gone.uninstalled_at
    [row] = await raw_rows(engine)
    assert (row["access_token_encrypted"], row["refresh_token_encrypted"], row["expires_at"]) == (
        "",
        "",
        None,
    )
    assert await store.tokens(saved.id) is None
    assert not await store.save_tokens(saved.id, tokens(2))  # a refresh racing the uninstall
    assert await store.tokens(saved.id) is None
    assert not await store.mark_needs_reauth(saved.id, "late")
    assert await store.mark_uninstalled(company_id, 99) is None


async def test_companies_gone_since_the_cutoff(engine: AsyncEngine) -> None:
    companies = SqlCompanyStore(engine)
    store = SqlInstallationStore(engine, SecretBox([NEW_KEY]))
    long_ago = datetime.now(UTC) - timedelta(days=40)
    recently = datetime.now(UTC) - timedelta(days=2)
    gone = (await companies.upsert(1, name="gone", api_domain="", timezone="UTC")).id
    recent = (await companies.upsert(2, name="recent", api_domain="", timezone="UTC")).id
    half = (await companies.upsert(3, name="half", api_domain="", timezone="UTC")).id
    await companies.upsert(4, name="never installed", api_domain="", timezone="UTC")
    for company, user in [(gone, 1), (gone, 2), (recent, 1), (half, 1), (half, 2)]:
        await store.upsert(company, user, name="", email="", is_admin=True, tokens=tokens())
    await store.mark_uninstalled(gone, 1, at=long_ago)
    await store.mark_uninstalled(gone, 2, at=long_ago + timedelta(days=1))
    await store.mark_uninstalled(recent, 1, at=recently)
    await store.mark_uninstalled(half, 1, at=long_ago)
    cutoff = datetime.now(UTC) - timedelta(days=30)
    assert await store.companies_gone_since(cutoff) == [gone]


async def test_rotation_moves_every_token_to_the_newest_key(engine: AsyncEngine, company_id: int) -> None:
    old_store = SqlInstallationStore(engine, SecretBox([OLD_KEY]))
    first = await old_store.upsert(company_id, 7, name="", email="", is_admin=True, tokens=tokens(1))
    second = await old_store.upsert(company_id, 8, name="", email="", is_admin=False, tokens=tokens(2))
    await old_store.mark_uninstalled(company_id, 8)

    both = SecretBox([NEW_KEY, OLD_KEY])
    rotating = SqlInstallationStore(engine, both)
    assert await rotating.tokens(first.id) == tokens(1)  # the old key still reads
    assert await rotating.rotate_keys() == 1  # the uninstalled row has nothing to rotate
    assert await rotating.rotate_keys() == 0

    new_only = SqlInstallationStore(engine, SecretBox([NEW_KEY]))
    assert await new_only.tokens(first.id) == tokens(1)
    assert await new_only.tokens(second.id) is None
    with pytest.raises(UndecryptableSecret):
        await old_store.tokens(first.id)  # a configuration with only the old key cannot read it any more
