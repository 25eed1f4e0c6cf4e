"""The JSON shapes WAHA (GOWS engine) answers and sends: sessions, messages, acks, chats, groups."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sandbox.waha.jids import engine_jid, is_lid
from sandbox.waha.message_kinds import engine_content, engine_flags, payload_fields, view_once
from sandbox.waha.models import ACK_NAMES, Chat, Group, Message, Session

ENGINE = {"engine": "GOWS"}


def session_json(session: Session) -> dict[str, Any]:
    """`SessionInfo`: `me` only once an account is linked; `presence` and `timestamps` always."""
    answer: dict[str, Any] = {
        "name": session.name,
        "status": str(session.status),
        "config": session.config,
        "engine": ENGINE,
        "presence": {},
        "timestamps": {"activity": session.statuses[-1][1] if session.statuses else None},
    }
    me = session.me()
    if me is not None:
        answer["me"] = me
    return answer


def status_payload(session: Session, data: dict[str, Any] | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "status": str(session.status),
        "statuses": [{"status": status, "timestamp": ms} for status, ms in session.statuses[-3:]],
    }
    if data:
        payload["data"] = data
    return payload


def _media_message(message: Message) -> dict[str, Any]:
    media = message.media
    assert media is not None
    kind = {
        "voice": "audio",
        "document": "document",
        "video": "video",
        "audio": "audio",
        "sticker": "sticker",
        "gif": "video",
    }.get(message.kind, "image")
    body: dict[str, Any] = {
        "mimetype": media.mimetype,
        "fileSHA256": media.sha256,
        "fileLength": len(media.data),
    }
    if message.kind == "voice":
        body["PTT"] = True
    if message.kind == "gif":
        body["gifPlayback"] = True
    if view_once(message):
        body["viewOnce"] = True
    if media.filename:
        body["fileName"] = media.filename
    if message.body:
        body["caption"] = message.body
    return {f"{kind}Message": body}


def engine_data(message: Message, me_jid: str | None) -> dict[str, Any]:
    """The raw whatsmeow event WAHA passes along as `_data`."""
    if message.media is not None:
        content = _media_message(message)
    elif (kind_content := engine_content(message)) is not None:
        content = kind_content
    elif message.reply_to:
        content = {
            "extendedTextMessage": {"text": message.body, "contextInfo": {"stanzaID": message.reply_to}}
        }
    else:
        content = {"conversation": message.body}
    sender = engine_jid(message.participant or message.sender)
    info = {
        "Chat": engine_jid(message.chat_id),
        "Sender": engine_jid(me_jid) if message.from_me and me_jid else sender,
        "IsFromMe": message.from_me,
        "IsGroup": message.is_group,
        "AddressingMode": "lid" if is_lid(message.participant or message.sender) else "pn",
        "SenderAlt": engine_jid(message.sender_alt) if message.sender_alt else "",
        "RecipientAlt": engine_jid(message.recipient_alt) if message.recipient_alt else "",
        "ID": message.raw_id,
        "Type": "media" if message.media else "text",
        "PushName": message.push_name,
        "Timestamp": datetime.fromtimestamp(message.timestamp, UTC).isoformat().replace("+00:00", "Z"),
    }
    return {"Info": info, "Message": content, **engine_flags(message)}


def message_payload(
    message: Message,
    session: Session,
    *,
    media_url: str | None,
    download_media: bool = True,
    reply: Message | None = None,
    with_source: bool = True,
) -> dict[str, Any]:
    media: dict[str, Any] | None = None
    if view_once(message):
        media_url = None  # WAHA cannot download media sent to be viewed once
    if message.media is not None and download_media:
        error = None if media_url else {"message": "media is no longer available on the phone's servers"}
        media = {"mimetype": message.media.mimetype, "error": error}
        if media_url:
            media["url"] = media_url
        if message.media.filename:
            media["filename"] = message.media.filename
    # GOWS: `from` is always the chat (also for our own messages); `to` and `participant` name the
    # author in groups and are null in 1:1 chats.
    payload: dict[str, Any] = {
        "id": message.id,
        "timestamp": message.timestamp,
        "from": message.chat_id,
        "fromMe": message.from_me,
        "to": message.participant if message.is_group else None,
        "participant": message.participant if message.is_group else None,
        "body": message.body,
        "hasMedia": message.media is not None,
        "media": media,
        "ack": message.ack,
        "ackName": ACK_NAMES[message.ack],
        "replyTo": None,
        "vCards": [],
        "_data": engine_data(message, session.me_jid),
    }
    payload.update(payload_fields(message))
    if message.from_me and with_source:
        payload["source"] = message.source or "app"
    if message.reply_to:
        # `ReplyToMessage`: the quoted message's author and text only when the gateway has it.
        quoted: dict[str, Any] = {"id": message.reply_to, "hasMedia": bool(reply and reply.media)}
        if reply is not None:
            quoted.update(participant=reply.participant or reply.sender, body=reply.body)
        payload["replyTo"] = quoted
    return payload


def ack_payload(message: Message, ack: int, participant: str | None = None) -> dict[str, Any]:
    """`message.ack` as GOWS builds it from a receipt: the id is the message's own (in groups suffixed
    with the message's author), `participant` and `to` name the member who received/read it."""
    return {
        "id": message.id,
        "from": message.chat_id,
        "to": participant,
        "participant": participant,
        "fromMe": message.from_me,
        "ack": ack,
        "ackName": ACK_NAMES[ack],
        "_data": {"MessageIDs": [message.raw_id], "Type": ACK_NAMES[ack].lower()},
    }


def chat_json(chat: Chat) -> dict[str, Any]:
    last = chat.messages[-1] if chat.messages else None
    return {
        "id": chat.id,
        "name": chat.name,
        "isGroup": chat.is_group,
        "conversationTimestamp": chat.last_timestamp,
        "lastMessage": {"id": last.id, "body": last.body, "fromMe": last.from_me} if last else None,
    }


def group_json(group: Group) -> dict[str, Any]:
    """whatsmeow's GroupInfo, as GOWS returns it."""
    return {
        "JID": group.id,
        "Name": group.subject,
        "Topic": "",
        "GroupCreated": datetime.fromtimestamp(group.created, UTC).isoformat().replace("+00:00", "Z"),
        "Participants": [
            {
                "JID": f"{m.phone}@s.whatsapp.net" if m.phone else f"{m.lid}@lid",
                "PhoneNumber": f"{m.phone}@s.whatsapp.net" if m.phone else "",
                "LID": f"{m.lid}@lid" if m.lid else "",
                "IsAdmin": m.admin,
                "IsSuperAdmin": False,
                "DisplayName": m.name,
            }
            for m in group.members
        ],
    }
