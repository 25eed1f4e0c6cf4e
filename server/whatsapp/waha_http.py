"""Calls to WAHA's REST API: one JSON request, session names and path segments checked and quoted.

    answer = await request_json(http, "GET", f"/api/{segment(session_name(account_id))}/chats")

Every failure comes back as a domain error (``waha_error``); ``maybe_sent`` marks the ones after which a
send may have gone out anyway.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from server.domain.errors import GatewayUnavailable, InvalidInput
from server.domain.text import Text
from server.whatsapp.untrusted_input import as_object, get_list
from server.whatsapp.waha_errors import waha_error

_SESSION_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


async def request_json(
    http: httpx.AsyncClient,
    method: str,
    path: str,
    *,
    json: object = None,
    params: Mapping[str, str | int] | None = None,
    headers: Mapping[str, str] | None = None,
    maybe_sent: bool = False,
) -> object:
    """Call WAHA and return the decoded JSON (``None`` for an empty body); domain errors otherwise."""
    kwargs: dict[str, Any] = {"params": params, "headers": headers}
    if json is not None:
        kwargs["json"] = json
    try:
        response = await http.request(method, path, **kwargs)
    except httpx.HTTPError as error:
        raise waha_error(error, maybe_sent=maybe_sent) from error
    if not response.is_success:
        raise waha_error(response, maybe_sent=maybe_sent)
    if not response.content.strip():
        return None
    try:
        return response.json()
    except ValueError as error:
        raise GatewayUnavailable(
            Text(
                "WAHA answered %(method)s %(path)s with something that is not JSON", method=method, path=path
            ),
            reason="gateway_bad_response",
            maybe_sent=maybe_sent,
        ) from error


def session_name(account_id: str) -> str:
    """The WAHA session name for an account: the account id itself, if WAHA accepts it as one."""
    if not _SESSION_NAME.fullmatch(account_id):
        raise InvalidInput(
            f"{account_id[:40]!r} cannot be a WAHA session name (letters, digits, - and _)",
            reason="invalid_account",
        )
    return account_id


def segment(text: str) -> str:
    """``text`` quoted as one URL path segment (a ``/`` in it cannot reach another endpoint)."""
    return quote(text, safe="")


def as_list(answer: object) -> list[object]:
    """A list answer as is, or the ``data`` list of an object answer."""
    if isinstance(answer, list):
        return answer
    return get_list(as_object(answer), "data")
