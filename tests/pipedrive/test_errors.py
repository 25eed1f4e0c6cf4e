"""One mapping from Pipedrive answers and transport failures to named domain errors."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from server.domain.errors import BudgetExhausted, NotFound, Permanent, Transient, Unauthorized
from server.pipedrive.errors import pipedrive_error, response_json

NOW = datetime(2026, 3, 10, 22, 0, tzinfo=UTC)
REQUEST = httpx.Request("GET", "https://acme.pipedrive.com/api/v2/persons/1")
CLOUDFLARE_PAGE = b"<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title></head></html>"


def answer(
    status: int, body: object = None, *, content: bytes | None = None, **headers: str
) -> httpx.Response:
    headers = {k.replace("_", "-"): v for k, v in headers.items()}
    if content is not None:
        return httpx.Response(status, content=content, headers=headers, request=REQUEST)
    return httpx.Response(status, json=body, headers=headers, request=REQUEST)


def error_body(text: str, **extra: object) -> dict[str, object]:
    return {"success": False, "error": text, "error_info": "Please check developers.pipedrive.com", **extra}


@pytest.mark.parametrize(
    ("response", "kind", "reason"),
    [
        (answer(401, error_body("unauthorized access")), Unauthorized, "unauthorized"),
        (answer(403, error_body("Scope and URL mismatch")), Permanent, "scope_missing"),
        (
            answer(403, error_body("Limit reached", code="feature_capping_deals_limit")),
            Permanent,
            "forbidden",
        ),
        (answer(403, content=CLOUDFLARE_PAGE, content_type="text/html"), Transient, "blocked_by_cloudflare"),
        (answer(404, error_body("Person not found")), NotFound, "not_found"),
        (answer(410, error_body("Gone")), NotFound, "not_found"),
        (
            answer(400, error_body("'person_id' is a read-only field.", code="ERR_BAD_REQUEST")),
            Permanent,
            "bad_request",
        ),
        (answer(422, error_body("Webhooks limit reached")), Permanent, "bad_request"),
        (answer(402, error_body("Payment required")), Permanent, "payment_required"),
        (answer(429, content=b"Request over limit"), Transient, "rate_limited"),
        (answer(500, error_body("Internal error")), Transient, "pipedrive_unavailable"),
        (answer(502, content=b"<html><body>Bad gateway</body></html>"), Transient, "pipedrive_unavailable"),
        (answer(503, content=b""), Transient, "pipedrive_unavailable"),
        (answer(418, content=b"teapot"), Permanent, "pipedrive_error"),
    ],
)
def test_status_codes_map_to_named_errors(response: httpx.Response, kind: type, reason: str) -> None:
    error = pipedrive_error(response, now=NOW)

    assert type(error) is kind
    assert error.reason == reason
    assert isinstance(error.__cause__, httpx.HTTPStatusError)
    assert error.__cause__.response is response


def test_bad_request_carries_pipedrives_error_text() -> None:
    error = pipedrive_error(answer(400, error_body("'owner_id' must be a number")), now=NOW)
    assert "'owner_id' must be a number" in error.message


def test_cloudflare_block_backs_off_for_long() -> None:
    error = pipedrive_error(answer(403, content=CLOUDFLARE_PAGE, content_type="text/html"), now=NOW)
    assert isinstance(error, Transient) and error.retry_after is not None and error.retry_after >= 300
    assert "<html" not in error.message.lower()


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"retry_after": "7", "x_ratelimit_reset": "2"}, 7.0),
        ({"x_ratelimit_reset": "3"}, 3.0),
        ({}, 2.0),
        ({"retry_after": "soon"}, 2.0),
    ],
)
def test_rate_limit_wait_prefers_retry_after_then_reset_then_two_seconds(
    headers: dict[str, str], wait: float
) -> None:
    error = pipedrive_error(answer(429, error_body("Request over limit"), **headers), now=NOW)
    assert isinstance(error, Transient) and error.reason == "rate_limited"
    assert error.retry_after == wait


def test_spent_daily_budget_is_asked_again_within_the_hour_not_at_midnight() -> None:
    response = answer(
        429, error_body("Request over limit"), x_daily_ratelimit_token_remaining="0", x_ratelimit_reset="2"
    )

    error = pipedrive_error(response, now=NOW)

    assert isinstance(error, BudgetExhausted) and isinstance(error, Transient)
    assert error.reason == "budget_exhausted"
    assert error.retry_after == 3600, "22:00 UTC: an hour, not the two hours to midnight"
    assert "at most an hour later" in error.message


def test_spent_daily_budget_is_asked_again_at_midnight_utc_when_that_is_sooner() -> None:
    response = answer(429, error_body("Request over limit"), x_daily_ratelimit_token_remaining="0")

    error = pipedrive_error(response, now=datetime(2026, 3, 10, 23, 35, tzinfo=UTC))

    assert isinstance(error, BudgetExhausted) and error.retry_after == 25 * 60


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (
            answer(429, error_body("Request over limit", errorCode=429), x_ratelimit_remaining="159"),
            "budget_exhausted",
        ),
        (answer(429, error_body("Request over limit"), x_ratelimit_remaining="1"), "budget_exhausted"),
        (answer(429, error_body("Request over limit"), x_ratelimit_remaining="0"), "rate_limited"),
        (answer(429, error_body("Request over limit")), "rate_limited"),
        (answer(429, error_body("Too many searches"), x_ratelimit_remaining="5"), "rate_limited"),
        (answer(429, content=b"Request over limit", x_ratelimit_remaining="5"), "rate_limited"),
        (
            answer(
                429,
                error_body("Request over limit"),
                x_ratelimit_remaining="5",
                x_daily_ratelimit_token_remaining="120",
            ),
            "rate_limited",
        ),
    ],
)
def test_a_budget_429_without_the_daily_header_is_told_by_its_body_and_burst_room(
    response: httpx.Response, reason: str
) -> None:
    error = pipedrive_error(response, now=NOW)

    assert error.reason == reason
    assert isinstance(error, BudgetExhausted) == (reason == "budget_exhausted")


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectTimeout("timed out", request=REQUEST),
        httpx.ReadTimeout("timed out", request=REQUEST),
        httpx.ConnectError("refused", request=REQUEST),
        httpx.RemoteProtocolError("peer closed", request=REQUEST),
    ],
)
def test_transport_failures_are_transient_with_the_cause_chained(failure: httpx.HTTPError) -> None:
    error = pipedrive_error(failure)

    assert isinstance(error, Transient) and error.reason == "pipedrive_unavailable"
    assert error.__cause__ is failure


def test_a_response_without_a_request_still_maps() -> None:
    error = pipedrive_error(httpx.Response(404, json=error_body("nope")), now=NOW)
    assert error.reason == "not_found" and error.__cause__ is None


@pytest.mark.parametrize(
    "content", [b"", b"<html></html>", b"{not json", b"[1, 2]", b"\xff\xfe", b"Request over limit"]
)
def test_response_json_never_raises(content: bytes) -> None:
    assert (
        response_json(httpx.Response(200, content=content, headers={"content-type": "application/json"}))
        is None
    )
