"""The type an attachment is served as: the sender's type read strictly, shown inline only for a short list
of raster image, audio and video types, and only when the bytes begin as that type's files begin. The
byte samples are written out here by hand from the formats' published magic numbers."""

from __future__ import annotations

import pytest

from server.domain.media_types import (
    INLINE_TYPES,
    OCTET_STREAM,
    content_matches,
    inline_type,
    normalise_media_type,
    trusted_type,
)

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32
# A 1x1 GIF: header, screen descriptor (no colour table), image descriptor, data, trailer.
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00" + b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
# With a global colour table of two entries (flag 0x80, size bits 0): six bytes of table, then a block.
GIF_WITH_TABLE = b"GIF87a\x01\x00\x01\x00\x80\x00\x00" + b"\x00" * 6 + b"!\xf9\x04\x00\x00\x00\x00\x00;"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 24
WAVE = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 24
OGG = b"OggS\x00\x02" + b"\x00" * 40
MP3_ID3 = b"ID3\x04\x00\x00" + b"\x00" * 40
MP3_FRAME = b"\xff\xfb\x90\x64" + b"\x00" * 40
AAC_ADTS = b"\xff\xf1\x50\x80" + b"\x00" * 40
AMR = b"#!AMR\n" + b"\x00" * 40
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00" + b"\x00" * 32
M4A = b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00" + b"\x00" * 32
THREE_GP = b"\x00\x00\x00\x14ftyp3gp4\x00\x00\x00\x00" + b"\x00" * 32
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
DOCX = b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 32

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>console.log("ran")</script></svg>'
HTML = b"<!doctype html><script>console.log('ran')</script>"
XHTML = b'<html xmlns="http://www.w3.org/1999/xhtml"><script>console.log("ran")</script></html>'
JS = b"console.log('ran');"
# "GIF89a" is a valid start of a JavaScript statement; what follows the six letters is script, not a GIF.
POLYGLOT = b"GIF89a=1;console.log('ran');//"
# A polyglot shaped to pass the GIF structure check: the script hides its bytes in a comment. It is served
# as image/gif, which no browser runs as a script.
SHAPED_POLYGLOT = b"GIF89a/*\x00\x00\x00\x00\x00,*/=1;console.log('ran');//"


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("image/png", "image/png"),
        (" image/png ", "image/png"),
        ("IMAGE/SVG+XML", "image/svg+xml"),
        ("image/svg+xml; charset=utf-8", "image/svg+xml"),
        ("Text/HTML;charset=UTF-8", "text/html"),
        ("audio/ogg; codecs=opus", "audio/ogg"),
        ("\timage/jpeg\t;q=1", "image/jpeg"),
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", None),
        ("", ""),
        ("   ", ""),
        ("image", ""),
        ("image/", ""),
        ("/png", ""),
        ("image / png", ""),
        ("image/png, text/html", ""),
        ("image/png\r\nX-Injected: 1", ""),
        ("image/png/x", ""),
        ("imäge/png", ""),
        ("*/*", ""),
    ],
)
def test_the_senders_type_is_read_strictly(raw: str, normal: str | None) -> None:
    assert normalise_media_type(raw) == (raw if normal is None else normal)


def test_no_type_is_an_empty_type() -> None:
    assert normalise_media_type(None) == ""


def test_the_inline_list_is_raster_images_audio_and_video_only() -> None:
    assert {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "audio/ogg",
        "audio/mpeg",
        "audio/mp4",
        "audio/aac",
        "audio/amr",
        "video/mp4",
        "video/3gpp",
    } == INLINE_TYPES
    assert OCTET_STREAM == "application/octet-stream"


