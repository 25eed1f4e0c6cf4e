"""WAHA chat lists, groups, LID lookups and exists-checks → domain values. Pure.

These answers differ per engine (WEBJS nests ids as ``{"_serialized": …}``, GOWS returns whatsmeow's
capitalised structs), so each reader accepts the spellings seen and ignores what it cannot read.
"""

from __future__ import annotations

from server.domain.jids import Jid, JidKind, jid_or_none
from server.domain.whatsapp import ChatSummary, GroupInfo, GroupMember, Peer
from server.whatsapp.untrusted_input import (
    JsonObject,
    as_object,
    datetime_from_epoch,
    get_bool,
    get_int,
    get_object,
    get_str,
    objects_in,
)
from server.whatsapp.waha_payloads import peer_for


def id_of(obj: JsonObject | None, *keys: str) -> str | None:
    """The first id under ``keys``, plain or ``{"_serialized": …}``."""
    for key in keys:
        plain = get_str(obj, key)
        if plain is not None:
            return plain
        nested = get_str(get_object(obj, key), "_serialized")
        if nested is not None:
            return nested
    return None


def parse_chat(obj: JsonObject) -> ChatSummary | None:
    """One entry of ``GET /api/{session}/chats``; ``None`` for channels, status and unreadable ids."""
    jid = jid_or_none(id_of(obj, "id"))
    if jid is None or jid.kind is JidKind.OTHER:
        return None
    name = get_str(obj, "name") or get_str(obj, "subject")
    stamp = get_int(obj, "timestamp") or get_int(obj, "conversationTimestamp")
    if stamp is None:
        stamp = get_int(get_object(obj, "lastMessage"), "timestamp")
    return ChatSummary(peer=peer_for(jid, display_name=name), last_message_at=datetime_from_epoch(stamp))


def parse_group(group_key: str, info: JsonObject | None, participants: list[object]) -> GroupInfo:
    """``GET /groups/{id}`` (shape varies by engine) and ``GET /groups/{id}/participants/v2``."""
    metadata = get_object(info, "groupMetadata")
    subject = (
        get_str(info, "subject")
        or get_str(info, "name")
        or get_str(info, "Name")
        or get_str(metadata, "subject")
    )
    description = get_str(info, "description") or get_str(info, "desc") or get_str(info, "Topic")
    members: list[GroupMember] = []
    for entry in objects_in(participants):
        jid = jid_or_none(id_of(entry, "id"))
        if jid is None or jid.kind not in (JidKind.PHONE, JidKind.LID):
            continue
        phone = jid_or_none(get_str(entry, "pn") or get_str(entry, "phoneNumber"))
        members.append(
            GroupMember(peer=peer_for(jid, alt=phone), role=get_str(entry, "role") or "participant")
        )
    return GroupInfo(
        peer=Peer(chat_key=group_key, is_group=True, display_name=subject),
        subject=subject,
        description=description,
        members=tuple(members),
    )


def parse_lid_lookup(value: object) -> tuple[str | None, str | None]:
    """``{"lid": "…@lid", "pn": "…@c.us" | null}`` → (canonical LID key, canonical phone key)."""
    obj = as_object(value)
    lid = jid_or_none(get_str(obj, "lid"))
    phone = jid_or_none(get_str(obj, "pn"))
    return (
        lid.chat_key if lid is not None and lid.kind is JidKind.LID else None,
        phone.chat_key if phone is not None and phone.kind is JidKind.PHONE else None,
    )


def parse_exists(value: object) -> Jid | None:
    """``{"numberExists": bool, "chatId": "…@c.us"}`` → the chat to use, or ``None`` when not on WhatsApp."""
    obj = as_object(value)
    if get_bool(obj, "numberExists") is not True:
        return None
    jid = jid_or_none(get_str(obj, "chatId"))
    return jid if jid is not None and jid.kind in (JidKind.PHONE, JidKind.LID) else None
