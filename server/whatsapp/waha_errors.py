"""Translate WAHA answers and httpx failures into the domain error tree, in one place."""

from __future__ import annotations

import json

import httpx

from server.domain.errors import (
    GatewayUnavailable,
    NotFound,
    Permanent,
    SessionDisconnected,
    Transient,
    Unauthorized,
    WaPipeError,
)
from server.domain.text import Text
from server.whatsapp.untrusted_input import as_object, get_str

UNAVAILABLE_WAIT = 5.0
RATE_LIMIT_WAIT = 10.0
_SNIPPET = 200


def waha_error(source: httpx.Response | httpx.HTTPError, *, maybe_sent: bool = False) -> WaPipeError:
    """The domain error for a failed WAHA call, with the cause chained.

    ``maybe_sent`` marks calls that may have taken effect before failing (sends): a timeout or 5xx then
    yields ``GatewayUnavailable(maybe_sent=True)``. A refused connection never sent anything.
    """
    if isinstance(source, httpx.HTTPError):
        never_sent = isinstance(source, httpx.ConnectError | httpx.ConnectTimeout | httpx.UnsupportedProtocol)
        error: WaPipeError = GatewayUnavailable(
            Text("The WhatsApp gateway (WAHA) could not be reached (%(error)s)", error=type(source).__name__),
            retry_after=UNAVAILABLE_WAIT,
            maybe_sent=maybe_sent and not never_sent,
        )
        error.__cause__ = source
        return error
    error = _error_for_response(source, maybe_sent=maybe_sent)
    error.__cause__ = _status_error(source)
    return error


def _status_error(response: httpx.Response) -> httpx.HTTPStatusError | None:
    try:
        request = response.request
    except RuntimeError:
        return None
    return httpx.HTTPStatusError(f"HTTP {response.status_code}", request=request, response=response)


def _error_for_response(response: httpx.Response, *, maybe_sent: bool) -> WaPipeError:
    status = response.status_code
    body = _json_object(response)
    text = get_str(body, "message") or get_str(body, "error") or response.text[:_SNIPPET] or f"HTTP {status}"
    if status in (401, 403):
        return Unauthorized(
            Text("WAHA rejected the API key (HTTP %(status)s); check WAPIPE_WAHA_API_KEY", status=status)
        )
    if status == 404:
        return NotFound(Text("WAHA has no such session or record: %(answer)s", answer=text))
    session_status = get_str(body, "status")
    if status == 422 and (session_status is not None or "session status" in text.lower()):
        if session_status == "STARTING":
            return GatewayUnavailable(
                Text("The WhatsApp session is still starting; try again shortly"),
                reason="session_starting",
                retry_after=UNAVAILABLE_WAIT,
            )
        return SessionDisconnected(
            Text(
                "The WhatsApp session is not connected (status %(status)s); reconnect the number by "
                "scanning the QR code",
                status=session_status or Text("unknown"),
            )
        )
    if status == 429:
        if maybe_sent:
            # A gateway may answer 429 after it already handed the message to WhatsApp; the outbox must
            # look for it before sending again (see server.domain.send_echoes).
            return GatewayUnavailable(
                Text("WAHA is rate limiting: %(answer)s", answer=text),
                reason="rate_limited",
                retry_after=_retry_after(response),
                maybe_sent=True,
            )
        return Transient(
            Text("WAHA is rate limiting: %(answer)s", answer=text),
            reason="rate_limited",
            retry_after=_retry_after(response),
        )
    if status >= 500:
        return GatewayUnavailable(
            Text("WAHA failed with HTTP %(status)s: %(answer)s", status=status, answer=text),
            retry_after=UNAVAILABLE_WAIT,
            maybe_sent=maybe_sent,
        )
    return Permanent(
        Text("WAHA rejected the request (HTTP %(status)s): %(answer)s", status=status, answer=text),
        reason="gateway_rejected",
    )


def _json_object(response: httpx.Response) -> dict[str, object] | None:
    try:
        value = json.loads(response.content)
    except ValueError:
        return None
    obj = as_object(value)
    return dict(obj) if obj is not None else None


def _retry_after(response: httpx.Response) -> float:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return RATE_LIMIT_WAIT
