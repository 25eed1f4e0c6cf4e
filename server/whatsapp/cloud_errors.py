"""Translate Graph API (WhatsApp Cloud API) answers and httpx failures into the domain error tree.

Graph errors look like ``{"error": {"message", "type", "code", "error_subcode", "error_data": {"details"},
"fbtrace_id"}}``; the numeric ``code`` decides, the HTTP status only breaks ties.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import httpx

from server.domain.errors import (
    GatewayUnavailable,
    NotFound,
    OutsideMessagingWindow,
    Permanent,
    Transient,
    Unauthorized,
    WaPipeError,
)
from server.domain.text import Text
from server.whatsapp.untrusted_input import JsonObject, as_object, get_int, get_object, get_str

OUTSIDE_WINDOW_CODE = 131047
OUTSIDE_WINDOW_MESSAGE = "outside the 24-hour window: use a template"
RATE_LIMIT_WAIT = 60.0
UNAVAILABLE_WAIT = 5.0

# Stable names for the codes a person may see on a failed message.
CLOUD_REASONS = {
    OUTSIDE_WINDOW_CODE: "outside_24h_window",
    131026: "message_undeliverable",
    130429: "rate_limited",
    131056: "pair_rate_limited",
    131048: "spam_rate_limited",
    131049: "marketing_limit",
    131052: "media_download_failed",
    131053: "media_upload_failed",
    4: "rate_limited",
    80007: "rate_limited",
    132000: "template_parameter_mismatch",  # the parameters sent are not the template's variables
    132001: "template_not_found",  # no approved template by that name in that language
    132005: "template_text_too_long",  # the filled-in template is over WhatsApp's limits
    132015: "template_paused",  # Meta paused the template for low quality
    132016: "template_disabled",
}
_RATE_LIMIT_CODES = frozenset({130429, 131056, 131048, 4, 80007, 613})
_UNAVAILABLE_CODES = frozenset({1, 2, 131000, 131016})


def reason_for_code(code: int | None) -> str:
    return CLOUD_REASONS.get(code, "cloud_api_error") if code is not None else "cloud_api_error"


def message_for_code(code: int | None, fallback: str) -> str:
    return OUTSIDE_WINDOW_MESSAGE if code == OUTSIDE_WINDOW_CODE else fallback


def graph_error(source: httpx.Response | httpx.HTTPError, *, maybe_sent: bool = False) -> WaPipeError:
    """The domain error for a failed Graph API call, with the cause chained."""
    if isinstance(source, httpx.HTTPError):
        never_sent = isinstance(source, httpx.ConnectError | httpx.ConnectTimeout)
        error: WaPipeError = GatewayUnavailable(
            Text("The WhatsApp Cloud API could not be reached (%(error)s)", error=type(source).__name__),
            retry_after=UNAVAILABLE_WAIT,
            maybe_sent=maybe_sent and not never_sent,
        )
        error.__cause__ = source
        return error
    error = _error_for_response(source, maybe_sent=maybe_sent)
    with contextlib.suppress(RuntimeError):  # a response built without a request
        error.__cause__ = httpx.HTTPStatusError(
            f"HTTP {source.status_code}", request=source.request, response=source
        )
    return error


def _error_for_response(response: httpx.Response, *, maybe_sent: bool) -> WaPipeError:
    status = response.status_code
    details = _graph_error(response)
    code = get_int(details, "code")
    text = _describe(details, response)
    if code == OUTSIDE_WINDOW_CODE:
        return OutsideMessagingWindow(OUTSIDE_WINDOW_MESSAGE)
    if code == 190 or status == 401:
        return Unauthorized(Text("The Cloud API rejected the access token: %(answer)s", answer=text))
    if code in _RATE_LIMIT_CODES or status == 429:
        retry = response.headers.get("retry-after", "")
        wait = float(retry) if retry.isascii() and retry.isdigit() else RATE_LIMIT_WAIT
        return Transient(
            Text("The Cloud API is rate limiting: %(answer)s", answer=text),
            reason=reason_for_code(code),
            retry_after=wait,
        )
    if code in _UNAVAILABLE_CODES or status >= 500:
        return GatewayUnavailable(
            Text("The Cloud API failed: %(answer)s", answer=text),
            retry_after=UNAVAILABLE_WAIT,
            maybe_sent=maybe_sent,
        )
    if status == 404 or (code == 100 and get_int(details, "error_subcode") == 33):
        return NotFound(Text("The Cloud API has no such object: %(answer)s", answer=text))
    return Permanent(
        Text("The Cloud API rejected the request: %(answer)s", answer=text), reason=reason_for_code(code)
    )


def _graph_error(response: httpx.Response) -> JsonObject | None:
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    return get_object(as_object(body), "error")


def _describe(details: JsonObject | None, response: httpx.Response) -> str:
    message = get_str(details, "message") or response.text[:200] or f"HTTP {response.status_code}"
    extra = get_str(get_object(details, "error_data"), "details")
    code = get_int(details, "code")
    suffix = f" (code {code})" if code is not None else ""
    return f"{message}{': ' + extra if extra else ''}{suffix}"


async def graph_json(
    http: httpx.AsyncClient, method: str, url: str, *, what: str, maybe_sent: bool = False, **kwargs: Any
) -> JsonObject:
    """A Graph API call's answer, a JSON object; ``graph_error`` when the call fails, and
    ``gateway_bad_response`` naming ``what`` was asked when the answer is not a JSON object."""
    try:
        response = await http.request(method, url, **kwargs)
    except httpx.HTTPError as error:
        raise graph_error(error, maybe_sent=maybe_sent) from error
    if not response.is_success:
        raise graph_error(response, maybe_sent=maybe_sent)
    try:
        answer = as_object(response.json())
    except ValueError:
        answer = None
    if answer is None:
        raise GatewayUnavailable(
            f"The Cloud API answered {what} with something that is not a JSON object",
            reason="gateway_bad_response",
            maybe_sent=maybe_sent,
        )
    return answer
