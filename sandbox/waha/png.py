"""A minimal PNG writer (8-bit greyscale or RGB, no interlace, filter 0), built on zlib and struct."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

SIGNATURE = b"\x89PNG\r\n\x1a\n"
GREY = 0
RGB = 2


def _chunk(tag: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(tag + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)


def encode_png(width: int, height: int, rows: Sequence[bytes], *, color_type: int = GREY) -> bytes:
    """Encode `height` rows of raw samples (1 byte per pixel for GREY, 3 for RGB)."""
    channels = 3 if color_type == RGB else 1
    if len(rows) != height or any(len(row) != width * channels for row in rows):
        raise ValueError("rows do not match the image size")
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    raw = b"".join(b"\x00" + bytes(row) for row in rows)
    return SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b"")


def sample_picture(width: int = 64, height: int = 48, *, hue: int = 0) -> bytes:
    """A small colourful RGB picture used as the content of simulated photos."""
    rows = []
    for y in range(height):
        row = bytearray()
        for x in range(width):
            row += bytes(((x * 4 + hue) % 256, (y * 5 + hue // 2) % 256, (x + y + 128 + hue) % 256))
        rows.append(bytes(row))
    return encode_png(width, height, rows, color_type=RGB)
