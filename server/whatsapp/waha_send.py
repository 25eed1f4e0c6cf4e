"""Outgoing messages → WAHA send requests, and send answers → ``SendResult``. Pure.

WAHA takes no idempotency key and assigns the id itself. Everything needed to send exactly once is
still visible: the answer's id (``true_<chatId>_<id>``), the ``message.any`` echo with ``source: "api"``
carrying the same inner id, and the chat history for ``find_sent``. The outbox protocol that uses them
is described in ``server.domain.send_echoes``.
"""

from __future__ import annotations

import base64
from datetime import datetime

from server.domain.errors import InvalidOutboundMessage, UnsupportedByTransport
from server.domain.jids import canonical_chat_key, legacy_chat_id, split_message_id
from server.domain.whatsapp import MediaKind, OutboundMedia, OutboundMessage, SendResult
from server.whatsapp.untrusted_input import as_object
from server.whatsapp.waha_payloads import message_transport_id

_MEDIA_ENDPOINTS = {
    MediaKind.IMAGE: "/api/sendImage",
    MediaKind.VIDEO: "/api/sendVideo",
    MediaKind.VOICE: "/api/sendVoice",
    MediaKind.AUDIO: "/api/sendFile",
    MediaKind.DOCUMENT: "/api/sendFile",
}

# WAHA's API requires a file name for voice notes and videos; these stand in when the message has none.
_DEFAULT_STEMS = {MediaKind.VOICE: "voice-message", MediaKind.VIDEO: "video"}
_EXTENSIONS = {
    "audio/ogg": ".ogg",
    "audio/opus": ".opus",
    "audio/mpeg": ".mp3",
    "audio/mp4": ".m4a",
    "audio/aac": ".aac",
    "audio/amr": ".amr",
    "audio/webm": ".webm",
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/webm": ".webm",
    "video/3gpp": ".3gp",
}


def build_send_request(session: str, message: OutboundMessage) -> tuple[str, dict[str, object]]:
    """The endpoint path and JSON body for ``message``."""
    if message.template is not None:
        raise UnsupportedByTransport("WhatsApp Web sessions (WAHA) cannot send Cloud API templates")
    body: dict[str, object] = {"session": session, "chatId": legacy_chat_id(message.to)}
    if message.reply_to:
        body["reply_to"] = message.reply_to
    if message.media is None:
        body["text"] = message.text
        body["linkPreview"] = False
        return "/api/sendText", body
    media = message.media
    body["file"] = _file(media)
    if media.kind is MediaKind.VOICE:
        if message.text:
            raise InvalidOutboundMessage("A voice note cannot carry a caption; send the text separately")
        body["convert"] = "opus" not in media.mime.lower()
    elif message.text:
        body["caption"] = message.text
    if media.kind is MediaKind.VIDEO:
        body["convert"] = media.mime.lower() != "video/mp4"
    return _MEDIA_ENDPOINTS[media.kind], body


def _file(media: OutboundMedia) -> dict[str, object]:
    file: dict[str, object] = {"mimetype": media.mime}
    filename = media.filename or default_filename(media)
    if filename:
        file["filename"] = filename
    if media.data is not None:
        file["data"] = base64.b64encode(media.data).decode("ascii")
    else:
        file["url"] = media.url
    return file


def default_filename(media: OutboundMedia) -> str | None:
    """``voice-message.ogg``, ``video.mov`` …: the name sent for a voice note or video that has none."""
    stem = _DEFAULT_STEMS.get(media.kind)
    if stem is None:
        return None
    return stem + _EXTENSIONS.get(media.mime.split(";")[0].strip().lower(), "")


def send_result(
    answer: object, *, account_id: str, message: OutboundMessage, at: datetime
) -> SendResult | None:
    """The result of a send answer; ``None`` when the answer carries no readable id."""
    obj = as_object(answer)
    transport_id = message_transport_id(obj) if obj is not None else None
    if transport_id is None:
        return None
    parts = split_message_id(transport_id)
    chat = parts.chat_id or message.to
    return SendResult(
        account_id=account_id,
        client_ref=message.client_ref,
        wa_message_id=parts.wa_message_id,
        chat_key=canonical_chat_key(chat),
        accepted_at=at,
        transport_id=transport_id,
    )
