"""WAHA's session and pairing endpoints: `/api/sessions...` and `/api/{session}/auth/...`."""

from __future__ import annotations

import base64
import io

import segno
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.waha import sessions
from sandbox.waha.gateway import endpoint, flag, json_body, required
from sandbox.waha.models import SandboxError, Session, Status
from sandbox.waha.payloads import session_json
from sandbox.waha.state import SandboxState


def qr_png(value: str) -> bytes:
    """The linking code as WAHA draws it: a QR code (error correction M or better) in a PNG."""
    image = io.BytesIO()
    segno.make(value, error="m", micro=False).save(image, kind="png", scale=8, border=4)
    return image.getvalue()


def _named(request: Request, waha: SandboxState) -> Session:
    return waha.session(request.path_params["name"])


async def create_session(request: Request, waha: SandboxState) -> Response:
    body = await json_body(request)
    config = body.get("config", {}) if body.get("config") is not None else {}
    if not isinstance(config, dict):
        raise SandboxError(400, "'config' must be an object")
    session = waha.create_session(
        str(body.get("name") or "default"), config, start=body.get("start", True) is not False
    )
    return JSONResponse(session_json(session), status_code=201)


async def list_sessions(request: Request, waha: SandboxState) -> Response:
    everything = flag(request.query_params.get("all"), False)
    found = [s for s in waha.sessions.values() if everything or s.status != Status.STOPPED]
    return JSONResponse([session_json(s) for s in found])


async def get_session(request: Request, waha: SandboxState) -> Response:
    return JSONResponse(session_json(_named(request, waha)))


async def update_session(request: Request, waha: SandboxState) -> Response:
    body = await json_body(request)
    config = body.get("config", {}) if body.get("config") is not None else {}
    if not isinstance(config, dict):
        raise SandboxError(400, "'config' must be an object")
    return JSONResponse(session_json(sessions.update(waha, _named(request, waha), config)))


async def delete_session(request: Request, waha: SandboxState) -> Response:
    session = _named(request, waha)
    sessions.stop(waha, session)
    del waha.sessions[session.name]
    return JSONResponse({})


async def session_action(request: Request, waha: SandboxState) -> Response:
    session = _named(request, waha)
    action = request.path_params["action"]
    if action == "start":
        sessions.start(waha, session)
    elif action == "stop":
        sessions.stop(waha, session)
    elif action == "restart":
        sessions.restart(waha, session)
    elif action == "logout":
        sessions.logout(waha, session)
    else:
        raise SandboxError(404, f"Cannot POST /api/sessions/{session.name}/{action}")
    return JSONResponse(session_json(session), status_code=201)


async def me(request: Request, waha: SandboxState) -> Response:
    return JSONResponse(_named(request, waha).me())


def _showing_qr(waha: SandboxState, name: str) -> Session:
    session = waha.session(name)
    if session.status != Status.SCAN_QR_CODE or session.qr_value is None:
        raise SandboxError(
            422,
            f"Can get QR code only in SCAN_QR_CODE status. The current status is '{session.status}'",
            session=name,
            status=str(session.status),
            expected=["SCAN_QR_CODE"],
        )
    return session


async def auth_qr(request: Request, waha: SandboxState) -> Response:
    """PNG by default; `Accept: application/json` -> base64; `?format=raw` -> the QR text."""
    session = _showing_qr(waha, request.path_params["session"])
    value = session.qr_value or ""
    if request.query_params.get("format") == "raw":
        return JSONResponse({"value": value})
    image = qr_png(value)
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"mimetype": "image/png", "data": base64.b64encode(image).decode()})
    return Response(image, media_type="image/png")


async def request_code(request: Request, waha: SandboxState) -> Response:
    body = await json_body(request)
    session = waha.session(request.path_params["session"])
    code = sessions.request_code(waha, session, required(body, "phoneNumber"))
    return JSONResponse({"code": code}, status_code=201)


routes = [
    Route("/api/sessions", endpoint(create_session), methods=["POST"]),
    Route("/api/sessions", endpoint(list_sessions), methods=["GET"]),
    Route("/api/sessions/{name}", endpoint(get_session), methods=["GET"]),
    Route("/api/sessions/{name}", endpoint(update_session), methods=["PUT"]),
    Route("/api/sessions/{name}", endpoint(delete_session), methods=["DELETE"]),
    Route("/api/sessions/{name}/me", endpoint(me), methods=["GET"]),
    Route("/api/sessions/{name}/{action}", endpoint(session_action), methods=["POST"]),
    Route("/api/{session}/auth/qr", endpoint(auth_qr), methods=["GET"]),
    Route("/api/{session}/auth/request-code", endpoint(request_code), methods=["POST"]),
]
