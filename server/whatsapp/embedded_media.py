"""Media in whatsmeow's messages → ``MediaRef``, with what the embedded transport needs to download it
later in its ``locator``. Pure.

whatsmeow downloads a file from its ``directPath``, decrypts it with its ``mediaKey`` and checks it
against ``fileEncSHA256`` / ``fileSHA256``; which keys it derives depends on the media type. The locator
keeps all of them as one URL-encoded text (``wa-media:type=image&path=…&key=…``) that
``parse_locator`` reads back. A message that names media without a direct path or key gets
``locator=None``: it is stored with its media unavailable, as WAHA's media without a file is.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode

from server.domain.errors import InvalidInput
from server.domain.whatsapp import MediaKind, MediaRef
from server.whatsapp.embedded_proto import b64, blob, flag, hex_digest, number, text

LOCATOR_PREFIX = "wa-media:"
MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")
# whatsmeow's message field for each media type, in the order a message is looked at.
MEDIA_FIELDS = {
    "imageMessage": "image",
    "videoMessage": "video",
    "ptvMessage": "video",  # a round video note
    "audioMessage": "audio",
    "documentMessage": "document",
    "stickerMessage": "sticker",
}


@dataclass(frozen=True, slots=True)
class EmbeddedMedia:
    """What whatsmeow's ``Download`` needs for one file."""

    media_type: str  # image | video | audio | document | sticker
    direct_path: str
    media_key: bytes
    file_enc_sha256: bytes | None = None
    file_sha256: bytes | None = None
    file_length: int | None = None

    @property
    def locator(self) -> str:
        fields = {"type": self.media_type, "path": self.direct_path, "key": b64(self.media_key) or ""}
        for name, value in (("enc", self.file_enc_sha256), ("sha", self.file_sha256)):
            if value:
                fields[name] = b64(value) or ""
        if self.file_length:
            fields["len"] = str(self.file_length)
        return LOCATOR_PREFIX + urlencode(fields)


def parse_locator(locator: str) -> EmbeddedMedia:
    """The media a locator names; ``InvalidInput`` (``invalid_media_locator``) for anything else."""
    if not isinstance(locator, str) or not locator.startswith(LOCATOR_PREFIX):
        raise InvalidInput(
            "This media was not received by the embedded transport", reason="invalid_media_locator"
        )
    fields = {k: v[0] for k, v in parse_qs(locator[len(LOCATOR_PREFIX) :], strict_parsing=False).items()}
    media_type, path = fields.get("type"), fields.get("path")
    if media_type not in MEDIA_TYPES or not path or not path.startswith("/"):
        raise InvalidInput("The media reference names no known type and path", reason="invalid_media_locator")
    length = fields.get("len", "")
    return EmbeddedMedia(
        media_type=media_type,
        direct_path=path,
        media_key=_bytes(fields.get("key")) or _missing_key(),
        file_enc_sha256=_bytes(fields.get("enc")),
        file_sha256=_bytes(fields.get("sha")),
        file_length=int(length) if length.isascii() and length.isdigit() and len(length) < 19 else None,
    )


def media_ref(field: str, media: object) -> MediaRef:
    """The ``MediaRef`` of one media sub-message (``field`` is its name in ``Message``)."""
    media_type = MEDIA_FIELDS[field]
    mime = text(media, "mimetype")
    path, key = text(media, "directPath"), blob(media, "mediaKey")
    found = (
        EmbeddedMedia(
            media_type=media_type,
            direct_path=path,
            media_key=key,
            file_enc_sha256=blob(media, "fileEncSHA256"),
            file_sha256=blob(media, "fileSHA256"),
            file_length=number(media, "fileLength"),
        )
        if path is not None and path.startswith("/") and key is not None
        else None
    )
    return MediaRef(
        kind=_kind(field, media),
        locator=found.locator if found is not None else None,
        mime=mime,
        filename=_clip(text(media, "fileName")) if field == "documentMessage" else None,
        sha256=hex_digest(blob(media, "fileSHA256")),
        size=number(media, "fileLength"),
    )


def _kind(field: str, media: object) -> MediaKind:
    if field == "audioMessage":
        return MediaKind.VOICE if flag(media, "PTT") else MediaKind.AUDIO
    if field in ("videoMessage", "ptvMessage"):
        return MediaKind.GIF if flag(media, "gifPlayback") else MediaKind.VIDEO
    if field == "stickerMessage":
        return MediaKind.STICKER
    if field == "imageMessage":
        return MediaKind.IMAGE
    return MediaKind.DOCUMENT


def _clip(name: str | None) -> str | None:
    return name.strip()[:255] if name else None


def _bytes(value: str | None) -> bytes | None:
    if not value:
        return None
    try:
        return base64.urlsafe_b64decode(value.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise InvalidInput(
            "The media reference has an unreadable key", reason="invalid_media_locator"
        ) from None


def _missing_key() -> bytes:
    raise InvalidInput("The media reference has no media key", reason="invalid_media_locator")
