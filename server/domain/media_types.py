"""What an attachment's bytes may be treated as. The sender of a WhatsApp message (or a browser's upload)
names the type; WaPipe keeps that name as data but believes it only for a short list of types whose files
begin in a known way, and only when the bytes begin that way.

``inline_type``: the raster image, audio and video types a browser may show in place; nothing that can
hold script (SVG, HTML, XHTML, XML, JavaScript, PDF) is among them. ``trusted_type``: the type to pass on
(to Pipedrive Files), which may also be a document type whose bytes agree; anything else is
``application/octet-stream``."""

from __future__ import annotations

import re
from collections.abc import Callable

OCTET_STREAM = "application/octet-stream"
_OOXML = "application/vnd.openxmlformats-officedocument."
# RFC 9110 ``type "/" subtype`` (tokens), lowercase: nothing else is a type.
_TYPE = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+/[a-z0-9!#$%&'*+.^_`|~-]+")


def normalise_media_type(raw: str | None) -> str:
    """``type/subtype`` in lowercase without parameters or surrounding whitespace; ``""`` when ``raw`` is not
    a single media type (empty, a list, a wildcard, stray characters)."""
    kind = (raw or "").split(";", 1)[0].strip().lower()
    if not _TYPE.fullmatch(kind) or "*" in kind:
        return ""
    return kind


def _starts(*signatures: bytes) -> Callable[[bytes], bool]:
    return lambda data: data.startswith(signatures)


def _gif(data: bytes) -> bool:
    """The header, the screen descriptor, the colour table it announces, then a block: ``!`` (extension),
    ``,`` (image) or ``;`` (trailer). A script that merely starts with "GIF89a" stops there."""
    if not data.startswith((b"GIF87a", b"GIF89a")) or len(data) < 14:
        return False
    flags = data[10]
    table = 3 * 2 ** ((flags & 0x07) + 1) if flags & 0x80 else 0
    following = 13 + table
    return len(data) > following and data[following] in b"!,;"


def _webp(data: bytes) -> bool:
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP"


def _iso_media(data: bytes) -> bool:
    """MP4, M4A and 3GP files (ISO base media): a ``ftyp`` box first."""
    return data[4:8] == b"ftyp"


def _mpeg_audio(data: bytes) -> bool:
    """An ID3 tag, or an MPEG audio frame: 11 sync bits, then a layer other than "reserved"."""
    if data.startswith(b"ID3"):
        return True
    return len(data) >= 2 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0 and data[1] & 0x06 != 0


def _aac(data: bytes) -> bool:
    """ADTS (12 sync bits, layer 00) or an ADIF header."""
    return data.startswith(b"ADIF") or (len(data) >= 2 and data[0] == 0xFF and data[1] & 0xF6 == 0xF0)


def _text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


_INLINE: dict[str, Callable[[bytes], bool]] = {
    "image/jpeg": _starts(b"\xff\xd8\xff"),
    "image/png": _starts(b"\x89PNG\r\n\x1a\n"),
    "image/gif": _gif,
    "image/webp": _webp,
    "audio/ogg": _starts(b"OggS"),
    "audio/mpeg": _mpeg_audio,
    "audio/mp4": _iso_media,
    "audio/aac": _aac,
    "audio/amr": _starts(b"#!AMR"),
    "video/mp4": _iso_media,
    "video/3gpp": _iso_media,
}
_DOCUMENTS: dict[str, Callable[[bytes], bool]] = {
    "application/pdf": _starts(b"%PDF-"),
    _OOXML + "wordprocessingml.document": _starts(b"PK\x03\x04"),
    _OOXML + "spreadsheetml.sheet": _starts(b"PK\x03\x04"),
    _OOXML + "presentationml.presentation": _starts(b"PK\x03\x04"),
    "text/plain": _text,
    "text/csv": _text,
}
_KNOWN = {**_INLINE, **_DOCUMENTS}
INLINE_TYPES = frozenset(_INLINE)


def content_matches(media_type: str, data: bytes) -> bool:
    """Whether ``data`` begins as files of ``media_type`` (a normalised type) begin; never for an unknown
    type."""
    check = _KNOWN.get(media_type)
    return check is not None and check(data)


def inline_type(declared: str | None, data: bytes) -> str | None:
    """The type to show ``data`` in place as, or ``None``: it must be download only."""
    kind = normalise_media_type(declared)
    return kind if kind in INLINE_TYPES and content_matches(kind, data) else None


def trusted_type(declared: str | None, data: bytes) -> str:
    """The declared type when WaPipe knows it and the bytes agree, else ``application/octet-stream``."""
    kind = normalise_media_type(declared)
    return kind if content_matches(kind, data) else OCTET_STREAM
