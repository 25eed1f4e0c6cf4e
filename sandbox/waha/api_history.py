"""WAHA's read endpoints: chats and message history, groups, the exists-check, LIDs and media files."""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.waha.gateway import endpoint, flag, int_param
from sandbox.waha.jids import digits, normalize_chat_id
from sandbox.waha.models import Message, SandboxError, Session
from sandbox.waha.payloads import chat_json, group_json, message_payload
from sandbox.waha.state import SandboxState


async def list_chats(request: Request, waha: SandboxState) -> Response:
    session = waha.working(request.path_params["session"])
    waha.server.check_chats(session)
    chats = sorted(session.chats.values(), key=lambda c: c.last_timestamp, reverse=True)
    if request.query_params.get("sortOrder") == "asc":
        chats.reverse()
    offset = int_param(request, "offset", 0) or 0
    limit = int_param(request, "limit")
    page = chats[offset : offset + limit if limit is not None else None]
    return JSONResponse([chat_json(c) for c in page])


def _history_payload(
    waha: SandboxState, session: Session, message: Message, download: bool
) -> dict[str, Any]:
    """With `downloadMedia`, the gateway fetches the media again (a new file) unless it is gone. A message
    its sender edited or deleted is answered as first sent: GOWS's store keeps that copy (docs/waha.md)."""
    if message.as_sent is not None:
        body, media = message.as_sent
        message = dataclasses.replace(message, body=body, media=media)
    url = None
    if message.media is not None and download and not session.faults.media_gone:
        if waha.media.get(message.media.name) is None:
            waha.media.publish(message.media)
        url = waha.media_url(message.media.name)
    quoted = session.find_message(message.reply_to) if message.reply_to else None
    return message_payload(message, session, media_url=url, download_media=download, reply=quoted)


def _matches(message: Message, request: Request) -> bool:
    query = request.query_params
    gte, lte = int_param(request, "filter.timestamp.gte"), int_param(request, "filter.timestamp.lte")
    if gte is not None and message.timestamp < gte:
        return False
    if lte is not None and message.timestamp > lte:
        return False
    from_me = query.get("filter.fromMe")
    if from_me not in (None, "") and message.from_me != flag(from_me, False):
        return False
    ack = int_param(request, "filter.ack")
    return ack is None or message.ack == ack


async def chat_messages(request: Request, waha: SandboxState) -> Response:
    """Newest first; `chatId=all` reads every chat."""
    session = waha.working(request.path_params["session"])
    raw_chat = unquote(request.path_params["chat_id"])
    chat_id = raw_chat if raw_chat == "all" else normalize_chat_id(raw_chat)
    waha.server.check_history(session, chat_id)
    if chat_id == "all":
        found = [m for chat in session.chats.values() for m in chat.messages]
    elif chat_id in session.chats:
        found = list(session.chats[chat_id].messages)
    else:
        found = []
    arrival = {id(m): n for n, m in enumerate(found)}
    found = sorted(
        (m for m in found if _matches(m, request)), key=lambda m: (m.timestamp, arrival[id(m)]), reverse=True
    )
    offset = int_param(request, "offset", 0) or 0
    limit = int_param(request, "limit", 100) or 100
    download = flag(request.query_params.get("downloadMedia"), True)
    page = found[offset : offset + limit]
    return JSONResponse([_history_payload(waha, session, m, download) for m in page])


async def chat_message(request: Request, waha: SandboxState) -> Response:
    session = waha.working(request.path_params["session"])
    message = session.find_message(unquote(request.path_params["message_id"]))
    if message is None or message.chat_id != normalize_chat_id(unquote(request.path_params["chat_id"])):
        raise SandboxError(404, "Message not found")
    download = flag(request.query_params.get("downloadMedia"), True)
    return JSONResponse(_history_payload(waha, session, message, download))


async def list_groups(request: Request, waha: SandboxState) -> Response:
    session = waha.working(request.path_params["session"])
    return JSONResponse([group_json(g) for g in session.groups.values()])


def _group(waha: SandboxState, request: Request) -> dict[str, Any]:
    session = waha.working(request.path_params["session"])
    group = session.groups.get(unquote(request.path_params["group_id"]))
    if group is None:
        raise SandboxError(404, "Group not found")
    return group_json(group)


async def get_group(request: Request, waha: SandboxState) -> Response:
    return JSONResponse(_group(waha, request))


def _cus(jid: str) -> str:
    return jid.replace("@s.whatsapp.net", "@c.us")


