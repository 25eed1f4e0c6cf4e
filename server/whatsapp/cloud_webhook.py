"""Verify and parse WhatsApp Cloud API webhooks. Pure.

Meta signs every POST with ``X-Hub-Signature-256: sha256=<hex>``, the HMAC-SHA256 of the raw body keyed
with the app secret; it must be checked on the exact bytes (re-serialised JSON differs). There is no
signed timestamp and Meta retries for up to 7 days, so there is no time window: replays are absorbed by
the message and status dedupe keys. Subscribing the callback URL is a ``GET`` handshake
(``verify_subscription``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime

from server.domain.errors import BadSignature, InvalidChatId, MalformedWebhook, NotAuthenticated
from server.domain.jids import parse_jid
from server.domain.whatsapp import (
    Delivery,
    InboundMessage,
    MediaKind,
    MediaRef,
    MessageOrigin,
    MessageReceived,
    Peer,
    StatusChanged,
    TransportEvent,
)
from server.whatsapp.cloud_calls import call_events
from server.whatsapp.cloud_changes import CHANGE_TYPES, parse_change
from server.whatsapp.cloud_errors import message_for_code, reason_for_code
from server.whatsapp.cloud_kinds import message_details, unsupported_text
from server.whatsapp.untrusted_input import (
    JsonObject,
    datetime_from_epoch,
    get_bool,
    get_int,
    get_list,
    get_object,
    get_str,
    lower_headers,
    objects_in,
    parse_json_object,
)

SIGNATURE_HEADER = "x-hub-signature-256"
_STATUSES = {
    "sent": Delivery.SENT,
    "delivered": Delivery.DELIVERED,
    "read": Delivery.READ,
    "played": Delivery.PLAYED,
    "failed": Delivery.FAILED,
}
_MEDIA_TYPES = {
    "image": MediaKind.IMAGE,
    "video": MediaKind.VIDEO,
    "audio": MediaKind.AUDIO,
    "document": MediaKind.DOCUMENT,
    "sticker": MediaKind.STICKER,
}
_SKIPPED_TYPES = frozenset({"system", "ephemeral", "request_welcome"})  # reactions: cloud_changes


def sign_cloud_body(raw_body: bytes, app_secret: str) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends for ``raw_body``."""
    return "sha256=" + hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()


def verify_cloud_signature(headers: Mapping[str, str], raw_body: bytes, *, app_secret: str) -> None:
    if not app_secret:
        raise BadSignature("No Cloud API app secret is configured; refusing unsigned webhooks")
    given = lower_headers(headers).get(SIGNATURE_HEADER, "").strip()
    if not given:
        raise BadSignature("The webhook has no X-Hub-Signature-256 signature")
    scheme, _, digest = given.partition("=")
    if scheme.lower() != "sha256" or not digest:
        raise BadSignature("The X-Hub-Signature-256 header is not of the form sha256=<hex>")
    expected = sign_cloud_body(raw_body, app_secret)
    if not hmac.compare_digest(("sha256=" + digest.lower()).encode(), expected.encode()):
        raise BadSignature("The webhook signature does not match its body")


def verify_subscription(params: Mapping[str, str], *, verify_token: str) -> str:
    """The ``hub.challenge`` to answer with 200 when Meta's subscribe request carries our verify token."""
    token = params.get("hub.verify_token") or ""
    challenge = params.get("hub.challenge") or ""
    if (
        params.get("hub.mode") != "subscribe"
        or not challenge
        or not verify_token
        or not hmac.compare_digest(token.encode(), verify_token.encode())
    ):
        raise NotAuthenticated("The webhook verification token does not match", reason="bad_verify_token")
    return challenge


def parse_cloud_webhook(
    headers: Mapping[str, str], raw_body: bytes, *, app_secret: str, received_at: datetime
) -> list[TransportEvent]:
    verify_cloud_signature(headers, raw_body, app_secret=app_secret)
    return events_from_cloud_body(raw_body, received_at=received_at)


def events_from_cloud_body(raw_body: bytes, *, received_at: datetime) -> list[TransportEvent]:
    """The events in a delivery whose signature was already checked (when it was received)."""
    body = parse_json_object(raw_body, what="Cloud API webhook body")
    kind = get_str(body, "object")
    if kind is None:
        raise MalformedWebhook("A Cloud API webhook names no object")
    if kind != "whatsapp_business_account":
        return []
    events: list[TransportEvent] = []
    for entry in objects_in(get_list(body, "entry")):
        for change in objects_in(get_list(entry, "changes")):
            events.extend(_change_events(change, received_at=received_at))
    return events


def _change_events(change: JsonObject, *, received_at: datetime) -> list[TransportEvent]:
    field = get_str(change, "field")
    value = get_object(change, "value")
    if field not in ("messages", "smb_message_echoes", "calls") or value is None:
        return []
    metadata = get_object(value, "metadata")
    account_id = get_str(metadata, "phone_number_id")
    if account_id is None:
        raise MalformedWebhook("A Cloud API change has no metadata.phone_number_id")
    business = _business_peer(get_str(metadata, "display_phone_number"))
    names = _contact_names(value)
    if field == "calls":
        return [
            *call_events(
                value,
                account_id=account_id,
                business=business,
                peer=_peer,
                names=names,
                received_at=received_at,
            )
        ]
    events: list[TransportEvent] = []
    echoes = field == "smb_message_echoes"
    for raw in objects_in(get_list(value, "message_echoes" if echoes else "messages")):
        if get_str(raw, "type") in CHANGE_TYPES:
            events.append(parse_change(raw, account_id, from_me=echoes, fallback_at=received_at))
            continue
        message = _message(raw, account_id, business, names, from_me=echoes, fallback_at=received_at)
        if message is not None:
            events.append(MessageReceived(message))
    for raw in objects_in(get_list(value, "statuses")):
        status = _status(raw, account_id, fallback_at=received_at)
        if status is not None:
            events.append(status)
    return events


