"""Installation credentials: refresh before expiry, after a 401, one at a time, always persisted."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from server.domain.errors import NeedsReauth, Unauthorized
from server.pipedrive.oauth import TokenSet
from server.pipedrive.tokens import InstallationTokens, LocalRefreshLocks
from tests.pipedrive.fakes import (
    FakeClock,
    FakePipedrive,
    Harness,
    envelope,
    failure,
    make_harness,
    token_response,
    token_set,
)

ME = {"id": 1, "company_id": 77, "name": "Admin"}


def answer_with_current_token(request: httpx.Request) -> httpx.Response:
    if request.headers["authorization"] == "Bearer v1u:new-access":
        return envelope(ME)
    return failure(401, "unauthorized access")


async def test_a_401_refreshes_once_and_retries_once(fake: FakePipedrive, harness: Harness) -> None:
    fake.on("GET", "/api/v1/users/me", answer_with_current_token)
    fake.on("POST", "/oauth/token", lambda _: token_response())

    me = await harness.client.users.me()

    assert me.company_id == 77
    assert len(fake.sent("POST", "/oauth/token")) == 1
    assert [r.headers["authorization"] for r in fake.sent("GET", "/api/v1/users/me")] == [
        "Bearer v1u:old-access",
        "Bearer v1u:new-access",
    ]


async def test_a_second_401_after_refreshing_is_unauthorized(fake: FakePipedrive, harness: Harness) -> None:
    fake.on("GET", "/api/v1/users/me", lambda _: failure(401, "unauthorized access"))
    fake.on("POST", "/oauth/token", lambda _: token_response())

    with pytest.raises(Unauthorized) as caught:
        await harness.client.users.me()

    assert caught.value.reason == "unauthorized"
    assert len(fake.sent("GET", "/api/v1/users/me")) == 2
    assert len(fake.sent("POST", "/oauth/token")) == 1


async def test_ten_concurrent_calls_with_an_expired_token_refresh_exactly_once(
    fake: FakePipedrive, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    harness = make_harness(fake, http, clock, tokens=token_set(expires_in=-60))
    fake.on("GET", "/api/v1/users/me", answer_with_current_token)
    fake.on("POST", "/oauth/token", lambda _: token_response())

    results = await asyncio.gather(*(harness.client.users.me() for _ in range(10)))

    assert [me.id for me in results] == [1] * 10
    assert len(fake.sent("POST", "/oauth/token")) == 1
    assert len(harness.persisted) == 1
    assert all(
        r.headers["authorization"] == "Bearer v1u:new-access" for r in fake.sent("GET", "/api/v1/users/me")
    )


async def test_concurrent_401s_share_one_refresh(fake: FakePipedrive, harness: Harness) -> None:
    fake.on("GET", "/api/v1/users/me", answer_with_current_token)
    fake.on("POST", "/oauth/token", lambda _: token_response())

    await asyncio.gather(*(harness.client.users.me() for _ in range(10)))

    assert len(fake.sent("POST", "/oauth/token")) == 1


async def test_refresh_shortly_before_expiry_persists_the_new_refresh_token_and_api_domain(
    fake: FakePipedrive, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    harness = make_harness(fake, http, clock, tokens=token_set(expires_in=120))  # inside the 5-minute margin
    moved = "https://acme-renamed.pipedrive.com"
    fake.on("POST", "/oauth/token", lambda _: token_response(refresh="1:1:rotated", api_domain=moved))
    fake.on("GET", "/api/v1/users/me", lambda _: envelope(ME))

    await harness.client.users.me()

    assert [(t.refresh_token, t.api_domain) for t in harness.persisted] == [("1:1:rotated", moved)]
    assert fake.sent("GET", "/api/v1/users/me")[0].url.host == "acme-renamed.pipedrive.com"
    assert harness.tokens.tokens.refresh_token == "1:1:rotated"


async def test_a_token_far_from_expiry_is_not_refreshed(fake: FakePipedrive, harness: Harness) -> None:
    fake.on("GET", "/api/v1/users/me", lambda _: envelope(ME))

    await harness.client.users.me()

    assert fake.sent("POST", "/oauth/token") == []
    assert harness.persisted == []


async def test_invalid_grant_on_refresh_needs_reauth(
    fake: FakePipedrive, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    harness = make_harness(fake, http, clock, tokens=token_set(expires_in=-1))
    fake.on(
        "POST",
        "/oauth/token",
        lambda _: httpx.Response(
            400, json={"success": False, "error": "Invalid grant: refresh_token is invalid"}
        ),
    )

    with pytest.raises(NeedsReauth) as caught:
        await harness.client.users.me()

    assert caught.value.reason == "needs_reauth"
    assert harness.persisted == []
    assert fake.sent("GET", "/api/v1/users/me") == []


async def test_a_refresh_done_by_another_worker_is_reused(
    fake: FakePipedrive, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    stored = token_set(access="v1u:new-access", refresh="1:1:other", expires_in=3600, now=clock.now())
    persisted: list[TokenSet] = []

    async def load_latest() -> TokenSet:
        return stored

    async def on_refreshed(tokens: TokenSet) -> None:
        persisted.append(tokens)

    harness = make_harness(fake, http, clock)
    tokens = InstallationTokens(
        "installation-1",
        token_set(expires_in=-1, now=clock.now()),
        oauth=harness.oauth,
        on_refreshed=on_refreshed,
        lock=LocalRefreshLocks(),
        load_latest=load_latest,
        clock=clock.now,
    )

    assert (await tokens.current()).refresh_token == "1:1:other"
    assert fake.sent("POST", "/oauth/token") == []
    assert persisted == []


async def test_a_failing_persist_callback_fails_the_refresh(fake: FakePipedrive, harness: Harness) -> None:
    fake.on("POST", "/oauth/token", lambda _: token_response())

    async def broken(tokens: TokenSet) -> None:
        raise RuntimeError("database down")

    tokens = InstallationTokens(
        "i",
        token_set(expires_in=-1),
        oauth=harness.oauth,
        on_refreshed=broken,
        lock=LocalRefreshLocks(),
        clock=harness.clock.now,
    )
    with pytest.raises(RuntimeError):
        await tokens.current()