async def group_participants(request: Request, waha: SandboxState) -> Response:
    members = _group(waha, request)["Participants"]
    roles = []
    for m in members:
        role = "superadmin" if m["IsSuperAdmin"] else "admin" if m["IsAdmin"] else "participant"
        entry = {"id": _cus(m["JID"]), "role": role}
        if m["PhoneNumber"]:
            entry["pn"] = _cus(m["PhoneNumber"])  # left out when the member's phone is hidden
        roles.append(entry)
    return JSONResponse(roles)


async def check_exists(request: Request, waha: SandboxState) -> Response:
    waha.working(request.query_params.get("session") or "default")
    phone = request.query_params.get("phone") or ""
    if not digits(phone):
        raise SandboxError(400, "'phone' is required")
    account = waha.check_exists(phone)
    if account is None:
        return JSONResponse({"numberExists": False})  # chatId is left out ("undefined")
    return JSONResponse({"numberExists": True, "chatId": f"{account}@c.us"})


def _lid_json(lid: str, phone: str | None) -> dict[str, Any]:
    return {"lid": f"{lid}@lid", "pn": f"{phone}@c.us" if phone else None}


async def list_lids(request: Request, waha: SandboxState) -> Response:
    session = waha.working(request.path_params["session"])
    known = [_lid_json(lid, pn) for lid, pn in session.lids.items() if pn]
    offset = int_param(request, "offset", 0) or 0
    limit = int_param(request, "limit", 100) or 100
    return JSONResponse(known[offset : offset + limit])


async def count_lids(request: Request, waha: SandboxState) -> Response:
    session = waha.working(request.path_params["session"])
    return JSONResponse({"count": sum(1 for pn in session.lids.values() if pn)})


async def lid_by_lid(request: Request, waha: SandboxState) -> Response:
    session = waha.working(request.path_params["session"])
    lid = digits(unquote(request.path_params["lid"]))
    return JSONResponse(_lid_json(lid, session.lids.get(lid)))


async def lid_by_phone(request: Request, waha: SandboxState) -> Response:
    session = waha.working(request.path_params["session"])
    phone = digits(unquote(request.path_params["phone"]))
    lid = next((lid for lid, pn in session.lids.items() if pn == phone), None)
    return JSONResponse({"lid": f"{lid}@lid" if lid else None, "pn": f"{phone}@c.us"})


async def get_file(request: Request, waha: SandboxState) -> Response:
    name = unquote(request.path_params["name"]).rsplit("/", 1)[-1]
    fault = next((s.faults.media_status for s in waha.sessions.values() if s.faults.media_status), None)
    fault = fault or _file_failure(waha, name)
    if fault:
        waha.media.record(name, fault)
        return JSONResponse({"statusCode": fault, "message": "File is not available"}, status_code=fault)
    media = waha.media.get(name)
    if media is None:
        waha.media.record(name, 404)
        return JSONResponse({"statusCode": 404, "message": "File not found"}, status_code=404)
    waha.media.record(name, 200)
    return Response(media.data, media_type=media.mimetype)


def _file_failure(waha: SandboxState, name: str) -> int | None:
    """The next status a failing file answers (`Faults.media_failures`), used up as it is answered."""
    for session in waha.sessions.values():
        statuses = session.faults.media_failures.get(name)
        if statuses:
            return statuses.pop(0)
    return None


routes = [
    Route("/api/files/{name:path}", endpoint(get_file), methods=["GET"]),
    Route("/api/{session}/chats", endpoint(list_chats), methods=["GET"]),
    Route("/api/{session}/chats/{chat_id}/messages", endpoint(chat_messages), methods=["GET"]),
    Route("/api/{session}/chats/{chat_id}/messages/{message_id}", endpoint(chat_message), methods=["GET"]),
    Route("/api/{session}/groups", endpoint(list_groups), methods=["GET"]),
    Route("/api/{session}/groups/{group_id}", endpoint(get_group), methods=["GET"]),
    Route("/api/{session}/groups/{group_id}/participants/v2", endpoint(group_participants), methods=["GET"]),
    Route("/api/contacts/check-exists", endpoint(check_exists), methods=["GET"]),
    Route("/api/{session}/lids", endpoint(list_lids), methods=["GET"]),
    Route("/api/{session}/lids/count", endpoint(count_lids), methods=["GET"]),
    Route("/api/{session}/lids/pn/{phone}", endpoint(lid_by_phone), methods=["GET"]),
    Route("/api/{session}/lids/{lid}", endpoint(lid_by_lid), methods=["GET"]),
]
