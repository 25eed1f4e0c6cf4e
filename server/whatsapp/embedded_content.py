"""What one whatsmeow ``Message`` (``WAWebProtobufsE2E.Message``) says: its text, media, details
(location, shared contacts, poll, view-once media) and the message it answers. Pure.

whatsmeow wraps content in envelopes (disappearing messages, view-once, documents with a caption, our
other devices' copies, edits); ``unwrap`` opens them. For a location, shared contacts or a poll the
message keeps no text of its own, as with WAHA (``waha_kinds``).
"""

from __future__ import annotations

from dataclasses import dataclass

from server.domain.message_kinds import (
    MessageDetails,
    ViewOnce,
    card_from_vcard,
    contacts,
    location,
    poll,
)
from server.domain.whatsapp import MediaKind, MediaRef
from server.whatsapp.embedded_media import MEDIA_FIELDS, media_ref
from server.whatsapp.embedded_proto import flag, items, number, real, sub, text

_WRAPPERS = (
    "ephemeralMessage",
    "documentWithCaptionMessage",
    "deviceSentMessage",
    "editedMessage",
    "botInvokeMessage",
)
_VIEW_ONCE_WRAPPERS = ("viewOnceMessage", "viewOnceMessageV2", "viewOnceMessageV2Extension")
_MAX_DEPTH = 5
_MAX_VCARD_CHARS = 20_000
_POLL_FIELDS = ("pollCreationMessageV3", "pollCreationMessageV2", "pollCreationMessage")
# Every field whose sub-message may carry ``contextInfo`` (what a reply answers).
_CONTEXT_FIELDS = (
    "extendedTextMessage",
    *MEDIA_FIELDS,
    "locationMessage",
    "liveLocationMessage",
    "contactMessage",
    "contactsArrayMessage",
    *_POLL_FIELDS,
)
_VIEW_ONCE_KINDS = {MediaKind.VIDEO: "video", MediaKind.GIF: "video", MediaKind.VOICE: "voice"}


@dataclass(frozen=True, slots=True)
class Content:
    text: str | None = None
    media: MediaRef | None = None
    details: MessageDetails | None = None
    reply_to: str | None = None
    quoted_text: str | None = None

    @property
    def is_empty(self) -> bool:
        return self.text is None and self.media is None and self.details is None


def unwrap(message: object) -> tuple[object | None, bool]:
    """The innermost message and whether a view-once envelope held it."""
    view_once = False
    for _ in range(_MAX_DEPTH):
        inner = None
        for wrapper in (*_WRAPPERS, *_VIEW_ONCE_WRAPPERS):
            inner = sub(sub(message, wrapper), "message")
            if inner is not None:
                view_once = view_once or wrapper in _VIEW_ONCE_WRAPPERS
                break
        if inner is None:
            return message, view_once
        message = inner
    return message, view_once


def read_content(message: object, *, view_once: bool = False) -> Content:
    """The content of an unwrapped message (``Content.is_empty`` when it carries nothing WaPipe logs)."""
    details = _details(message)
    media = _media(message)
    marked = view_once or any(flag(sub(message, f), "viewOnce") for f in MEDIA_FIELDS)
    if media is not None and marked:
        details, media = ViewOnce(_view_once_kind(media)), None
    said = None if details is not None else _text(message)
    reply_to, quoted = _reply(message)
    return Content(text=said, media=media, details=details, reply_to=reply_to, quoted_text=quoted)


def plain_text(message: object) -> str | None:
    """The typed text of a message: a text message's body or a media caption (an edit's new text)."""
    unwrapped, _ = unwrap(message)
    return _text(unwrapped)


def _text(message: object) -> str | None:
    for found in (
        text(message, "conversation"),
        text(sub(message, "extendedTextMessage"), "text"),
        text(sub(message, "imageMessage"), "caption"),
        text(sub(message, "videoMessage"), "caption"),
        text(sub(message, "documentMessage"), "caption"),
    ):
        if found is not None:
            return found
    return None


def _media(message: object) -> MediaRef | None:
    for field in MEDIA_FIELDS:
        media = sub(message, field)
        if media is not None:
            return media_ref(field, media)
    return None


def _view_once_kind(media: MediaRef) -> str:
    return _VIEW_ONCE_KINDS.get(media.kind, "image")


def _details(message: object) -> MessageDetails | None:
    for field, live in (("locationMessage", False), ("liveLocationMessage", True)):
        found = sub(message, field)
        if found is not None:
            return location(
                real(found, "degreesLatitude"),
                real(found, "degreesLongitude"),
                name=text(found, "name"),
                address=text(found, "address"),
                live=live or flag(found, "isLive"),
            )
    single = sub(message, "contactMessage")
    array = sub(message, "contactsArrayMessage")
    if single is not None or array is not None:
        cards = [single] if single is not None else items(array, "contacts")
        vcards = [v for v in (text(card, "vcard") for card in cards) if v]
        return contacts([card_from_vcard(v[:_MAX_VCARD_CHARS]) for v in vcards])
    for field in _POLL_FIELDS:
        found = sub(message, field)
        if found is not None:
            names = [text(option, "optionName") for option in items(found, "options")]
            count = number(found, "selectableOptionsCount")
            return poll(text(found, "name"), [n for n in names if n], multiple=count != 1)
    return None


def _reply(message: object) -> tuple[str | None, str | None]:
    for field in _CONTEXT_FIELDS:
        context = sub(sub(message, field), "contextInfo")
        reply_to = text(context, "stanzaID")
        if reply_to is not None:
            quoted = sub(context, "quotedMessage")
            said = _text(unwrap(quoted)[0]) if quoted is not None else None
            return reply_to.strip()[:200], said[:1000] if said else None
    return None, None
