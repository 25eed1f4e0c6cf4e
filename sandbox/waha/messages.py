"""Messages: contacts writing in, the owner typing on the phone, API sends, and their acks."""

from __future__ import annotations

import dataclasses
import functools
from typing import TYPE_CHECKING, Any

from sandbox.waha import media as media_files
from sandbox.waha import message_kinds
from sandbox.waha.jids import digits, is_group, is_lid, lid_jid, normalize_chat_id, user_jid
from sandbox.waha.models import (
    Chat,
    Group,
    Media,
    Member,
    Message,
    OutboxEntry,
    SandboxError,
    Session,
    Status,
)
from sandbox.waha.payloads import ack_payload, message_payload
from sandbox.waha.png import sample_picture

if TYPE_CHECKING:
    from sandbox.waha.state import SandboxState

DEFAULT_MIMETYPES = {
    "image": "image/jpeg",
    "document": "application/pdf",
    "voice": "audio/ogg; codecs=opus",
    "audio": "audio/mpeg",
    "video": "video/mp4",
    "sticker": "image/webp",
    "gif": "video/mp4",  # WhatsApp sends GIFs as MP4 videos played in a loop
}
MESSAGE_EVENTS = ("message", "message.any", "message.ack")


def sample_content(kind: str) -> bytes:
    """What a simulated photo, document or voice note contains when the caller gives no bytes."""
    if kind == "image":
        return sample_picture()
    if kind == "document":
        return media_files.MINIMAL_PDF
    if kind in message_kinds.SAMPLES:
        return message_kinds.SAMPLES[kind]
    return media_files.VOICE_NOTE


def _chat(state: SandboxState, session: Session, chat_id: str) -> Chat:
    chat = session.chats.get(chat_id)
    if chat is None:
        if is_group(chat_id):
            group = session.groups.get(chat_id)
            name = group.subject if group else chat_id
        else:
            name = state.contact_names.get(digits(chat_id), "")
        chat = session.chats[chat_id] = Chat(chat_id, name)
    return chat


def _attach(
    message: Message, kind: str, data: bytes | None, mimetype: str | None, filename: str | None
) -> None:
    if kind not in DEFAULT_MIMETYPES:
        return
    sample = kind == "image" and data is None and not mimetype
    mime = "image/png" if sample else (mimetype or DEFAULT_MIMETYPES[kind])
    content = data if data is not None else sample_content(kind)
    message.media = Media(f"{message.id}.{media_files.extension(mime)}", mime, content, filename)


def _new(
    state: SandboxState,
    session: Session,
    chat_id: str,
    *,
    from_me: bool,
    sender: str,
    body: str,
    kind: str,
    data: bytes | None,
    mimetype: str | None,
    filename: str | None,
    reply_to: str | None,
    content: dict[str, Any] | None = None,
) -> Message:
    if kind not in ("text", *DEFAULT_MIMETYPES, *message_kinds.KINDS):
        raise SandboxError(400, f"unknown message kind '{kind}'")
    quoted = session.find_message(reply_to) if reply_to else None
    message = Message(
        raw_id=state.ids.message_id(),
        chat_id=chat_id,
        from_me=from_me,
        sender=sender,
        timestamp=state.clock.now_s(),
        body=body,
        kind=kind,
        participant=sender if is_group(chat_id) else None,
        reply_to=quoted.raw_id if quoted else reply_to,
        content=content,
    )
    _attach(message, kind, data, mimetype, filename)
    _chat(state, session, chat_id).messages.append(message)
    if message.media is not None:
        state.media.publish(message.media)
    return message


def payload(
    state: SandboxState, session: Session, message: Message, *, with_source: bool = True
) -> dict[str, Any]:
    url = None
    if message.media is not None and state.media.get(message.media.name) is not None:
        url = state.media_url(message.media.name)
    quoted = session.find_message(message.reply_to) if message.reply_to else None
    return message_payload(message, session, media_url=url, reply=quoted, with_source=with_source)


def _emit(state: SandboxState, session: Session, event: str, body: dict[str, Any]) -> None:
    """Message events are lost while the phone is offline or the session is not WORKING."""
    if session.faults.offline or session.status != Status.WORKING:
        return
    state.emit(session, event, body)


def _emit_incoming(state: SandboxState, session: Session, message: Message) -> None:
    body = payload(state, session, message)
    _emit(state, session, "message", body)
    _emit(state, session, "message.any", body)
    lid = message.sender_alt if message.sender_alt and is_lid(message.sender_alt) else None
    if session.faults.lid_twins and lid and not message.is_group:
        twin = dataclasses.replace(message, chat_id=lid, sender=lid, sender_alt=message.sender)
        twin_body = payload(state, session, twin)
        _emit(state, session, "message", twin_body)
        _emit(state, session, "message.any", twin_body)


def chat_alt(session: Session, chat_id: str) -> str | None:
    """The other spelling of a 1:1 chat the gateway knows (phone for a LID, LID for a phone)."""
    if is_group(chat_id):
        return None
    if is_lid(chat_id):
        phone = session.lids.get(digits(chat_id))
        return user_jid(phone) if phone else None
    phone = digits(chat_id)
    lid = next((lid for lid, pn in session.lids.items() if pn == phone), None)
    return lid_jid(lid) if lid else None


