"""The production client against the Pipedrive sandbox, end to end: install, identify, write, refresh, limits.

Both sides are ours, so this proves they agree; the contract tests prove each agrees with the OpenAPI.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from sandbox.pipedrive.app import create_app
from sandbox.pipedrive.seed import ALL_SCOPES, seed_person
from sandbox.pipedrive.state import SandboxState
from server.domain.errors import BudgetExhausted, NeedsReauth
from server.pipedrive.client import PipedriveClient
from server.pipedrive.company_records import ensure_activity_type
from server.pipedrive.metering import MemoryUsageMeter
from server.pipedrive.oauth import PipedriveOAuth, StateSigner, TokenSet
from server.pipedrive.ratelimit import MemoryRateLimiter, RateScope
from server.pipedrive.tokens import InstallationTokens, LocalRefreshLocks

CLIENT_ID = "wapipe-test"
CLIENT_SECRET = "wapipe-test-secret"
REDIRECT_URI = "https://wapipe.test/oauth/callback"
SANDBOX = "http://pipedrive.sandbox"


@dataclass
class Installed:
    state: SandboxState
    http: httpx.AsyncClient
    oauth: PipedriveOAuth
    tokens: InstallationTokens
    client: PipedriveClient
    meter: MemoryUsageMeter
    stored: list[TokenSet]
    company_id: int


@pytest.fixture
async def installed() -> AsyncIterator[Installed]:
    state = SandboxState(base_url=SANDBOX)
    company = state.add_company("Acme Sales GmbH", domain="acme")
    admin = state.add_user(company.id, "Anna Admin", "anna@acme.test", is_admin=True)
    state.add_client(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, list(ALL_SCOPES))
    seed_person(state, company.id, "Maria Muster", phones=["+49 89 6364 8018"])
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url=SANDBOX) as http:
        oauth = PipedriveOAuth(
            http,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            redirect_uri=REDIRECT_URI,
            oauth_url=SANDBOX,
        )
        signer = StateSigner("test-secret-key")
        state_value = signer.issue()
        # The user opens the authorize URL and clicks "Allow" on the sandbox's page.
        page = await http.get(oauth.authorize_url(state_value))
        assert page.status_code == 200
        decision = await http.post(
            "/oauth/authorize",
            data={
                "client_id": CLIENT_ID,
                "redirect_uri": REDIRECT_URI,
                "state": state_value,
                "user_id": str(admin.id),
                "decision": "allow",
            },
        )
        assert decision.status_code == 302
        query = parse_qs(urlparse(decision.headers["location"]).query)
        signer.verify(query["state"][0])
        tokens = await oauth.exchange_code(query["code"][0])
        stored: list[TokenSet] = []

        async def on_refreshed(fresh: TokenSet) -> None:
            stored.append(fresh)

        installation = InstallationTokens(
            "installation-1",
            tokens,
            oauth=oauth,
            on_refreshed=on_refreshed,
            lock=LocalRefreshLocks(),
            clock=state.clock.now,
        )
        meter = MemoryUsageMeter()
        client = PipedriveClient(
            http,
            installation,
            RateScope(token_key="installation-1", company_key=str(company.id)),
            limiter=MemoryRateLimiter(),
            meter=meter,
            clock=state.clock.now,
        )
        yield Installed(state, http, oauth, installation, client, meter, stored, company.id)


async def test_install_identifies_the_user_through_users_me(installed: Installed) -> None:
    me = await installed.oauth.identify(installed.tokens.tokens)
    assert me.company_id == installed.company_id
    assert me.email == "anna@acme.test"


async def test_search_create_and_log_an_activity(installed: Installed) -> None:
    client = installed.client
    hits = await client.persons.search("+49 89 6364 8018", exact_match=True)
    assert [hit.name for hit in hits.items] == ["Maria Muster"]

    created = await client.persons.create(
        {"name": "New Contact", "phones": [{"value": "+4915112345678", "primary": True, "label": "mobile"}]}
    )
    assert created.phones[0].value == "+4915112345678"

    types = await client.activities.types()
    chat_type = next((t for t in types if t.name == "WhatsApp chat"), None)
    if chat_type is None:
        chat_type = await client.activities.create_type("WhatsApp chat", "bubble", "25D366")
    activity = await client.activities.create(
        {
            "subject": "WhatsApp chat with New Contact",
            "type": chat_type.key_string,
            "participants": [{"person_id": created.id, "primary": True}],
            "note": "<p>09:14 ← Hello &lt;there&gt;</p>",
            "done": True,
        }
    )
    again = await client.activities.get(activity.id)
    assert again.note == "<p>09:14 ← Hello &lt;there&gt;</p>"
    assert again.type == chat_type.key_string

    spent = installed.state.limiter.usage_for(installed.company_id)
    measured = installed.meter.usage(str(installed.company_id))
    assert measured.tokens == spent.tokens_used  # our metering agrees with what the sandbox charged
    assert measured.requests == spent.requests


async def test_expired_token_is_refreshed_and_the_new_one_persisted(installed: Installed) -> None:
    original = installed.tokens.tokens
    installed.state.clock.advance(installed.state.token_ttl_seconds + 1)
    me = await installed.client.users.me()
    assert me.email == "anna@acme.test"
    assert installed.stored == [installed.tokens.tokens]
    assert installed.tokens.tokens.access_token != original.access_token
    assert installed.tokens.tokens.refresh_token == original.refresh_token  # as Pipedrive documents


async def test_uninstalled_installation_needs_reauth(installed: Installed) -> None:
    user = next(iter(installed.state.company_users(installed.company_id)))
    installed.state.revoke_user(CLIENT_ID, installed.company_id, user.id)
    installed.state.clock.advance(installed.state.token_ttl_seconds + 1)
    with pytest.raises(NeedsReauth):
        await installed.client.users.me()


async def test_a_spent_daily_budget_defers_instead_of_hammering(installed: Installed) -> None:
    installed.state.limiter.set_daily_budget(installed.company_id, 3)
    await installed.client.users.me()  # 2 tokens
    await installed.client.persons.get(1)  # 1 token: the budget is now spent
    with pytest.raises(BudgetExhausted) as error:
        await installed.client.users.me()
    assert error.value.retry_after is not None
    assert 0 < error.value.retry_after <= 24 * 3600
    before = installed.state.limiter.usage_for(installed.company_id).requests
    with pytest.raises(BudgetExhausted):
        await installed.client.users.me()  # known to be spent: no request leaves
    assert installed.state.limiter.usage_for(installed.company_id).requests == before


async def test_the_engine_fallback_reactivates_the_chat_type_instead_of_adding_a_second(
    installed: Installed,
) -> None:
    from server.pipedrive.sync_adapter import PipedriveCrm

    first = await ensure_activity_type(installed.client)
    data = installed.state.company_data(installed.company_id)
    [chat_type] = [t for t in data.activity_types.values() if t["name"] == "WhatsApp chat"]
    chat_type["active_flag"] = False  # an admin deactivated it in Pipedrive
    crm = PipedriveCrm(installed.client)
    assert await crm.find_activity_type() == first
    assert chat_type["active_flag"] is True
    assert await crm.create_activity_type() == first
    assert sum(t["name"] == "WhatsApp chat" for t in data.activity_types.values()) == 1
    person_field = await crm.create_field("person")
    assert await crm.find_field("person") == person_field
    assert sum(f["name"] == "WhatsApp chat link" for f in data.person_fields.values()) == 1
