"""Burst windows, the daily budget, fault switches and auth failures of the Pipedrive sandbox."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest

from tests.sandbox.pipedrive.conftest import World, make_client


async def test_burst_limit_gives_429_with_headers_until_the_window_passes(
    client: httpx.AsyncClient, world: World
) -> None:
    for _ in range(160):
        assert (await client.get("/api/v2/pipelines")).status_code == 200
    over = await client.get("/api/v2/pipelines")
    assert over.status_code == 429
    assert over.json()["error"] == "Request over limit"
    assert over.headers["x-ratelimit-limit"] == "160"
    assert over.headers["x-ratelimit-remaining"] == "0"
    assert over.headers["x-ratelimit-reset"] == "2"
    world.state.clock.advance(2)
    assert (await client.get("/api/v2/pipelines")).status_code == 200


async def test_burst_window_is_per_token_and_by_plan(world: World) -> None:
    world.state.companies[world.company_a].plan = "lite"
    async with make_client(world, world.token()) as first, make_client(world, world.token()) as second:
        for _ in range(80):
            await first.get("/api/v1/users/me")
        assert (await first.get("/api/v1/users/me")).status_code == 429
        assert (await second.get("/api/v1/users/me")).headers["x-ratelimit-limit"] == "80"


async def test_search_allows_ten_per_two_seconds(client: httpx.AsyncClient, world: World) -> None:
    for _ in range(10):
        assert (await client.get("/api/v2/persons/search?term=Maria")).status_code == 200
    over = await client.get("/api/v2/itemSearch?term=Maria")
    assert over.status_code == 429
    assert over.headers["x-ratelimit-limit"] == "10"
    assert (await client.get("/api/v2/persons/1")).status_code == 200
    world.state.clock.advance(2.5)
    assert (await client.get("/api/v2/persons/search?term=Maria")).status_code == 200


async def test_daily_budget_runs_out_and_resets_at_midnight(world: World) -> None:
    state = world.state
    state.clock.set(datetime(2026, 3, 2, 23, 59, 0, tzinfo=UTC))
    state.limiter.set_daily_budget(world.company_a, 25)
    async with make_client(world, world.token()) as client:
        await _spend_across_midnight(client, world)


async def _spend_across_midnight(client: httpx.AsyncClient, world: World) -> None:
    state = world.state
    assert (await client.get("/api/v2/persons/search?term=Maria")).status_code == 200
    first = await client.get("/api/v2/persons")
    assert first.status_code == 429
    assert first.headers["x-daily-ratelimit-token-remaining"] == "5"
    state.clock.advance(61)
    again = await client.get("/api/v2/persons")
    assert again.status_code == 200
    assert again.headers["x-daily-ratelimit-token-remaining"] == "15"


async def test_budget_is_per_company(world: World) -> None:
    world.state.limiter.set_daily_budget(world.company_a, 0)
    async with make_client(world, world.token()) as a, make_client(world, world.token(world.admin_b)) as b:
        assert (await a.get("/api/v1/users/me")).status_code == 429
        assert (await b.get("/api/v1/users/me")).status_code == 200


async def test_forced_429_then_recovers(client: httpx.AsyncClient, world: World) -> None:
    world.state.limiter.faults.force_429 = 2
    assert [(await client.get("/api/v1/users/me")).status_code for _ in range(3)] == [429, 429, 200]


async def test_forced_5xx(client: httpx.AsyncClient, world: World) -> None:
    world.state.limiter.faults.force_5xx = 1
    world.state.limiter.faults.status_5xx = 503
    assert (await client.get("/api/v1/users/me")).status_code == 503
    assert (await client.get("/api/v1/users/me")).status_code == 200


async def test_cloudflare_block_is_html(client: httpx.AsyncClient, world: World) -> None:
    world.state.limiter.faults.cloudflare_403 = 1
    blocked = await client.get("/api/v1/users/me")
    assert blocked.status_code == 403
    assert blocked.headers["content-type"].startswith("text/html")
    assert "Cloudflare" in blocked.text


async def test_latency_switch_really_sleeps(client: httpx.AsyncClient, world: World) -> None:
    world.state.limiter.faults.latency_ms = 120
    started = time.perf_counter()
    await client.get("/api/v1/users/me")
    assert time.perf_counter() - started >= 0.11


async def test_daily_headers_can_be_omitted(client: httpx.AsyncClient, world: World) -> None:
    world.state.limiter.faults.omit_daily_headers = 1
    assert "x-daily-ratelimit-token-remaining" not in (await client.get("/api/v1/users/me")).headers
    assert "x-daily-ratelimit-token-remaining" in (await client.get("/api/v1/users/me")).headers


async def test_missing_unknown_expired_and_revoked_tokens_get_401(world: World) -> None:
    async with make_client(world, None) as anonymous:
        missing = await anonymous.get("/api/v1/users/me")
    assert missing.status_code == 401
    assert missing.json()["errorCode"] == 401
    async with make_client(world, "v1u:not-a-token") as unknown:
        assert (await unknown.get("/api/v1/users/me")).status_code == 401
    async with make_client(world, world.token()) as expiring:
        world.state.clock.advance(3601)
        assert (await expiring.get("/api/v1/users/me")).status_code == 401
    token = world.token()
    world.state.revoke_user("sandbox", world.company_a, world.admin_a)
    async with make_client(world, token) as revoked:
        assert (await revoked.get("/api/v1/users/me")).status_code == 401


async def test_scope_outside_the_grant_is_403(world: World) -> None:
    async with make_client(world, world.token(scopes=("base", "contacts:read"))) as client:
        assert (await client.get("/api/v2/persons/1")).status_code == 200
        assert (await client.get("/api/v2/persons/search?term=Maria")).status_code == 200
        denied = await client.get("/api/v2/itemSearch?term=Maria")
        assert denied.status_code == 403
        assert denied.json()["error"] == "Scope and URL mismatch"
        assert (
            await client.post("/api/v1/activityTypes", json={"name": "x", "icon_key": "bubble"})
        ).status_code == 403
        assert (await client.get("/api/v1/users/me")).status_code == 200


async def test_usage_counts_requests_and_tokens(client: httpx.AsyncClient, world: World) -> None:
    await client.get("/api/v1/users/me")
    await client.get("/api/v2/persons/1")
    usage = world.state.limiter.usage_for(world.company_a)
    assert usage.requests == 2
    assert usage.per_operation == {"GET /v1/users/me": 1, "GET /v2/persons/{id}": 1}


async def test_control_endpoints_drive_faults_and_clock(client: httpx.AsyncClient, world: World) -> None:
    assert (await client.post("/_sandbox/faults", json={"force_429": 1})).json()["force_429"] == 1
    assert (await client.get("/api/v1/users/me")).status_code == 429
    moved = await client.post("/_sandbox/clock", json={"advance_seconds": 3600})
    assert moved.json()["now"] == "2026-03-02T10:00:00Z"
    dump = (await client.get(f"/_sandbox/companies/{world.company_a}")).json()
    assert dump["persons"][0]["name"] == "Maria Muster"
    assert (await client.post("/_sandbox/reset")).json() == {"ok": True}
    assert world.state.companies == {}


async def test_the_budget_control_endpoint_exhausts_and_raises_the_daily_budget(
    client: httpx.AsyncClient, world: World
) -> None:
    exhausted = await client.post(f"/_sandbox/companies/{world.company_a}/budget", json={"exhaust": True})
    assert exhausted.status_code == 200, exhausted.text
    assert exhausted.json()["day"] == "2026-03-02" and exhausted.json()["tokens_used"] > 0
    assert (await client.get("/api/v1/users/me")).status_code == 429
    raised = await client.post(f"/_sandbox/companies/{world.company_a}/budget", json={"tokens": 10**9})
    assert raised.status_code == 200
    assert (await client.get("/api/v1/users/me")).status_code == 200


async def test_budget_day_starts_at_the_reset_hour_set_through_control(world: World) -> None:
    state = world.state
    state.token_ttl_seconds = 2 * 86_400
    state.clock.set(datetime(2026, 3, 2, 22, 0, 0, tzinfo=UTC))
    async with make_client(world, None) as control, make_client(world, world.token()) as api:
        budget = f"/_sandbox/companies/{world.company_a}/budget"
        answer = await control.post(budget, json={"reset_hour": 6, "tokens": 25, "exhaust": True})
        assert answer.status_code == 200
        assert answer.json()["reset_hour"] == 6 and answer.json()["day"] == "2026-03-02"

        assert (await api.get("/api/v1/users/me")).status_code == 429
        state.clock.set(datetime(2026, 3, 3, 0, 30, 0, tzinfo=UTC))  # past midnight UTC: still spent
        still = await api.get("/api/v1/users/me")
        assert still.status_code == 429
        assert still.headers["x-daily-ratelimit-token-remaining"] == "0"
        state.clock.set(datetime(2026, 3, 3, 5, 59, 59, tzinfo=UTC))
        assert (await api.get("/api/v1/users/me")).status_code == 429
        state.clock.set(datetime(2026, 3, 3, 6, 0, 0, tzinfo=UTC))
        back = await api.get("/api/v1/users/me")
        assert back.status_code == 200
        assert back.headers["x-daily-ratelimit-token-remaining"] == "23"


@pytest.mark.parametrize("hour", [24, -1, "6", 6.5, True, None])
async def test_a_reset_hour_that_is_no_hour_of_the_day_is_refused_by_name(world: World, hour: object) -> None:
    async with make_client(world, None) as control:
        answer = await control.post(
            f"/_sandbox/companies/{world.company_a}/budget", json={"reset_hour": hour}
        )
    assert answer.status_code == 400
    assert answer.json()["reason"] == "invalid_reset_hour"
    assert "0 to 23" in answer.json()["error"]
    assert world.state.limiter.reset_hours == {}


async def test_a_spent_budget_answers_the_over_limit_body_with_room_in_the_burst_window(
    client: httpx.AsyncClient, world: World
) -> None:
    world.state.limiter.set_daily_budget(world.company_a, 0)
    world.state.limiter.faults.omit_daily_headers = 1
    spent = await client.get("/api/v1/users/me")
    assert spent.status_code == 429
    assert spent.json() == {
        "success": False,
        "error": "Request over limit",
        "errorCode": 429,
        "error_info": "Please check developers.pipedrive.com",
    }
    assert "x-daily-ratelimit-token-remaining" not in spent.headers
    assert spent.headers["x-ratelimit-limit"] == "160"
    assert spent.headers["x-ratelimit-remaining"] == "160"
    again = await client.get("/api/v1/users/me")
    assert again.headers["x-daily-ratelimit-token-remaining"] == "0"


async def test_search_answers_carry_the_search_windows_headers(client: httpx.AsyncClient) -> None:
    search = await client.get("/api/v2/persons/search?term=Maria")
    assert (search.headers["x-ratelimit-limit"], search.headers["x-ratelimit-remaining"]) == ("10", "9")
    other = await client.get("/api/v2/persons/1")
    assert (other.headers["x-ratelimit-limit"], other.headers["x-ratelimit-remaining"]) == ("160", "158")
