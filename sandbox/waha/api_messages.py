"""WAHA's send endpoints: `/api/sendText`, `sendImage`, `sendFile`, `sendVoice`, `sendVideo`.

A send fault (`Faults.send_failures`) fails the HTTP answer *after* the message reached the phone: the
outbox, history, `message.any` and acks all happen; only the response is a 500, a 429 or a timeout.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.waha import messages
from sandbox.waha.gateway import endpoint, json_body, required
from sandbox.waha.jids import normalize_chat_id
from sandbox.waha.models import SandboxError
from sandbox.waha.state import SandboxState

KIND_BY_ENDPOINT = {"sendImage": "image", "sendFile": "document", "sendVoice": "voice", "sendVideo": "video"}


async def _file_content(waha: SandboxState, file: Any) -> tuple[bytes, str | None, str | None, str | None]:
    """(bytes, mimetype, filename, url) from `file.data` (base64) or by downloading `file.url`."""
    if not isinstance(file, dict):
        raise SandboxError(400, "'file' is required: {mimetype, url | data, filename?}")
    mimetype, filename, url = file.get("mimetype"), file.get("filename"), file.get("url")
    if isinstance(file.get("data"), str):
        try:
            return base64.b64decode(file["data"], validate=True), mimetype, filename, None
        except binascii.Error as exc:
            raise SandboxError(400, "'file.data' is not valid base64") from exc
    if not isinstance(url, str) or not url:
        raise SandboxError(400, "'file.url' or 'file.data' is required")
    try:
        response = await waha.webhooks.http().get(url)
    except httpx.HTTPError as exc:
        raise SandboxError(500, f"Failed to download the file from {url}: {exc}") from exc
    if response.status_code != 200:
        raise SandboxError(500, f"Failed to download the file from {url}: HTTP {response.status_code}")
    if not mimetype:
        mimetype = response.headers.get("content-type", "").split(";")[0] or None
    return response.content, mimetype, filename, url


async def _send(request: Request, waha: SandboxState, kind: str) -> Response:
    body = await json_body(request)
    session = waha.working(str(body.get("session") or "default"))
    chat_id = normalize_chat_id(required(body, "chatId"))
    options: dict[str, Any] = {"kind": kind, "reply_to": body.get("reply_to") or body.get("reply_to_id")}
    if kind == "text":
        text = required(body, "text")
    else:
        data, mimetype, filename, url = await _file_content(waha, body.get("file"))
        options.update(data=data, mimetype=mimetype, filename=filename, file_url=url)
        text = str(body.get("caption") or "")
    message = messages.send(waha, session, chat_id, text, **options)
    answer = messages.payload(waha, session, message)
    if session.faults.send_failures:
        failure = session.faults.send_failures.pop(0)
        if failure == "timeout":
            await asyncio.sleep(waha.send_timeout_seconds)
            return JSONResponse({"statusCode": 504, "message": "Gateway Timeout"}, status_code=504)
        if failure == "429":
            return JSONResponse({"statusCode": 429, "message": "Too Many Requests"}, status_code=429)
        return JSONResponse({"statusCode": 500, "message": "Internal server error"}, status_code=500)
    return JSONResponse(answer, status_code=201)


async def send_text(request: Request, waha: SandboxState) -> Response:
    return await _send(request, waha, "text")


async def send_media(request: Request, waha: SandboxState) -> Response:
    return await _send(request, waha, KIND_BY_ENDPOINT[request.url.path.rsplit("/", 1)[-1]])


routes = [
    Route("/api/sendText", endpoint(send_text), methods=["POST"]),
    *[Route(f"/api/{name}", endpoint(send_media), methods=["POST"]) for name in KIND_BY_ENDPOINT],
]
