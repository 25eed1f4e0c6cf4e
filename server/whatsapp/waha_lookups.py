"""Looking people and groups up through WAHA: group members, LID ↔ phone number, and number checks."""

from __future__ import annotations

import httpx

from server.domain.errors import InvalidInput, NotFound, NumberNotOnWhatsApp
from server.domain.jids import JidKind, parse_jid, wa_user_from_e164
from server.domain.text import Text
from server.domain.whatsapp import GroupInfo, Peer
from server.whatsapp.untrusted_input import as_object
from server.whatsapp.waha_directory import parse_exists, parse_group, parse_lid_lookup
from server.whatsapp.waha_http import as_list, request_json, segment, session_name


async def read_group(http: httpx.AsyncClient, account_id: str, group_key: str) -> GroupInfo:
    """The group's subject and participants; ``InvalidInput`` when ``group_key`` is not a group."""
    jid = parse_jid(group_key)
    if jid.kind is not JidKind.GROUP:
        raise InvalidInput(f"{group_key!r} is not a group", reason="invalid_chat_id")
    base = f"/api/{segment(session_name(account_id))}/groups/{segment(jid.chat_key)}"
    info = as_object(await request_json(http, "GET", base))
    participants = as_list(await request_json(http, "GET", f"{base}/participants/v2"))
    return parse_group(jid.chat_key, info, participants)


async def resolve_lid(http: httpx.AsyncClient, account_id: str, lid: str) -> Peer:
    """The person behind a LID: with their phone number when WAHA knows it, else the LID alone."""
    jid = parse_jid(lid)
    if jid.kind is not JidKind.LID:
        raise InvalidInput(f"{lid!r} is not a LID", reason="invalid_chat_id")
    path = f"/api/{segment(session_name(account_id))}/lids/{segment(jid.chat_key)}"
    try:
        answer = await request_json(http, "GET", path)
    except NotFound:
        return Peer(chat_key=jid.chat_key, lid=jid.chat_key)
    _, phone_key = parse_lid_lookup(answer)
    if phone_key is None:
        return Peer(chat_key=jid.chat_key, lid=jid.chat_key)
    return Peer(chat_key=phone_key, e164=parse_jid(phone_key).e164, lid=jid.chat_key)


async def lid_for_phone(http: httpx.AsyncClient, account_id: str, e164: str) -> str | None:
    """The LID WAHA knows for a phone number, or ``None``."""
    phone_id = f"{wa_user_from_e164(e164)}@c.us"
    path = f"/api/{segment(session_name(account_id))}/lids/pn/{segment(phone_id)}"
    try:
        answer = await request_json(http, "GET", path)
    except NotFound:
        return None
    lid_key, _ = parse_lid_lookup(answer)
    return lid_key


async def check_number(http: httpx.AsyncClient, account_id: str, e164: str) -> Peer:
    """The WhatsApp account of a phone number; ``NumberNotOnWhatsApp`` when it has none."""
    params = {"phone": wa_user_from_e164(e164), "session": session_name(account_id)}
    jid = parse_exists(await request_json(http, "GET", "/api/contacts/check-exists", params=params))
    if jid is None:
        raise NumberNotOnWhatsApp(Text("%(number)s has no WhatsApp account", number=e164))
    return Peer(chat_key=jid.chat_key, e164=jid.e164, lid=jid.chat_key if jid.kind is JidKind.LID else None)
