"""Honouring Pipedrive's limits: 429 backoff, burst window, search pacing, the daily budget, 5xx retries;
each on both limiters (in this process and on Redis)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from server.domain.errors import BudgetExhausted, Permanent, Transient
from server.pipedrive.ratelimit import RateLimiter, RateScope, backoff_delay
from tests.pipedrive.fakes import (
    FakeClock,
    FakePipedrive,
    Harness,
    envelope,
    failure,
    make_harness,
    token_set,
)
from tests.pipedrive.limiters import Limiters

ME = {"id": 1, "company_id": 77}
SEARCH = {"items": []}


@pytest.fixture
def limiter(limiters: Limiters, clock: FakeClock) -> RateLimiter:
    return limiters(sleep=clock.sleep, monotonic=clock.monotonic, wall_clock=clock.now)


@pytest.fixture
def harness(fake: FakePipedrive, http: httpx.AsyncClient, clock: FakeClock, limiter: RateLimiter) -> Harness:
    return make_harness(fake, http, clock, limiter=limiter)


def over_limit(**headers: str) -> httpx.Response:
    return failure(429, "Request over limit", **headers)


async def test_429_waits_for_x_ratelimit_reset_then_succeeds(
    fake: FakePipedrive, harness: Harness, clock: FakeClock
) -> None:
    fake.queue("GET", "/api/v1/users/me", over_limit(x_ratelimit_reset="1.5", x_ratelimit_remaining="0"))
    fake.on("GET", "/api/v1/users/me", lambda _: envelope(ME))

    await harness.client.users.me()

    assert len(fake.sent("GET", "/api/v1/users/me")) == 2
    assert fake.times[1] - fake.times[0] >= 1.5


async def test_429_honours_retry_after_over_reset(
    fake: FakePipedrive, harness: Harness, clock: FakeClock
) -> None:
    fake.queue("GET", "/api/v1/users/me", over_limit(retry_after="6", x_ratelimit_reset="1"))
    fake.on("GET", "/api/v1/users/me", lambda _: envelope(ME))

    await harness.client.users.me()

    assert fake.times[1] - fake.times[0] >= 6


async def test_429_backoff_grows_and_is_bounded_then_transient(
    fake: FakePipedrive, harness: Harness, clock: FakeClock
) -> None:
    fake.on("GET", "/api/v1/users/me", lambda _: over_limit())

    with pytest.raises(Transient) as caught:
        await harness.client.users.me()

    assert caught.value.reason == "rate_limited" and caught.value.retry_after == 2.0
    assert len(fake.sent("GET", "/api/v1/users/me")) == 4
    gaps = [b - a for a, b in zip(fake.times, fake.times[1:], strict=False)]
    assert gaps == sorted(gaps) and gaps[-1] > gaps[0] >= 2.0


async def test_429_with_a_long_wait_is_left_to_the_job_layer(fake: FakePipedrive, harness: Harness) -> None:
    fake.on("GET", "/api/v1/users/me", lambda _: over_limit(retry_after="120"))

    with pytest.raises(Transient) as caught:
        await harness.client.users.me()

    assert caught.value.retry_after == 120
    assert len(fake.sent("GET", "/api/v1/users/me")) == 1


async def test_spent_daily_budget_defers_and_stops_sending(
    fake: FakePipedrive, harness: Harness, clock: FakeClock
) -> None:
    fake.on("GET", "/api/v1/users/me", lambda _: over_limit(x_daily_ratelimit_token_remaining="0"))

    with pytest.raises(BudgetExhausted) as first:
        await harness.client.users.me()
    with pytest.raises(BudgetExhausted) as second:
        await harness.client.persons.get(1)

    assert first.value.reason == "budget_exhausted"
    assert first.value.retry_after == 3600, "asked again an hour later, not at midnight twelve hours away"
    assert second.value.retry_after is not None and 0 < second.value.retry_after <= 3600
    assert len(fake.requests) == 1, "no retry, and nothing sent while the budget is known to be spent"
    assert clock.sleeps == []


async def test_budget_reported_spent_on_a_success_stops_the_next_call(
    fake: FakePipedrive, harness: Harness
) -> None:
    fake.on("GET", "/api/v1/users/me", lambda _: envelope(ME, x_daily_ratelimit_token_remaining="0"))

    await harness.client.users.me()
    with pytest.raises(BudgetExhausted):
        await harness.client.users.me()

    assert len(fake.requests) == 1


async def test_a_spent_budget_lets_one_probe_out_after_the_hour(
    clock: FakeClock, limiter: RateLimiter
) -> None:
    scope = RateScope("t", "c")
    await limiter.after_response(scope, {"x-daily-ratelimit-token-remaining": "0"}, 429)
    clock.elapsed += 3599
    with pytest.raises(BudgetExhausted) as waiting:
        await limiter.before_request(scope)
    assert waiting.value.retry_after == pytest.approx(1)

    clock.elapsed += 1
    await limiter.before_request(scope)  # the probe
    with pytest.raises(BudgetExhausted) as behind_the_probe:
        await limiter.before_request(scope)
    assert behind_the_probe.value.retry_after == 60, "the others wait for the probe's answer"

    await limiter.after_response(scope, {"x-daily-ratelimit-token-remaining": "29998"}, 200)
    await limiter.before_request(scope)
    await limiter.before_request(scope)


async def test_a_probe_that_is_never_answered_lets_another_out_a_minute_later(
    clock: FakeClock, limiter: RateLimiter
) -> None:
    scope = RateScope("t", "c")
    await limiter.after_response(scope, {"x-daily-ratelimit-token-remaining": "0"}, 200)
    clock.elapsed += 3600
    await limiter.before_request(scope)  # lost on the way: no answer comes

    clock.elapsed += 60
    await limiter.before_request(scope)


async def test_a_budget_still_spent_at_the_probe_waits_another_hour(
    fake: FakePipedrive, http: httpx.AsyncClient, clock: FakeClock, limiter: RateLimiter
) -> None:
    harness = make_harness(fake, http, clock, tokens=token_set(expires_in=86_400), limiter=limiter)
    fake.on("GET", "/api/v1/users/me", lambda _: over_limit(x_daily_ratelimit_token_remaining="0"))
    with pytest.raises(BudgetExhausted):
        await harness.client.users.me()

    clock.elapsed += 3600
    with pytest.raises(BudgetExhausted) as probed:
        await harness.client.users.me()
    with pytest.raises(BudgetExhausted):
        await harness.client.users.me()
    assert len(fake.requests) == 2, "one probe, then nothing until the next hour"
    assert probed.value.retry_after == 3600

    fake.on("GET", "/api/v1/users/me", lambda _: envelope(ME, x_daily_ratelimit_token_remaining="29998"))
    clock.elapsed += 3600
    await harness.client.users.me()
    await harness.client.users.me()
    assert len(fake.requests) == 4
    assert clock.sleeps == []


async def test_a_budget_429_without_the_daily_header_defers_instead_of_burning_retries(
    fake: FakePipedrive, harness: Harness, clock: FakeClock
) -> None:
    # Pipedrive leaves the daily headers out for a few requests after a long idle; the burst window still
    # has room, so the over-limit answer is the budget's.
    fake.on(
        "GET",
        "/api/v1/users/me",
        lambda _: over_limit(x_ratelimit_limit="80", x_ratelimit_remaining="79", x_ratelimit_reset="2"),
    )

    with pytest.raises(BudgetExhausted) as caught:
        await harness.client.users.me()
    with pytest.raises(BudgetExhausted):
        await harness.client.persons.get(1)

    assert caught.value.retry_after == 3600
    assert len(fake.requests) == 1
    assert clock.sleeps == []


async def test_spent_burst_window_pauses_before_sending(
    fake: FakePipedrive, harness: Harness, clock: FakeClock
) -> None:
    fake.on(
        "GET", "/api/v1/users/me", lambda _: envelope(ME, x_ratelimit_remaining="0", x_ratelimit_reset="1.25")
    )

    await harness.client.users.me()
    await harness.client.users.me()

    assert clock.sleeps == [1.25]
    assert fake.times[1] - fake.times[0] == pytest.approx(1.25)


async def test_searches_are_paced_to_ten_per_two_seconds(
    fake: FakePipedrive, harness: Harness, clock: FakeClock
) -> None:
    import asyncio

    fake.on("GET", "/api/v2/persons/search", lambda _: envelope(SEARCH))

    await asyncio.gather(*(harness.client.persons.search(f"+49151{i:05d}") for i in range(25)))

    times = fake.times
    assert len(times) == 25
    for i, start in enumerate(times):
        assert sum(1 for t in times[i:] if t < start + 2.0) <= 10
    assert times[-1] - times[0] >= 4.0


async def test_concurrent_calls_stay_inside_the_plans_burst_limit_before_any_answer(
    fake: FakePipedrive, harness: Harness, clock: FakeClock
) -> None:
    # A Lite plan (80 / 2 s) and 200 jobs at once: answers that would say "remaining" arrive too late to
    # stop them, so the limiter counts its own sends in the rolling window.
    fake.on("GET", "/api/v1/users/me", lambda _: envelope(ME, x_ratelimit_limit="80"))

    await asyncio.gather(*(harness.client.users.me() for _ in range(200)))

    times = sorted(fake.times)
    assert len(times) == 200
    for i, start in enumerate(times):
        assert sum(1 for t in times[i:] if t < start + 2.0) <= 80
    assert times[-1] - times[0] == pytest.approx(2 * 2.1)


async def test_a_larger_plan_announced_in_headers_raises_the_burst_limit(
    fake: FakePipedrive, harness: Harness, clock: FakeClock
) -> None:
    fake.on("GET", "/api/v1/users/me", lambda _: envelope(ME, x_ratelimit_limit="160"))
    await harness.client.users.me()  # learns the Growth plan's limit
    await asyncio.gather(*(harness.client.users.me() for _ in range(159)))

    assert clock.sleeps == []


async def test_a_search_answers_limit_headers_do_not_throttle_other_calls(
    fake: FakePipedrive, harness: Harness, clock: FakeClock
) -> None:
    # A search reports the search window (10 per 2 s, here spent); the general window is the plan's.
    fake.on(
        "GET",
        "/api/v2/persons/search",
        lambda _: envelope(SEARCH, x_ratelimit_limit="10", x_ratelimit_remaining="0", x_ratelimit_reset="2"),
    )
    fake.on("GET", "/api/v1/users/me", lambda _: envelope(ME))

    await harness.client.persons.search("+4915112345678")
    for _ in range(40):
        await harness.client.users.me()

    assert clock.sleeps == []


async def test_a_spent_search_window_pauses_the_next_search(
    fake: FakePipedrive, harness: Harness, clock: FakeClock
) -> None:
    fake.on(
        "GET",
        "/api/v2/persons/search",
        lambda _: envelope(
            SEARCH, x_ratelimit_limit="10", x_ratelimit_remaining="0", x_ratelimit_reset="1.5"
        ),
    )

    await harness.client.persons.search("+4915112345678")
    await harness.client.persons.search("+4915112345679")

    assert clock.sleeps == [1.5]


async def test_a_search_over_its_limit_waits_for_the_search_window_only(
    fake: FakePipedrive, harness: Harness, clock: FakeClock
) -> None:
    fake.queue("GET", "/api/v2/persons/search", over_limit(x_ratelimit_limit="10", x_ratelimit_reset="2"))
    fake.on("GET", "/api/v2/persons/search", lambda _: envelope(SEARCH))
    fake.on("GET", "/api/v1/users/me", lambda _: envelope(ME))

    await harness.client.persons.search("+4915112345678")
    before = len(clock.sleeps)
    await harness.client.users.me()

    assert len(fake.sent("GET", "/api/v2/persons/search")) == 2
    assert len(clock.sleeps) == before, "the general window was never spent"


async def test_non_search_calls_are_not_paced_like_searches(
    fake: FakePipedrive, harness: Harness, clock: FakeClock
) -> None:
    fake.on("GET", "/api/v1/users/me", lambda _: envelope(ME))

    for _ in range(25):
        await harness.client.users.me()

    assert clock.sleeps == []


async def test_5xx_is_retried_for_reads(fake: FakePipedrive, harness: Harness) -> None:
    fake.queue(
        "GET", "/api/v2/persons/1", failure(502, "Bad gateway"), httpx.Response(503, content=b"<html/>")
    )
    fake.on("GET", "/api/v2/persons/1", lambda _: envelope({"id": 1, "name": "Ana"}))

    person = await harness.client.persons.get(1)

    assert person.name == "Ana"
    assert len(fake.requests) == 3


async def test_5xx_on_create_is_not_retried_in_call(fake: FakePipedrive, harness: Harness) -> None:
    fake.on("POST", "/api/v2/persons", lambda _: failure(500, "Internal error"))

    with pytest.raises(Transient) as caught:
        await harness.client.persons.create({"name": "Ana"})

    assert caught.value.reason == "pipedrive_unavailable"
    assert len(fake.requests) == 1


async def test_persistent_5xx_becomes_transient_after_bounded_retries(
    fake: FakePipedrive, harness: Harness
) -> None:
    fake.on("GET", "/api/v2/persons/1", lambda _: failure(500, "Internal error"))

    with pytest.raises(Transient):
        await harness.client.persons.get(1)

    assert len(fake.requests) == 4


async def test_connection_errors_are_retried_then_transient(fake: FakePipedrive, harness: Harness) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    fake.on("GET", "/api/v2/persons/1", refuse)

    with pytest.raises(Transient) as caught:
        await harness.client.persons.get(1)

    assert caught.value.reason == "pipedrive_unavailable"
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert len(fake.requests) == 4


async def test_post_is_resent_only_when_it_never_left(fake: FakePipedrive, harness: Harness) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    def time_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    fake.on("POST", "/api/v2/persons", refuse)
    with pytest.raises(Transient):
        await harness.client.persons.create({"name": "Ana"})
    assert len(fake.requests) == 4

    fake.requests.clear()
    fake.on("POST", "/api/v2/persons", time_out)
    with pytest.raises(Transient):
        await harness.client.persons.create({"name": "Ana"})
    assert len(fake.requests) == 1


async def test_cloudflare_page_is_a_named_transient_error_without_retries(
    fake: FakePipedrive, harness: Harness
) -> None:
    page = b"<!DOCTYPE html><title>Attention Required! | Cloudflare</title>"
    fake.on(
        "GET",
        "/api/v2/persons/1",
        lambda _: httpx.Response(403, content=page, headers={"content-type": "text/html"}),
    )

    with pytest.raises(Transient) as caught:
        await harness.client.persons.get(1)

    assert caught.value.reason == "blocked_by_cloudflare"
    assert len(fake.requests) == 1


async def test_scope_missing_is_permanent_and_not_retried(fake: FakePipedrive, harness: Harness) -> None:
    fake.on("GET", "/api/v1/webhooks", lambda _: failure(403, "Scope and URL mismatch"))

    with pytest.raises(Permanent) as caught:
        await harness.client.webhooks.all()

    assert caught.value.reason == "scope_missing"
    assert len(fake.requests) == 1


async def test_non_json_success_body_is_a_transient_error(fake: FakePipedrive, harness: Harness) -> None:
    fake.on("GET", "/api/v2/persons/1", lambda _: httpx.Response(200, content=b"<html>maintenance</html>"))

    with pytest.raises(Transient):
        await harness.client.persons.get(1)


def test_backoff_delay_is_exponential_capped_and_honours_hints() -> None:
    assert [backoff_delay(n, None, jitter=lambda: 0.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff_delay(10, None, jitter=lambda: 0.0) == 30.0
    assert backoff_delay(1, 5.0, jitter=lambda: 0.0) == 5.0
    assert backoff_delay(1, None, jitter=lambda: 1.0) == 1.25
