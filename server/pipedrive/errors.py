"""Translate Pipedrive responses and httpx failures into the domain error tree, in one place.

Pipedrive answers errors with a JSON envelope (``{"success": false, "error": "..."}``) most of the time, but
gateways and Cloudflare answer with HTML. Nothing here assumes the body is JSON.

A spent daily budget is answered with 429 like a spent burst window. Pipedrive documents one 429 message
for both, ``Request over limit`` (in the gateway's envelope ``{"success": false, "error": ..., "errorCode":
429, "error_info": ...}``; reference §1.5 and §4); no body of its own for a spent budget is documented, so
a budget 429 is told by its ``x-daily-ratelimit-token-remaining: 0``, or, when that header is missing
(Pipedrive leaves it out for a few requests after a long idle), by that over-limit body answered while the
burst window it reports still has room (``x-ratelimit-remaining`` above 0): the burst limit is then not
why the request was refused.
When the budget resets is documented only as "the start of the next day" (server time, not UTC), so a
spent budget is asked again at most an hour later (and at 00:00 UTC, the likeliest reset), not left
until a midnight that may be the wrong one.

Each error's message is words a page may show (``Text``, in the reader's language); what Pipedrive said is
carried inside it as it came.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from server.domain.errors import (
    BudgetExhausted,
    NotFound,
    Permanent,
    Transient,
    Unauthorized,
    WaPipeError,
)
from server.domain.text import Text

DEFAULT_RATE_LIMIT_WAIT = 2.0
BUDGET_PROBE_INTERVAL = 3600.0
OVER_LIMIT = "Request over limit"
BUDGET_SPENT_MESSAGE = Text(
    "The company's daily Pipedrive API budget is spent; WaPipe asks Pipedrive again at most an hour later "
    "and resumes when the budget answers"
)
CLOUDFLARE_WAIT = 900.0
UNAVAILABLE_WAIT = 5.0
_SNIPPET = 200


def pipedrive_error(source: httpx.Response | httpx.HTTPError, *, now: datetime | None = None) -> WaPipeError:
    """The domain error for a failed Pipedrive response or a transport failure, with the cause chained.

    Reasons: ``unauthorized``, ``scope_missing``, ``forbidden``, ``blocked_by_cloudflare``, ``not_found``,
    ``bad_request``, ``payment_required``, ``rate_limited``, ``budget_exhausted``, ``pipedrive_unavailable``,
    ``pipedrive_error`` (any other status).
    """
    if isinstance(source, httpx.HTTPError):
        failure = f"{type(source).__name__}: {source}"
        error: WaPipeError = Transient(
            Text("Pipedrive could not be reached (%(detail)s)", detail=failure),
            reason="pipedrive_unavailable",
            retry_after=UNAVAILABLE_WAIT,
        )
        error.__cause__ = source
        return error
    error = _error_for_response(source, now or datetime.now(UTC))
    error.__cause__ = _status_error(source)
    return error


def _error_for_response(response: httpx.Response, now: datetime) -> WaPipeError:
    status = response.status_code
    body = response_json(response)
    text = _error_text(response, body)
    if status == 401:
        return Unauthorized(Text("Pipedrive rejected the access token: %(detail)s", detail=text))
    if status == 403:
        if body is None:
            return Transient(
                Text("Pipedrive's edge (Cloudflare) blocked the request; backing off"),
                reason="blocked_by_cloudflare",
                retry_after=CLOUDFLARE_WAIT,
            )
        if "scope and url mismatch" in text.lower():
            return Permanent(
                Text(
                    "The Pipedrive app lacks the scope this call needs (Scope and URL mismatch); "
                    "reinstall the app with the required scopes"
                ),
                reason="scope_missing",
            )
        code = body.get("code")
        detail = f"{text} (code {code})" if code else text
        refused = Text("Pipedrive refused the request: %(detail)s", detail=detail)
        return Permanent(refused, reason="forbidden")
    if status in (404, 410):
        return NotFound(Text("Pipedrive has no such record: %(detail)s", detail=text))
    if status in (400, 422):
        return Permanent(
            Text("Pipedrive rejected the request: %(detail)s", detail=text), reason="bad_request"
        )
    if status == 402:
        not_in_plan = Text("The Pipedrive plan does not allow this: %(detail)s", detail=text)
        return Permanent(not_in_plan, reason="payment_required")
    if status == 429:
        if budget_spent(response):
            return BudgetExhausted(BUDGET_SPENT_MESSAGE, retry_after=seconds_until_budget_probe(now))
        return Transient(
            Text("Pipedrive rate limit reached"),
            reason="rate_limited",
            retry_after=rate_limit_wait(response.headers),
        )
    if status >= 500:
        return Transient(
            Text("Pipedrive is unavailable (HTTP %(status)s)", status=status),
            reason="pipedrive_unavailable",
            retry_after=header_float(response.headers, "retry-after") or UNAVAILABLE_WAIT,
        )
    answered = Text("Pipedrive answered HTTP %(status)s: %(detail)s", status=status, detail=text)
    return Permanent(answered, reason="pipedrive_error")


def response_json(response: httpx.Response) -> dict[str, Any] | None:
    """The body as a JSON object, or ``None`` for HTML, empty or otherwise non-JSON bodies."""
    content_type = response.headers.get("content-type", "")
    if "json" not in content_type.lower() and not response.content.lstrip().startswith(b"{"):
        return None
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def rate_limit_wait(headers: Mapping[str, str]) -> float:
    """Seconds to wait after a 429: ``Retry-After``, else ``x-ratelimit-reset`` (a duration), else 2 s."""
    for name in ("retry-after", "x-ratelimit-reset"):
        value = header_float(headers, name)
        if value is not None and value >= 0:
            return max(value, 0.1)
    return DEFAULT_RATE_LIMIT_WAIT


def budget_spent(response: httpx.Response) -> bool:
    """Whether Pipedrive said the company's daily budget is spent: ``x-daily-ratelimit-token-remaining`` is
    0 (on any answer), or a 429 without that header carries the over-limit body while its burst window still
    had room."""
    remaining = header_int(response.headers, "x-daily-ratelimit-token-remaining")
    if remaining is not None:
        return remaining <= 0
    if response.status_code != 429:
        return False
    burst_left = header_int(response.headers, "x-ratelimit-remaining")
    if burst_left is None or burst_left <= 0:
        return False
    body = response_json(response)
    return body is not None and _error_text(response, body) == OVER_LIMIT


def seconds_until_budget_probe(now: datetime) -> float:
    """Seconds from ``now`` to when a spent budget is asked again: an hour, or 00:00 UTC if sooner."""
    return min(BUDGET_PROBE_INTERVAL, seconds_until_midnight_utc(now))


def seconds_until_midnight_utc(now: datetime) -> float:
    """Seconds from ``now`` to the next 00:00 UTC (at least 1)."""
    now = now.astimezone(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1.0, (midnight - now).total_seconds())


def header_float(headers: Mapping[str, str], name: str) -> float | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return float(raw.strip())
    except ValueError:
        return None


def header_int(headers: Mapping[str, str], name: str) -> int | None:
    value = header_float(headers, name)
    return None if value is None else int(value)


def _error_text(response: httpx.Response, body: dict[str, Any] | None) -> str:
    if body is not None:
        for key in ("error", "message", "error_description"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
        return f"HTTP {response.status_code}"
    snippet = response.content[:_SNIPPET].decode("utf-8", errors="replace").strip()
    if not snippet or snippet.startswith("<"):
        return f"HTTP {response.status_code} (non-JSON body)"
    return snippet


def _status_error(response: httpx.Response) -> httpx.HTTPStatusError | None:
    try:
        request = response.request
    except RuntimeError:
        return None
    return httpx.HTTPStatusError(
        f"HTTP {response.status_code} from {request.method} {request.url.copy_with(query=None)}",
        request=request,
        response=response,
    )