def _author(state: SandboxState, session: Session, sender: str, as_lid: bool) -> tuple[str, str | None, str]:
    """(author JID, alternate JID, phone digits or "") for a sender given as digits, `@c.us` or `@lid`."""
    if is_lid(sender):
        lid = digits(sender)
        phone = session.lids.setdefault(lid, None)
        return lid_jid(lid), user_jid(phone) if phone else None, phone or ""
    phone = digits(normalize_chat_id(sender))
    lid = state.contact_lids.get(phone) or state.ids.lid()
    state.contact_lids[phone] = lid
    if as_lid:
        known = session.lids.setdefault(lid, None)
        return lid_jid(lid), user_jid(known) if known else None, phone
    session.lids[lid] = phone
    return user_jid(phone), lid_jid(lid), phone


def receive(
    state: SandboxState,
    session: Session,
    sender: str,
    text: str = "",
    *,
    group: str | None = None,
    kind: str = "text",
    data: bytes | None = None,
    mimetype: str | None = None,
    filename: str | None = None,
    as_lid: bool = False,
    reply_to: str | None = None,
    push_name: str | None = None,
    content: dict[str, Any] | None = None,
) -> Message:
    """A contact writes to the linked number (in `group` when given): `message` and `message.any`."""
    author, alt, phone = _author(state, session, sender, as_lid)
    if push_name and phone:
        state.contact_names[phone] = push_name
    push_name = push_name or state.contact_names.get(phone, "")
    chat_id = author
    if group:
        group_obj = session.groups.get(group)
        if group_obj is None:
            raise SandboxError(404, f"group {group} not found")
        if not any(author in (f"{m.phone}@c.us", f"{m.lid}@lid") for m in group_obj.members):
            group_obj.members.append(
                Member(push_name, phone or None, digits(author) if is_lid(author) else None)
            )
        chat_id = group
    message = _new(
        state,
        session,
        chat_id,
        from_me=False,
        sender=author,
        body=text,
        kind=kind,
        data=data,
        mimetype=mimetype,
        filename=filename,
        reply_to=reply_to,
        content=content,
    )
    message.ack, message.sender_alt, message.push_name = 2, alt, push_name
    if not group and not session.chats[chat_id].name:
        session.chats[chat_id].name = push_name
    _emit_incoming(state, session, message)
    return message


def type_on_phone(
    state: SandboxState,
    session: Session,
    chat_id: str,
    text: str = "",
    *,
    source: str = "app",
    **options: Any,
) -> Message:
    """The owner writes from the linked phone (`source: "app"`) or through the API (`"api"`)."""
    chat_id = normalize_chat_id(chat_id)
    if is_group(chat_id) and chat_id not in session.groups:
        raise SandboxError(404, f"group {chat_id} not found")
    message = _new(
        state,
        session,
        chat_id,
        from_me=True,
        sender=session.me_jid or "",
        body=text,
        kind=options.get("kind", "text"),
        data=options.get("data"),
        mimetype=options.get("mimetype"),
        filename=options.get("filename"),
        reply_to=options.get("reply_to"),
        content=options.get("content"),
    )
    message.source, message.push_name = source, session.push_name
    message.recipient_alt = chat_alt(session, chat_id)
    _emit(state, session, "message.any", payload(state, session, message))
    schedule_acks(state, session, message)
    return message


def send(state: SandboxState, session: Session, chat_id: str, text: str, **options: Any) -> Message:
    """An API send: the message reaches the phone (outbox), then `message.any` and acks follow."""
    message = type_on_phone(state, session, chat_id, text, source="api", **options)
    media = message.media
    session.outbox.append(
        OutboxEntry(
            message_id=message.id,
            chat_id=message.chat_id,
            kind=message.kind,
            text=text,
            timestamp_ms=state.clock.now_ms(),
            mimetype=media.mimetype if media else None,
            filename=media.filename if media else None,
            size=len(media.data) if media else None,
            sha256=media.sha256 if media else None,
            file_url=options.get("file_url"),
            reply_to=message.reply_to,
        )
    )
    return message


def _group_reader(session: Session, group: Group | None) -> str | None:
    for member in group.members if group else []:
        if member.phone != session.phone:
            return f"{member.phone}@c.us" if member.phone else f"{member.lid}@lid"
    return None


def schedule_acks(state: SandboxState, session: Session, message: Message) -> None:
    """SERVER, DEVICE, READ (and PLAYED for voice notes) at the configured delays; highest first on fault."""
    levels = [1, 2, 3, 4] if message.kind == "voice" else [1, 2, 3]
    if session.faults.acks_out_of_order:
        levels.reverse()
    for delay, level in zip(state.ack_delays, levels, strict=False):
        state.scheduler.after(delay, functools.partial(apply_ack, state, session, message, level), "ack")


def apply_ack(state: SandboxState, session: Session, message: Message, ack: int) -> None:
    if state.sessions.get(session.name) is not session:
        return
    message.ack = ack if ack < 0 else max(message.ack, ack)
    participant = _group_reader(session, session.groups.get(message.chat_id)) if message.is_group else None
    if ack <= 1:
        participant = None
    _emit(state, session, "message.ack", ack_payload(message, ack, participant))


def ack_by_id(
    state: SandboxState, session: Session, message_id: str, ack: int, participant: str | None
) -> None:
    message = session.find_message(message_id)
    if message is None:
        parts = message_id.split("_")
        chat = parts[1] if len(parts) >= 3 else "unknown@c.us"
        message = Message(parts[2] if len(parts) >= 3 else message_id, chat, parts[0] == "true", chat, 0)
        _emit(state, session, "message.ack", ack_payload(message, ack, participant))
        return
    message.ack = ack
    _emit(state, session, "message.ack", ack_payload(message, ack, participant))
