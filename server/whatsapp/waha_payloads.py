"""WAHA message, ack and session payloads → normalised domain values. Pure.

The same message payload shape arrives in ``message`` / ``message.any`` webhooks and in chat-history
answers, so both go through ``parse_message``. Engine-specific details are only read from ``_data``
where WAHA's own fields say nothing (the alternate phone/LID spelling of a sender, and whether the
payload is a change to another message rather than a message: see ``is_change_payload``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from server.domain.errors import InvalidChatId, MalformedWebhook
from server.domain.jids import Jid, JidKind, TransportMessageId, jid_or_none, parse_jid, split_message_id
from server.domain.whatsapp import (
    Delivery,
    IdentityLearned,
    InboundMessage,
    MediaKind,
    MediaRef,
    MessageOrigin,
    Peer,
    SessionChanged,
    SessionStatus,
    StatusChanged,
)
from server.whatsapp.untrusted_input import (
    JsonObject,
    as_object,
    datetime_from_epoch,
    get_bool,
    get_int,
    get_object,
    get_str,
)
from server.whatsapp.waha_kinds import media_details, message_details

ACK_TO_DELIVERY = {
    -1: Delivery.FAILED,
    0: Delivery.PENDING,
    1: Delivery.SENT,
    2: Delivery.DELIVERED,
    3: Delivery.READ,
    4: Delivery.PLAYED,
}
_ACK_NAMES = {"ERROR": -1, "PENDING": 0, "SERVER": 1, "DEVICE": 2, "READ": 3, "PLAYED": 4}
# Raw message contents that change another message (an edit, a deletion, a reaction, a poll vote): they
# come as their own events, and are never a message of their own.
CHANGE_CONTENTS = ("protocolMessage", "editedMessage", "reactionMessage", "pollUpdateMessage")

SESSION_STATUSES = {
    "STOPPED": SessionStatus.STOPPED,
    "STARTING": SessionStatus.STARTING,
    "SCAN_QR_CODE": SessionStatus.NEEDS_PAIRING,
    "PASSKEY_REQUIRED": SessionStatus.NEEDS_PAIRING,
    "PASSKEY_CONFIRMATION_REQUIRED": SessionStatus.NEEDS_PAIRING,
    "WORKING": SessionStatus.CONNECTED,
    "FAILED": SessionStatus.FAILED,
}


def session_status(waha_status: str | None) -> SessionStatus:
    return SESSION_STATUSES.get(waha_status or "", SessionStatus.DISCONNECTED)


def message_transport_id(payload: JsonObject) -> str | None:
    """The message id whether WAHA sent it as a string, as ``{"_serialized": …}`` or as a Baileys key."""
    direct = get_str(payload, "id")
    if direct is not None:
        return direct
    serialized = get_str(get_object(payload, "id"), "_serialized")
    if serialized is not None:
        return serialized
    return get_str(get_object(payload, "key"), "id")


def peer_for(jid: Jid, *, display_name: str | None = None, alt: Jid | None = None) -> Peer:
    """A peer for a chat id; when ``alt`` gives the phone spelling of a LID, the phone key wins."""
    phone = (
        jid if jid.kind is JidKind.PHONE else alt if alt is not None and alt.kind is JidKind.PHONE else None
    )
    lid = jid if jid.kind is JidKind.LID else alt if alt is not None and alt.kind is JidKind.LID else None
    key_jid = phone or jid
    return Peer(
        chat_key=key_jid.chat_key,
        is_group=jid.is_group,
        e164=phone.e164 if phone is not None else None,
        lid=lid.chat_key if lid is not None else None,
        display_name=display_name,
    )


def parse_message(
    payload: JsonObject,
    *,
    account_id: str,
    origin: MessageOrigin,
    me: Peer | None = None,
    fallback_at: datetime | None = None,
) -> InboundMessage | None:
    """One message, or ``None`` for chats we never log (status updates, channels, broadcasts) and for a
    change to another message (``is_change_payload``)."""
    if is_change_payload(payload):
        return None
    transport_id = message_transport_id(payload)
    if transport_id is None:
        raise MalformedWebhook("A WAHA message has no id")
    parts = _split_id(transport_id)
    from_me = get_bool(payload, "fromMe")
    if from_me is None:
        from_me = parts.from_me if parts.from_me is not None else False
    from_id = get_str(payload, "from")
    to_id = get_str(payload, "to")
    chat_spelling = parts.chat_id or (to_id if from_me else from_id)
    if chat_spelling is None:
        raise MalformedWebhook("A WAHA message names no chat")
    chat_jid = _jid(chat_spelling)
    if chat_jid.kind is JidKind.OTHER:
        return None
    alts = _alternate_ids(payload)
    chat = peer_for(chat_jid, alt=jid_or_none(alts.get(chat_jid.chat_key)))
    sender = _sender(
        payload, chat=chat, chat_jid=chat_jid, from_me=from_me, from_id=from_id, me=me, alts=alts
    )
    sent_at = datetime_from_epoch(get_int(payload, "timestamp")) or fallback_at
    if sent_at is None:
        raise MalformedWebhook("A WAHA message has no usable timestamp")
    source = get_str(payload, "source")
    details, text = message_details(payload, _text(payload))
    media, details = media_details(payload, _media(payload), details)
    return InboundMessage(
        account_id=account_id,
        wa_message_id=parts.wa_message_id,
        chat=chat,
        sender=sender,
        from_me=from_me,
        sent_at=sent_at,
        text=text,
        media=media,
        reply_to=_reply_to(payload),
        quoted_text=_quoted_text(payload),
        origin=origin,
        from_api=from_me and source == "api",
        transport_id=transport_id,
        details=details,
    )


def is_change_payload(payload: JsonObject) -> bool:
    """Whether the engine's raw message (GOWS ``_data.Message``, NOWEB ``_data.message``) is an edit, a
    deletion, a reaction or a poll vote. GOWS never sends these as ``message.any``; NOWEB's filter lets
    edits and deletions through with no ``body``, which would otherwise be logged as empty messages."""
    data = get_object(payload, "_data")
    for raw in (get_object(data, "Message"), get_object(data, "message")):
        if raw is not None and any(get_object(raw, key) is not None for key in CHANGE_CONTENTS):
            return True
    return False


def identities_in(payload: JsonObject, *, account_id: str) -> list[IdentityLearned]:
    """LID ↔ phone pairs the engine revealed alongside a message (``_data`` alternate ids)."""
    learned: list[IdentityLearned] = []
    for first, second in _alternate_ids(payload).items():
        pair = IdentityLearned.of(account_id, jid_or_none(first), jid_or_none(second))
        if pair is not None and pair not in learned:
            learned.append(pair)
    return learned


def parse_ack(payload: JsonObject, *, account_id: str, at: datetime) -> StatusChanged | None:
    """A ``message.ack``; ``None`` for an ack value WAHA may add later."""
    transport_id = message_transport_id(payload)
    if transport_id is None:
        raise MalformedWebhook("A WAHA ack has no message id")
    parts = _split_id(transport_id)
    ack = get_int(payload, "ack")
    if ack is None:
        ack = _ACK_NAMES.get(get_str(payload, "ackName") or "")
    status = ACK_TO_DELIVERY.get(ack) if ack is not None else None
    if status is None:
        return None
    from_me = get_bool(payload, "fromMe")
    if from_me is None:
        from_me = parts.from_me if parts.from_me is not None else True
    # The id's participant suffix names the message's author, not the reader: GOWS builds ack ids from
    # the receipt's MessageSender (us, for our own messages). The reader is ``participant``.
    recipient_id = get_str(payload, "participant") or parts.chat_id or get_str(payload, "from")
    recipient = jid_or_none(recipient_id)
    return StatusChanged(
        account_id=account_id,
        wa_message_id=parts.wa_message_id,
        status=status,
        at=at,
        from_me=from_me,
        recipient=recipient.chat_key if recipient is not None else None,
        reason="gateway_error" if status is Delivery.FAILED else None,
        error="WhatsApp reported an error sending this message" if status is Delivery.FAILED else None,
    )


def parse_session_status(
    payload: JsonObject, *, account_id: str, at: datetime, me: Peer | None
) -> SessionChanged:
    waha_status = get_str(payload, "status")
    if waha_status is None:
        raise MalformedWebhook("A WAHA session.status event has no status")
    return SessionChanged(
        account_id=account_id, status=session_status(waha_status), at=at, detail=waha_status, me=me
    )


def parse_me(value: object) -> Peer | None:
    """``{"id": "...@c.us", "pushName": ...}`` → our own peer; ``None`` when absent or unreadable."""
    obj = as_object(value)
    jid = jid_or_none(get_str(obj, "id"))
    if jid is None or jid.kind is not JidKind.PHONE:
        return None
    lid = jid_or_none(get_str(obj, "lid"))
    return peer_for(jid, display_name=get_str(obj, "pushName"), alt=lid)


def media_kind(mime: str | None, *, voice: bool = False) -> MediaKind:
    family = (mime or "").split("/", 1)[0].lower()
    if family == "audio":
        return MediaKind.VOICE if voice or "opus" in (mime or "").lower() else MediaKind.AUDIO
    if family == "image":
        return MediaKind.STICKER if (mime or "").lower() == "image/webp" else MediaKind.IMAGE
    if family == "video":
        return MediaKind.VIDEO
    return MediaKind.DOCUMENT


def _split_id(transport_id: str) -> TransportMessageId:
    try:
        return split_message_id(transport_id)
    except InvalidChatId as error:
        raise MalformedWebhook(f"A WAHA message id is unreadable: {error.message}") from error


def _jid(spelling: str) -> Jid:
    try:
        return parse_jid(spelling)
    except InvalidChatId as error:
        raise MalformedWebhook(f"A WAHA chat id is unreadable: {error.message}") from error


def _sender(
    payload: JsonObject,
    *,
    chat: Peer,
    chat_jid: Jid,
    from_me: bool,
    from_id: str | None,
    me: Peer | None,
    alts: dict[str, str],
) -> Peer:
    if from_me:
        if me is not None:
            return me
        return _own_peer(payload, chat_jid=chat_jid, from_id=from_id)
    name = _push_name(payload)
    if not chat_jid.is_group:
        return replace(chat, display_name=name) if name else chat
    participant = jid_or_none(get_str(payload, "participant"))
    if participant is None:
        return Peer(chat_key=chat.chat_key, is_group=True)
    return peer_for(participant, display_name=name, alt=jid_or_none(alts.get(participant.chat_key)))


def _own_peer(payload: JsonObject, *, chat_jid: Jid, from_id: str | None) -> Peer:
    """Our own number when no envelope ``me`` says it (history answers).

    WEBJS puts our id in ``from``; GOWS puts the chat there and our device in ``_data.Info.Sender``.
    """
    info = get_object(get_object(payload, "_data"), "Info")
    for spelling in (from_id, get_str(info, "Sender")):
        own = jid_or_none(spelling)
        if own is not None and own.kind is JidKind.PHONE and own.chat_key != chat_jid.chat_key:
            return peer_for(own)
    return Peer(chat_key="me")


def _push_name(payload: JsonObject) -> str | None:
    """The name the sender gave themselves in WhatsApp, as the engines report it in their raw data."""
    data = get_object(payload, "_data")
    info = get_object(data, "Info")
    for candidate in (get_str(info, "PushName"), get_str(data, "pushName"), get_str(data, "notifyName")):
        if candidate and candidate.strip():
            return candidate.strip()[:255]
    return None


def _alternate_ids(payload: JsonObject) -> dict[str, str]:
    """Canonical chat key → the other spelling of the same person, from the engine's raw data."""
    data = get_object(payload, "_data")
    pairs: list[tuple[str | None, str | None]] = []
    key = get_object(data, "key")
    pairs.append((get_str(key, "remoteJid"), get_str(key, "remoteJidAlt")))
    pairs.append((get_str(key, "participant"), get_str(key, "participantAlt")))
    info = get_object(data, "Info")
    pairs.append((get_str(info, "Sender"), get_str(info, "SenderAlt")))
    if get_bool(info, "IsFromMe") is True and get_bool(info, "IsGroup") is not True:
        # whatsmeow's RecipientAlt is the chat's other spelling only on our own 1:1 messages; on incoming
        # ones it may name our own alternate id, which must never be merged into the contact.
        pairs.append((get_str(info, "Chat"), get_str(info, "RecipientAlt")))
    found: dict[str, str] = {}
    for first, second in pairs:
        a, b = jid_or_none(first), jid_or_none(second)
        if a is None or b is None or {a.kind, b.kind} != {JidKind.LID, JidKind.PHONE}:
            continue
        found[a.chat_key] = b.chat_key
        found[b.chat_key] = a.chat_key
    return found


