"""Test and demo controls under `/_sim/...` (no API key): play the phone, move the clock, inject faults.

POST /_sim/reset                          forget everything
GET  /_sim/clock | POST {advance|set}     read or move the sandbox clock (jobs run on the way)
POST /_sim/settle                         wait for webhook deliveries in flight
GET  /_sim/deliveries?session=&event=     every delivery attempt, with the envelope sent
GET  /_sim/events?session=                every event the gateway produced
POST /_sim/directory {phone, exists}      who is on WhatsApp (check-exists)
POST /_sim/media/expire                   delete every downloaded file now
POST /_sim/{s}/start                      create (without webhooks) if missing and start
POST /_sim/{s}/scan {phone, pushName, qr?}    the phone scans the QR code
POST /_sim/{s}/pair {code, pushName?}     the phone enters the pairing code
POST /_sim/{s}/inbound {from, text, group?, kind?, data?, mimetype?, filename?, asLid?, replyTo?, name?}
POST /_sim/{s}/groups {subject, members?: [phone…]}   a group the linked phone is in (its id back)
POST /_sim/{s}/phone-message {chatId, text, kind?, data?, mimetype?, filename?, replyTo?}
POST /_sim/{s}/edit {id, text}            the message's sender edits it (message.edited)
POST /_sim/{s}/revoke {id}                the message's sender deletes it for everyone (message.revoked)
POST /_sim/{s}/react {id, reaction, from?}    a reaction ("" removes it) from a contact, else the phone
POST /_sim/{s}/ack {id, ack, participant?}
POST /_sim/{s}/lids {lid, pn}             the gateway learns a LID's phone number
GET  /_sim/{s}/outbox                     what API sends delivered to phones
GET|POST /_sim/{s}/faults {...}           read or set fault switches (see models.Faults)
POST /_sim/{s}/fail {reason?}  /phone-logout  /offline {offline, reconnect?}
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.waha import calls, change_controls, message_kinds, messages, polls, sessions
from sandbox.waha.gateway import Handler, endpoint, json_body, required
from sandbox.waha.jids import digits
from sandbox.waha.models import SEND_FAILURES, Chat, Faults, Group, Member, SandboxError
from sandbox.waha.state import SandboxState


def _session_name(request: Request) -> str:
    return str(request.path_params["session"])


def _decode(body: dict[str, Any]) -> bytes | None:
    data = body.get("data")
    if data is None:
        return None
    try:
        return base64.b64decode(str(data), validate=True)
    except binascii.Error as exc:
        raise SandboxError(400, "'data' is not valid base64") from exc


async def reset(request: Request, waha: SandboxState) -> Response:
    waha.reset()
    return JSONResponse({"reset": True})


async def clock(request: Request, waha: SandboxState) -> Response:
    if request.method == "POST":
        body = await json_body(request)
        if "set" in body:
            waha.clock.set_ms(int(body["set"]))
        await waha.elapse(float(body.get("advance", 0)))
    now = waha.clock.now_ms()
    return JSONResponse({"now": now, "nowSeconds": now // 1000, "scheduled": waha.scheduler.pending()})


async def settle(request: Request, waha: SandboxState) -> Response:
    await waha.settle()
    return JSONResponse({"settled": True})


async def deliveries(request: Request, waha: SandboxState) -> Response:
    session, event = request.query_params.get("session"), request.query_params.get("event")
    found = [
        {**d.summary(), "envelope": d.envelope()}
        for d in waha.deliveries
        if (not session or d.session == session) and (not event or d.event == event)
    ]
    return JSONResponse(found)


async def events(request: Request, waha: SandboxState) -> Response:
    session = request.query_params.get("session")
    found = [e.envelope for e in waha.events if not session or e.session == session]
    return JSONResponse(found)


async def directory(request: Request, waha: SandboxState) -> Response:
    body = await json_body(request)
    number = digits(required(body, "phone"))
    if body.get("exists", True):
        waha.accounts.add(number)
        waha.missing_numbers.discard(number)
    else:
        waha.accounts.discard(number)
        waha.missing_numbers.add(number)
    return JSONResponse({"phone": number, "exists": waha.check_exists(number) is not None})


async def expire_media(request: Request, waha: SandboxState) -> Response:
    waha.expire_media()
    return JSONResponse({"expired": True})


async def ensure_started(request: Request, waha: SandboxState) -> Response:
    name = _session_name(request)
    session = waha.sessions.get(name) or waha.create_session(name, {}, start=False)
    sessions.start(waha, session)
    return JSONResponse({"name": name, "status": str(session.status)})


async def scan(request: Request, waha: SandboxState) -> Response:
    body = await json_body(request)
    qr = body.get("qr")
    session = waha.scan(_session_name(request), required(body, "phone"), str(body.get("pushName") or ""), qr)
    return JSONResponse({"name": session.name, "status": str(session.status), "me": session.me()})


async def pair(request: Request, waha: SandboxState) -> Response:
    body = await json_body(request)
    session = waha.session(_session_name(request))
    sessions.enter_code(waha, session, required(body, "code"), str(body.get("pushName") or ""))
    return JSONResponse({"name": session.name, "status": str(session.status), "me": session.me()})


def _media_options(body: dict[str, Any]) -> dict[str, Any]:
    kind = str(body.get("kind") or "text")
    return {
        "kind": kind,
        "content": message_kinds.content_from_request(kind, body),
        "data": _decode(body),
        "mimetype": body.get("mimetype"),
        "filename": body.get("filename"),
    }


async def inbound(request: Request, waha: SandboxState) -> Response:
    body = await json_body(request)
    name = _session_name(request)
    message = waha.receive(
        name,
        required(body, "from"),
        str(body.get("text") or body.get("caption") or ""),
        group=body.get("group") or None,
        as_lid=bool(body.get("asLid")),
        reply_to=body.get("replyTo") or None,
        push_name=body.get("name") or None,
        **_media_options(body),
    )
    return JSONResponse(messages.payload(waha, waha.session(name), message), status_code=201)


async def add_group(request: Request, waha: SandboxState) -> Response:
    body = await json_body(request)
    session = waha.working(_session_name(request))
    subject = str(required(body, "subject"))
    members = [Member(session.push_name, session.phone, session.own_lid, admin=True)]
    members += [Member("", digits(str(phone)), None) for phone in body.get("members") or []]
    group_id = waha.ids.group_id()
    session.groups[group_id] = Group(group_id, subject, members, created=waha.clock.now_s())
    session.chats.setdefault(group_id, Chat(group_id, subject))
    return JSONResponse({"id": group_id, "subject": subject}, status_code=201)


async def phone_message(request: Request, waha: SandboxState) -> Response:
    body = await json_body(request)
    name = _session_name(request)
    text = str(body.get("text") or body.get("caption") or "")
    options = {**_media_options(body), "reply_to": body.get("replyTo") or None}
    message = waha.type_on_phone(name, required(body, "chatId"), text, **options)
    return JSONResponse(messages.payload(waha, waha.session(name), message), status_code=201)


async def ack(request: Request, waha: SandboxState) -> Response:
    body = await json_body(request)
    level = body.get("ack")
    if not isinstance(level, int) or not -1 <= level <= 4:
        raise SandboxError(400, "'ack' must be an integer from -1 to 4")
    waha.set_ack(_session_name(request), required(body, "id"), level, body.get("participant"))
    return JSONResponse({"ok": True})


async def learn_lid(request: Request, waha: SandboxState) -> Response:
    body = await json_body(request)
    waha.learn_lid(_session_name(request), required(body, "lid"), required(body, "pn"))
    return JSONResponse({"lid": f"{digits(body['lid'])}@lid", "pn": f"{digits(body['pn'])}@c.us"})


async def outbox(request: Request, waha: SandboxState) -> Response:
    return JSONResponse(waha.outbox(_session_name(request)))


async def faults(request: Request, waha: SandboxState) -> Response:
    current = waha.faults(_session_name(request))
    if request.method == "POST":
        body = await json_body(request)
        known = set(Faults().as_dict())
        unknown = set(body) - known
        if unknown:
            raise SandboxError(400, f"unknown fault switches: {sorted(unknown)}; known: {sorted(known)}")
        failures = body.get("send_failures", [])
        if not isinstance(failures, list) or any(f not in SEND_FAILURES for f in failures):
            raise SandboxError(400, f"'send_failures' items must be among {list(SEND_FAILURES)}")
        _check_media_failures(body.get("media_failures", {}))
        for key, value in body.items():
            setattr(current, key, value)
    return JSONResponse(current.as_dict())


def _check_media_failures(value: Any) -> None:
    statuses = value.values() if isinstance(value, dict) else None
    if statuses is None or any(
        not isinstance(listed, list)
        or any(not isinstance(status, int) or not 400 <= status <= 599 for status in listed)
        for listed in statuses
    ):
        raise SandboxError(400, "'media_failures' maps a file name to a list of HTTP statuses 400-599")


async def fail(request: Request, waha: SandboxState) -> Response:
    body = await json_body(request)
    session = waha.fail(_session_name(request), str(body.get("reason") or "connection failed"))
    return JSONResponse({"name": session.name, "status": str(session.status)})


async def phone_logout(request: Request, waha: SandboxState) -> Response:
    session = waha.phone_logout(_session_name(request))
    return JSONResponse({"name": session.name, "status": str(session.status)})


async def offline(request: Request, waha: SandboxState) -> Response:
    body = await json_body(request)
    name = _session_name(request)
    if body.get("offline", True):
        waha.start_offline_gap(name)
    else:
        waha.end_offline_gap(name, reconnect=body.get("reconnect", True) is not False)
    return JSONResponse({"offline": waha.faults(name).offline})


def _control(path: str, handler: Handler, methods: list[str]) -> Route:
    return Route(f"/_sim{path}", endpoint(handler, auth=False), methods=methods)


routes = [
    _control("/reset", reset, ["POST"]),
    _control("/clock", clock, ["GET", "POST"]),
    _control("/settle", settle, ["POST"]),
    _control("/deliveries", deliveries, ["GET"]),
    _control("/events", events, ["GET"]),
    _control("/directory", directory, ["POST"]),
    _control("/media/expire", expire_media, ["POST"]),
    _control("/{session}/start", ensure_started, ["POST"]),
    _control("/{session}/scan", scan, ["POST"]),
    _control("/{session}/pair", pair, ["POST"]),
    _control("/{session}/inbound", inbound, ["POST"]),
    _control("/{session}/groups", add_group, ["POST"]),
    _control("/{session}/phone-message", phone_message, ["POST"]),
    _control("/{session}/edit", change_controls.edit_control, ["POST"]),
    _control("/{session}/revoke", change_controls.revoke_control, ["POST"]),
    _control("/{session}/react", change_controls.react_control, ["POST"]),
    _control("/{session}/call", calls.call, ["POST"]),
    _control("/{session}/vote", polls.vote_endpoint, ["POST"]),
    _control("/{session}/ack", ack, ["POST"]),
    _control("/{session}/lids", learn_lid, ["POST"]),
    _control("/{session}/outbox", outbox, ["GET"]),
    _control("/{session}/faults", faults, ["GET", "POST"]),
    _control("/{session}/fail", fail, ["POST"]),
    _control("/{session}/phone-logout", phone_logout, ["POST"]),
    _control("/{session}/offline", offline, ["POST"]),
]
