"""Linking a Cloud API number: the Graph API is asked first, so a wrong id or token links nothing; the
transport is built only when the Cloud API is configured."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.errors import InvalidInput, Unauthorized
from server.services.numbers import link_cloud_number
from server.settings import Mode, load_settings
from server.storage.accounts import SqlAccountStore
from server.storage.companies import SqlCompanyStore
from server.storage.engine import make_async_engine
from server.storage.inbox import SqlInboxStore
from server.transports import build_transports, cloud_http_client, waha_http_client
from server.whatsapp.cloud import CloudTransport
from tests.whatsapp.cloud_standin import PHONE_NUMBER_ID, TOKEN, CloudStandIn
from tests.whatsapp.conftest import NOW


@pytest.fixture
async def engine(migrated_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_async_engine(migrated_database_url)
    yield engine
    await engine.dispose()


def cloud(http: httpx.AsyncClient, token: str = TOKEN) -> CloudTransport:
    return CloudTransport(http, access_token=token, app_secret="app-secret", verify_token="verify-me")


async def test_a_cloud_number_is_linked_with_the_number_meta_reports(engine: AsyncEngine) -> None:
    company = await SqlCompanyStore(engine).upsert(7, name="A", api_domain="a", timezone="UTC")
    accounts, inbox = SqlAccountStore(engine), SqlInboxStore(engine)
    async with httpx.AsyncClient(transport=httpx.MockTransport(CloudStandIn(now=NOW).handle)) as http:
        linked = await link_cloud_number(
            accounts, inbox, cloud(http), company_id=company.id, user_id=11, phone_number_id=PHONE_NUMBER_ID
        )
        assert (linked.transport, linked.session_name, linked.e164, linked.status, linked.owner_user_id) == (
            "cloud",
            PHONE_NUMBER_ID,
            "+49301234567",
            "connected",
            11,
        )
        with pytest.raises(InvalidInput) as again:  # one number, one account
            await link_cloud_number(
                accounts,
                inbox,
                cloud(http),
                company_id=company.id,
                user_id=12,
                phone_number_id=PHONE_NUMBER_ID,
            )
        assert again.value.reason == "session_exists"
    assert [a.id for a in await accounts.for_company(company.id)] == [linked.id]


@pytest.mark.parametrize(
    ("phone_number_id", "reason"),
    [
        ("", "invalid_phone_number_id"),
        ("12 34", "invalid_phone_number_id"),
        ("+4930123", "invalid_phone_number_id"),
        ("1" * 33, "invalid_phone_number_id"),
        ("１２３", "invalid_phone_number_id"),
        ("999", "number_unknown"),  # well formed, but Meta has no such object (code 100, subcode 33)
    ],
)
async def test_a_malformed_or_unknown_id_is_refused_by_name_and_links_nothing(
    engine: AsyncEngine, phone_number_id: str, reason: str
) -> None:
    company = await SqlCompanyStore(engine).upsert(7, name="A", api_domain="a", timezone="UTC")
    accounts = SqlAccountStore(engine)
    async with httpx.AsyncClient(transport=httpx.MockTransport(CloudStandIn(now=NOW).handle)) as http:
        with pytest.raises(InvalidInput) as refused:
            await link_cloud_number(
                accounts,
                SqlInboxStore(engine),
                cloud(http),
                company_id=company.id,
                user_id=11,
                phone_number_id=phone_number_id,
            )
    assert refused.value.reason == reason
    assert await accounts.for_company(company.id) == []


async def test_a_wrong_token_links_nothing(engine: AsyncEngine) -> None:
    company = await SqlCompanyStore(engine).upsert(7, name="A", api_domain="a", timezone="UTC")
    accounts = SqlAccountStore(engine)
    async with httpx.AsyncClient(transport=httpx.MockTransport(CloudStandIn(now=NOW).handle)) as http:
        with pytest.raises(Unauthorized):
            await link_cloud_number(
                accounts,
                SqlInboxStore(engine),
                cloud(http, token="revoked"),
                company_id=company.id,
                user_id=11,
                phone_number_id=PHONE_NUMBER_ID,
            )
    assert await accounts.for_company(company.id) == []


async def test_the_cloud_transport_exists_only_when_configured(tmp_path: Path) -> None:
    plain = load_settings(mode=Mode.TEST, var_dir=tmp_path)
    assert cloud_http_client(plain) is None
    async with waha_http_client(plain) as waha_http:
        assert set(build_transports(plain, waha_http)) == {"waha"}
    configured = load_settings(
        mode=Mode.TEST,
        var_dir=tmp_path,
        cloud_access_token="graph-token-123",
        cloud_app_secret="app-secret-456",
        cloud_verify_token="verify-789",
    )
    cloud_http = cloud_http_client(configured)
    assert cloud_http is not None
    async with cloud_http, waha_http_client(configured) as waha_http:
        transports = build_transports(configured, waha_http, cloud_http)
        assert set(transports) == {"waha", "cloud"}
        assert transports["cloud"].capabilities.window_24h
