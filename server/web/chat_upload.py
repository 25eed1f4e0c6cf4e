"""Files uploaded in the chat view's reply box: size capped, type allowed and matching its content (the
sniffing in ``server.domain.media_types``); names are cleaned by ``server.domain.file_names``."""

from __future__ import annotations

from server.domain.errors import InvalidInput
from server.domain.media_types import content_matches, normalise_media_type
from server.domain.text import Text

MAX_UPLOAD_BYTES = 16 * 1024 * 1024  # WhatsApp's limit for media other than documents
_OOXML = "application/vnd.openxmlformats-officedocument."
ALLOWED_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "application/pdf",
        "audio/ogg",
        "audio/mpeg",
        "video/mp4",
        "text/plain",
        "text/csv",
        _OOXML + "wordprocessingml.document",
        _OOXML + "spreadsheetml.sheet",
        _OOXML + "presentationml.presentation",
    }
)


def check_upload(data: bytes, mime: str) -> str:
    """The MIME type to send the upload as; named refusals for size and type."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidInput(
            Text("Attachments are limited to %(mb)s MB", mb=MAX_UPLOAD_BYTES // (1024 * 1024)),
            reason="attachment_too_large",
        )
    if not data:
        raise InvalidInput(Text("The attached file is empty"), reason="attachment_empty")
    kind = normalise_media_type(mime)
    if kind not in ALLOWED_TYPES:
        raise InvalidInput(
            Text("This kind of file cannot be sent: use an image, PDF, audio, video or office document"),
            reason="attachment_type_not_allowed",
        )
    if not content_matches(kind, data):
        message = (
            Text("Text files must be UTF-8")
            if kind.startswith("text/")
            else Text("The file's content does not match its type")
        )
        raise InvalidInput(message, reason="attachment_type_mismatch")
    return kind
