"""Files uploaded in the chat view's reply box: size capped, type allowed and matching its content, name
sanitised for storage and for ``Content-Disposition``."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from server.domain.errors import InvalidInput

MAX_UPLOAD_BYTES = 16 * 1024 * 1024  # WhatsApp's limit for media other than documents
_OOXML = "application/vnd.openxmlformats-officedocument."
ALLOWED_TYPES: dict[str, tuple[bytes, ...]] = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
    "application/pdf": (b"%PDF-",),
    "audio/ogg": (b"OggS",),
    "audio/mpeg": (b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"),
    "video/mp4": (),
    "text/plain": (),
    "text/csv": (),
    _OOXML + "wordprocessingml.document": (b"PK\x03\x04",),
    _OOXML + "spreadsheetml.sheet": (b"PK\x03\x04",),
    _OOXML + "presentationml.presentation": (b"PK\x03\x04",),
}
NEVER_INLINE = {"text/html", "image/svg+xml", "application/xhtml+xml", "text/xml", "application/xml"}
_UNSAFE = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|;]')


def clean_file_name(raw: str, fallback: str = "attachment") -> str:
    """A file name without paths, control, quote, bidi or zero-width characters; at most 120 characters."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in {"Cf", "Cc", "Zl", "Zp"})
    name = _UNSAFE.sub("_", name).strip(" .")
    return name[:120] or fallback


def content_disposition(kind: str, name: str) -> str:
    """``attachment; filename="…"; filename*=UTF-8''…`` with an ASCII fallback."""
    clean = clean_file_name(name)
    ascii_name = clean.encode("ascii", "replace").decode().replace("?", "_")
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(clean)}"


def check_upload(data: bytes, mime: str) -> str:
    """The MIME type to send the upload as; named refusals for size and type."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidInput(
            f"Attachments are limited to {MAX_UPLOAD_BYTES // (1024 * 1024)} MB",
            reason="attachment_too_large",
        )
    if not data:
        raise InvalidInput("The attached file is empty", reason="attachment_empty")
    kind = mime.split(";", 1)[0].strip().lower()
    if kind not in ALLOWED_TYPES:
        raise InvalidInput(
            "This kind of file cannot be sent: use an image, PDF, audio, video or office document",
            reason="attachment_type_not_allowed",
        )
    signatures = ALLOWED_TYPES[kind]
    if signatures and not any(data.startswith(signature) for signature in signatures):
        raise InvalidInput("The file's content does not match its type", reason="attachment_type_mismatch")
    if kind == "video/mp4" and data[4:8] != b"ftyp":
        raise InvalidInput("The file's content does not match its type", reason="attachment_type_mismatch")
    if kind.startswith("text/"):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidInput("Text files must be UTF-8", reason="attachment_type_mismatch") from error
    return kind