def _text(payload: JsonObject) -> str | None:
    body = payload.get("body")
    return body if isinstance(body, str) and body.strip() else None


def _media(payload: JsonObject) -> MediaRef | None:
    media = get_object(payload, "media")
    if get_bool(payload, "hasMedia") is not True and media is None:
        return None
    mime = get_str(media, "mimetype")
    data = get_object(payload, "_data")
    audio = get_object(get_object(data, "Message"), "audioMessage")  # GOWS: whatsmeow's raw message
    voice = get_bool(data, "ptt") is True or get_str(data, "type") == "ptt" or get_bool(audio, "PTT") is True
    locator = None if media is None or media.get("error") not in (None, False) else get_str(media, "url")
    return MediaRef(
        kind=media_kind(mime, voice=voice),
        locator=locator,
        mime=mime,
        filename=get_str(media, "filename"),
    )


def _reply_to(payload: JsonObject) -> str | None:
    reply = payload.get("replyTo")
    reply_id = get_str(as_object(reply), "id") if not isinstance(reply, str) else reply
    if reply_id is None:
        return None
    try:
        return split_message_id(reply_id).wa_message_id
    except InvalidChatId:
        return None


def _quoted_text(payload: JsonObject) -> str | None:
    """The answered message's text as WAHA quotes it (``replyTo.body``), when it has it."""
    body = get_str(get_object(payload, "replyTo"), "body")
    return body[:1000] if body and body.strip() else None