def _message(
    raw: JsonObject,
    account_id: str,
    business: Peer,
    names: dict[str, str],
    *,
    from_me: bool,
    fallback_at: datetime,
) -> InboundMessage | None:
    wamid = get_str(raw, "id")
    kind = get_str(raw, "type") or "text"
    if wamid is None:
        raise MalformedWebhook("A Cloud API message has no id")
    if kind in _SKIPPED_TYPES:
        return None
    other = get_str(raw, "to" if from_me else "from")
    if other is None:
        raise MalformedWebhook("A Cloud API message names no sender or recipient")
    chat = _peer(other, names.get(other))
    text, media = _content(raw, kind)
    details = message_details(raw, kind)
    if details is not None:
        text = None
    return InboundMessage(
        account_id=account_id,
        wa_message_id=wamid,
        chat=chat,
        sender=business if from_me else chat,
        from_me=from_me,
        sent_at=datetime_from_epoch(get_int(raw, "timestamp")) or fallback_at,
        text=text,
        media=media,
        reply_to=get_str(get_object(raw, "context"), "id"),
        origin=MessageOrigin.LIVE,
        transport_id=wamid,
        details=details,
    )


def _content(raw: JsonObject, kind: str) -> tuple[str | None, MediaRef | None]:
    if kind == "text":
        return get_str(get_object(raw, "text"), "body"), None
    if kind in _MEDIA_TYPES:
        obj = get_object(raw, kind)
        media_kind = _MEDIA_TYPES[kind]
        if media_kind is MediaKind.AUDIO and get_bool(obj, "voice") is True:
            media_kind = MediaKind.VOICE
        media = MediaRef(
            kind=media_kind,
            locator=get_str(obj, "id"),
            mime=get_str(obj, "mime_type"),
            filename=get_str(obj, "filename"),
            sha256=get_str(obj, "sha256"),
        )
        return get_str(obj, "caption"), media
    if kind == "button":
        return get_str(get_object(raw, "button"), "text"), None
    if kind == "interactive":
        interactive = get_object(raw, "interactive")
        reply = get_object(interactive, "button_reply") or get_object(interactive, "list_reply")
        return get_str(reply, "title"), None
    if kind == "unsupported":  # a GIF, view-once media, …: the phone shows it, the Cloud API does not
        return unsupported_text(raw), None
    if kind == "location":  # coordinates missing or out of range: what the location names, as text
        location = get_object(raw, "location")
        place = ", ".join(p for p in (get_str(location, "name"), get_str(location, "address")) if p)
        return " ".join(p for p in ("Location:", place) if p), None
    return None, None


def _status(raw: JsonObject, account_id: str, *, fallback_at: datetime) -> StatusChanged | None:
    wamid = get_str(raw, "id")
    if wamid is None:
        raise MalformedWebhook("A Cloud API status has no message id")
    status = _STATUSES.get(get_str(raw, "status") or "")
    if status is None:
        return None
    errors = objects_in(get_list(raw, "errors"))
    first = errors[0] if errors else None
    code = get_int(first, "code")
    detail = get_str(get_object(first, "error_data"), "details")
    text = get_str(first, "message") or get_str(first, "title") or detail
    recipient = get_str(raw, "recipient_id")
    failed = status is Delivery.FAILED
    return StatusChanged(
        account_id=account_id,
        wa_message_id=wamid,
        status=status,
        at=datetime_from_epoch(get_int(raw, "timestamp")) or fallback_at,
        recipient=_peer(recipient, None).chat_key if recipient is not None else None,
        error_code=str(code) if code is not None else None,
        reason=reason_for_code(code) if failed else None,
        error=message_for_code(code, text or "The message could not be delivered") if failed else None,
        client_ref=get_str(raw, "biz_opaque_callback_data"),
    )


def _peer(wa_id: str, name: str | None) -> Peer:
    """A Cloud user: ``wa_id`` digits → the canonical phone key; a business-scoped id (``US.…``) as is."""
    try:
        jid = parse_jid(wa_id)
    except InvalidChatId:
        if "." in wa_id and wa_id[:2].isalpha() and wa_id.isascii() and len(wa_id) <= 100:
            return Peer(chat_key=wa_id, display_name=name)
        raise MalformedWebhook(f"{wa_id[:40]!r} is not a WhatsApp user id") from None
    return Peer(chat_key=jid.chat_key, e164=jid.e164, display_name=name)


def _business_peer(display_phone_number: str | None) -> Peer:
    digits = "".join(ch for ch in display_phone_number or "" if ch.isascii() and ch.isdigit())
    try:
        jid = parse_jid(digits)
    except InvalidChatId:
        return Peer(chat_key="me")
    return Peer(chat_key=jid.chat_key, e164=jid.e164)


def _contact_names(value: JsonObject) -> dict[str, str]:
    names: dict[str, str] = {}
    for contact in objects_in(get_list(value, "contacts")):
        wa_id = get_str(contact, "wa_id")
        name = get_str(get_object(contact, "profile"), "name")
        if wa_id is not None and name is not None:
            names[wa_id] = name
    return names