@pytest.mark.parametrize(
    ("declared", "data", "served"),
    [
        # What WhatsApp sends, as the formats begin: inline, under the normalised type.
        ("image/jpeg", JPEG, "image/jpeg"),
        (" image/png ", PNG, "image/png"),
        ("image/png", b"\x89PNG\r\n\x1a\n", "image/png"),
        ("Image/GIF", GIF, "image/gif"),
        ("image/gif", GIF_WITH_TABLE, "image/gif"),
        ("image/webp", WEBP, "image/webp"),
        ("audio/ogg; codecs=opus", OGG, "audio/ogg"),
        ("audio/mpeg", MP3_ID3, "audio/mpeg"),
        ("audio/mpeg", MP3_FRAME, "audio/mpeg"),
        ("audio/aac", AAC_ADTS, "audio/aac"),
        ("audio/amr", AMR, "audio/amr"),
        ("audio/mp4", M4A, "audio/mp4"),
        ("video/mp4", MP4, "video/mp4"),
        ("video/3gpp", THREE_GP, "video/3gpp"),
        # Types that are documents (they can run script): never inline, however spelled.
        ("IMAGE/SVG+XML", SVG, None),
        ("image/svg+xml; charset=utf-8", SVG, None),
        ("text/html", HTML, None),
        ("Text/HTML; charset=UTF-8", HTML, None),
        ("application/xhtml+xml", XHTML, None),
        ("text/xml", SVG, None),
        ("text/javascript", JS, None),
        (" text/javascript ", JS, None),
        ("application/javascript", JS, None),
        ("application/pdf", PDF, None),
        # An allowed type whose bytes are something else: not inline.
        ("image/png", HTML, None),
        ("image/png", SVG, None),
        ("image/jpeg", PNG, None),
        ("image/webp", WAVE, None),
        ("audio/ogg", JS, None),
        ("audio/mpeg", b"\xff\x00\x00\x00", None),
        ("audio/aac", MP3_FRAME, None),
        ("video/mp4", b"\x00\x00\x00\x18moov" + b"\x00" * 8, None),
        ("image/png", b"", None),
        ("image/png", b"\x89PNG", None),
        # A GIF/JS polyglot: the first six letters are GIF's, the rest is not a GIF.
        ("image/gif", POLYGLOT, None),
        ("text/javascript", POLYGLOT, None),
        ("image/gif", b"GIF89a", None),
        # Shaped to pass as a GIF: served as an image, which a browser never runs (nosniff, image type).
        ("image/gif", SHAPED_POLYGLOT, "image/gif"),
        ("text/javascript", SHAPED_POLYGLOT, None),
        # No type, or a type the sender left vague, even over a real image: not inline.
        ("", PNG, None),
        ("application/octet-stream", PNG, None),
        ("image/*", PNG, None),
        ("image/png, text/html", PNG, None),
    ],
)
def test_inline_only_for_an_allowed_type_whose_bytes_match(
    declared: str, data: bytes, served: str | None
) -> None:
    assert inline_type(declared, data) == served


@pytest.mark.parametrize(
    ("declared", "data", "uploaded"),
    [
        ("image/png", PNG, "image/png"),
        ("audio/ogg; codecs=opus", OGG, "audio/ogg"),
        ("Application/PDF", PDF, "application/pdf"),
        (
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            DOCX,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        ("text/plain; charset=utf-8", "Grüße\n".encode(), "text/plain"),
        ("text/csv", b"a,b\n1,2\n", "text/csv"),
        # Whatever does not hold up goes on as plain bytes.
        ("application/pdf", HTML, OCTET_STREAM),
        ("text/plain", b"\xff\xfe\x00bad", OCTET_STREAM),
        ("text/plain", b"nul\x00inside", OCTET_STREAM),
        ("text/html", HTML, OCTET_STREAM),
        ("IMAGE/SVG+XML", SVG, OCTET_STREAM),
        ("text/javascript", JS, OCTET_STREAM),
        ("image/png", HTML, OCTET_STREAM),
        ("", PDF, OCTET_STREAM),
    ],
)
def test_the_type_passed_on_is_the_senders_only_when_the_bytes_agree(
    declared: str, data: bytes, uploaded: str
) -> None:
    assert trusted_type(declared, data) == uploaded


def test_content_matches_knows_nothing_of_unknown_types() -> None:
    assert content_matches("image/png", PNG)
    assert not content_matches("image/svg+xml", SVG)
    assert not content_matches("text/html", HTML)
    assert not content_matches("", b"")
