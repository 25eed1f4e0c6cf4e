"""The simulated phone page: link a number by scanning the QR code, write as customers, watch the ticks.

The page (`/_sim/phone/{session}`) polls `state.json` and acts through the control endpoints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from sandbox.waha import message_kinds, seeds
from sandbox.waha.api_sessions import qr_png
from sandbox.waha.gateway import endpoint
from sandbox.waha.jids import digits, is_lid
from sandbox.waha.models import ACK_NAMES, Message, SandboxError, Session, Status
from sandbox.waha.state import SandboxState

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))


def _author_name(waha: SandboxState, session: Session, message: Message) -> str:
    if message.from_me:
        return "You"
    author = message.participant or message.sender
    if is_lid(author):
        return message.push_name or f"~{digits(author)[:6]}… (number hidden)"
    return message.push_name or waha.contact_names.get(digits(author)) or f"+{digits(author)}"


def _poll_json(message: Message) -> dict[str, Any] | None:
    """A poll's answers, for the page's vote buttons."""
    if message.kind != "poll" or message.content is None:
        return None
    return {"options": list(message.content["options"]), "multiple": bool(message.content.get("multiple"))}


def _message_json(waha: SandboxState, session: Session, message: Message) -> dict[str, Any]:
    media = message.media
    return {
        "id": message.id,
        "fromMe": message.from_me,
        "author": _author_name(waha, session, message),
        "body": message.body,
        "kind": message.kind,
        "preview": message_kinds.preview(message) if message.kind in message_kinds.KINDS else None,
        "poll": _poll_json(message),
        "ack": message.ack,
        "ackName": ACK_NAMES[message.ack],
        "timestamp": message.timestamp,
        "source": message.source,
        "media": (
            {
                "url": f"/_sim/phone/{session.name}/media/{message.raw_id}",
                "mimetype": media.mimetype,
                "filename": media.filename,
            }
            if media
            else None
        ),
    }


def phone_state(waha: SandboxState, name: str) -> dict[str, Any]:
    session = waha.sessions.get(name)
    state: dict[str, Any] = {
        "session": {"name": name, "exists": session is not None, "status": "MISSING", "me": None},
        "qr": None,
        "chats": [],
        "groups": [],
        "contacts": [{"name": n, "phone": p} for n, p in waha.contacts],
        "customers": [
            {"name": n, "phone": p}
            for n, p, _ in seeds.CUSTOMERS
            if p not in {phone for _, phone in waha.contacts}
        ],
        "deliveries": [d.summary() for d in waha.deliveries if d.session == name][-8:][::-1],
        "now": waha.clock.now_s(),
    }
    if session is None:
        return state
    state["session"].update(status=str(session.status), me=session.me())
    if session.status == Status.SCAN_QR_CODE and session.qr_value:
        image = f"/_sim/phone/{name}/qr.png?v={session.qr_generation}.{session.qr_rotations}"
        state["qr"] = {"value": session.qr_value, "image": image}
    chats = sorted(session.chats.values(), key=lambda c: c.last_timestamp, reverse=True)
    state["chats"] = [
        {
            "id": chat.id,
            "name": chat.name or f"+{digits(chat.id)}",
            "isGroup": chat.is_group,
            "timestamp": chat.last_timestamp,
            "messages": [_message_json(waha, session, m) for m in chat.messages[-60:]],
        }
        for chat in chats
    ]
    state["groups"] = [{"id": g.id, "subject": g.subject} for g in session.groups.values()]
    return state


async def page(request: Request, waha: SandboxState) -> Response:
    name = request.path_params["session"]
    return templates.TemplateResponse(request, "phone.html", {"session": name})


async def state_json(request: Request, waha: SandboxState) -> Response:
    return JSONResponse(phone_state(waha, request.path_params["session"]))


async def qr_image(request: Request, waha: SandboxState) -> Response:
    session = waha.session(request.path_params["session"])
    if session.qr_value is None:
        raise SandboxError(404, "No QR code is showing")
    return Response(qr_png(session.qr_value), media_type="image/png", headers={"Cache-Control": "no-store"})


async def media(request: Request, waha: SandboxState) -> Response:
    session = waha.session(request.path_params["session"])
    message = session.find_message(request.path_params["raw_id"])
    if message is None or message.media is None:
        raise SandboxError(404, "No such media")
    return Response(message.media.data, media_type=message.media.mimetype)


routes = [
    Route("/_sim/phone/{session}", endpoint(page, auth=False), methods=["GET"]),
    Route("/_sim/phone/{session}/state.json", endpoint(state_json, auth=False), methods=["GET"]),
    Route("/_sim/phone/{session}/qr.png", endpoint(qr_image, auth=False), methods=["GET"]),
    Route("/_sim/phone/{session}/media/{raw_id}", endpoint(media, auth=False), methods=["GET"]),
    Mount("/_sim/static", app=StaticFiles(directory=str(HERE / "static")), name="waha-static"),
]
