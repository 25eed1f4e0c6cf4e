"""OAuth: signed state, code exchange, identity from /users/me, revoke."""

from __future__ import annotations

import base64
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from itsdangerous import URLSafeTimedSerializer

from server.domain.errors import NotAuthenticated, Permanent
from server.pipedrive.oauth import StateSigner, TokenSet
from tests.pipedrive.fakes import (
    API_DOMAIN,
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    START,
    FakePipedrive,
    Harness,
    envelope,
    form_of,
    token_response,
)


def test_state_round_trip_carries_data() -> None:
    signer = StateSigner("app-secret")
    state = signer.issue({"next": "/settings"})

    assert signer.verify(state) == {"next": "/settings"}
    assert signer.issue() != signer.issue(), "every state has its own nonce"


def test_reading_a_state_gives_its_nonce_with_its_data() -> None:
    signer = StateSigner("app-secret")
    state = signer.issue({"next": "/settings"})
    nonce, data = signer.read(state)
    assert data == {"next": "/settings"}
    assert nonce == URLSafeTimedSerializer("app-secret", salt="wapipe.oauth.state").loads(state)["nonce"]
    assert len(nonce) >= 20


def test_a_state_signed_without_a_nonce_is_invalid() -> None:
    state = URLSafeTimedSerializer("app-secret", salt="wapipe.oauth.state").dumps({"next": "/a"})
    with pytest.raises(NotAuthenticated) as caught:
        StateSigner("app-secret").read(state)
    assert caught.value.reason == "invalid_state"


@pytest.mark.parametrize("state", ["", None, "not-a-state", "eyJub25jZSI6IngifQ.AAAA.BBBB"])
def test_state_that_is_missing_or_garbage_is_invalid(state: str | None) -> None:
    with pytest.raises(NotAuthenticated) as caught:
        StateSigner("app-secret").verify(state)
    assert caught.value.reason == "invalid_state"


def test_tampered_state_is_invalid() -> None:
    state = StateSigner("app-secret").issue({"next": "/a"})
    payload, rest = state.split(".", 1)
    forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + rest

    for candidate in (forged, StateSigner("other-secret").issue({"next": "/a"})):
        with pytest.raises(NotAuthenticated) as caught:
            StateSigner("app-secret").verify(candidate)
        assert caught.value.reason == "invalid_state"


def test_expired_state(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = StateSigner("app-secret", max_age=600)
    state = signer.issue()
    issued = time.time()
    monkeypatch.setattr(time, "time", lambda: issued + 601)

    with pytest.raises(NotAuthenticated) as caught:
        signer.verify(state)
    assert caught.value.reason == "expired_state"


def test_authorize_url(harness: Harness) -> None:
    url = urlsplit(harness.oauth.authorize_url("s-1"))

    assert (url.scheme, url.netloc, url.path) == ("https", "oauth.pipedrive.com", "/oauth/authorize")
    assert parse_qs(url.query) == {"client_id": [CLIENT_ID], "redirect_uri": [REDIRECT_URI], "state": ["s-1"]}


async def test_exchange_code_uses_basic_auth_and_a_form(fake: FakePipedrive, harness: Harness) -> None:
    fake.on("POST", "/oauth/token", lambda _: token_response(access="v1u:a", refresh="1:1:r"))

    tokens = await harness.oauth.exchange_code("123.456.code")

    request = fake.sent("POST", "/oauth/token")[0]
    expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected}"
    assert form_of(request) == {
        "grant_type": "authorization_code",
        "code": "123.456.code",
        "redirect_uri": REDIRECT_URI,
    }
    assert CLIENT_SECRET not in request.content.decode()
    assert tokens.access_token == "v1u:a" and tokens.refresh_token == "1:1:r"
    assert tokens.api_domain == API_DOMAIN
    assert tokens.scopes == {"base", "contacts:full", "deals:full"}
    assert (tokens.expires_at - START).total_seconds() == 3599
    assert "v1u:a" not in repr(tokens) and "1:1:r" not in repr(tokens)


async def test_an_expired_code_is_a_named_error(fake: FakePipedrive, harness: Harness) -> None:
    fake.on(
        "POST",
        "/oauth/token",
        lambda _: httpx.Response(
            400, json={"success": False, "error": "Invalid grant: authorization_code has expired"}
        ),
    )

    with pytest.raises(NotAuthenticated) as caught:
        await harness.oauth.exchange_code("old")
    assert caught.value.reason == "invalid_code"


async def test_bad_client_credentials_are_a_named_error(fake: FakePipedrive, harness: Harness) -> None:
    fake.on(
        "POST",
        "/oauth/token",
        lambda _: httpx.Response(401, json={"error": "Invalid client: client is invalid"}),
    )

    with pytest.raises(Permanent) as caught:
        await harness.oauth.refresh("1:1:r")
    assert caught.value.reason == "oauth_client_invalid"


async def test_identity_comes_from_users_me_on_the_api_domain(fake: FakePipedrive, harness: Harness) -> None:
    fake.on(
        "GET",
        "/api/v1/users/me",
        lambda _: envelope({"id": 11, "company_id": 22, "name": "Ana", "email": "ana@acme.test",
                            "company_name": "Acme", "company_domain": "acme", "is_admin": True}),
    )  # fmt: skip
    tokens = TokenSet("999:888:opaque", "r", START, frozenset(), API_DOMAIN)

    me = await harness.oauth.identify(tokens)

    assert (me.id, me.company_id, me.company_domain, me.is_admin) == (11, 22, "acme", True)
    request = fake.sent("GET", "/api/v1/users/me")[0]
    assert request.url.host == "acme.pipedrive.com"
    assert request.headers["authorization"] == "Bearer 999:888:opaque"


async def test_revoke_posts_the_token_with_basic_auth(fake: FakePipedrive, harness: Harness) -> None:
    fake.on("POST", "/oauth/revoke", lambda _: httpx.Response(200))

    await harness.oauth.revoke("1:1:r")

    request = fake.sent("POST", "/oauth/revoke")[0]
    assert form_of(request) == {"token": "1:1:r", "token_type_hint": "refresh_token"}
    assert request.headers["authorization"].startswith("Basic ")
