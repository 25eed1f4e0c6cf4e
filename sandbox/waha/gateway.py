"""What every request passes through: the `X-Api-Key` check, the clock tick, and error answers."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.waha.models import SandboxError
from sandbox.waha.state import SandboxState

Handler = Callable[[Request, SandboxState], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def key_matches(given: str | None, configured: str) -> bool:
    """WAHA takes the server key plain or as `sha512:<hex digest>`."""
    if not given:
        return False
    if configured.startswith("sha512:"):
        digest = hashlib.sha512(given.encode()).hexdigest()
        return hmac.compare_digest(digest, configured.removeprefix("sha512:").lower())
    return hmac.compare_digest(given, configured)


def error_response(error: SandboxError) -> JSONResponse:
    body: dict[str, Any] = {"statusCode": error.status, "message": error.message, **error.extra}
    return JSONResponse(body, status_code=error.status)


def endpoint(handler: Handler, *, auth: bool = True) -> Endpoint:
    """Wrap a handler: check the API key (WAHA routes), run due jobs, turn `SandboxError` into JSON."""

    async def run(request: Request) -> Response:
        waha: SandboxState = request.app.state.waha
        # The body is read before anything can fail: an answer given while a client is still sending
        # would reach it as a connection reset instead of the answer.
        await request.body()
        if auth and not key_matches(request.headers.get("x-api-key"), request.app.state.api_key):
            return JSONResponse({"statusCode": 401, "message": "Unauthorized"}, status_code=401)
        waha.tick()
        try:
            return await handler(request, waha)
        except SandboxError as error:
            return error_response(error)

    return run


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise SandboxError(400, "Request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise SandboxError(400, "Request body must be a JSON object")
    return body


def required(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise SandboxError(400, f"'{name}' is required")
    return value


def flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.lower() in ("1", "true", "yes")


def int_param(request: Request, name: str, default: int | None = None) -> int | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise SandboxError(400, f"'{name}' must be an integer") from exc
