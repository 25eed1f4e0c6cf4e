"""The QR code is checked by a reader written here from the standard, independent of the encoder:
PNG decoding, finder and timing patterns, format information (BCH), unmasking, Reed-Solomon syndromes
and the byte-mode payload."""

from __future__ import annotations

import struct
import zlib

import pytest

from sandbox.waha import png, qr
from sandbox.waha.ids import IdFactory

# The standard's table: (version, level) -> list of (data codewords, ec codewords) per block
BLOCK_TABLE = {
    (1, "L"): [(19, 7)],
    (1, "M"): [(16, 10)],
    (2, "L"): [(34, 10)],
    (2, "M"): [(28, 16)],
    (3, "L"): [(55, 15)],
    (3, "M"): [(44, 26)],
    (4, "L"): [(80, 20)],
    (4, "M"): [(32, 18), (32, 18)],
    (5, "L"): [(108, 26)],
    (5, "M"): [(43, 24), (43, 24)],
}
# Format strings as printed in the standard (level L then M, masks 0..7), most significant bit first.
FORMAT_STRINGS = {
    "L": "111011111000100 111001011110011 111110110101010 111100010011101 "
    "110011000101111 110001100011000 110110001000001 110100101110110",
    "M": "101010000010010 101000100100101 101111001111100 101101101001011 "
    "100010111111001 100000011001110 100111110010111 100101010100000",
}
ALIGN = {2: 18, 3: 22, 4: 26, 5: 30}
MASK_RULES = {
    0: lambda i, j: (i + j) % 2 == 0,
    1: lambda i, j: i % 2 == 0,
    2: lambda i, j: j % 3 == 0,
    3: lambda i, j: (i + j) % 3 == 0,
    4: lambda i, j: ((i // 2) + (j // 3)) % 2 == 0,
    5: lambda i, j: (i * j) % 2 + (i * j) % 3 == 0,
    6: lambda i, j: ((i * j) % 2 + (i * j) % 3) % 2 == 0,
    7: lambda i, j: ((i * j) % 3 + (i + j) % 2) % 2 == 0,
}


def read_png(data: bytes) -> list[list[int]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        tag, chunk = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(tag + chunk) & 0xFFFFFFFF == crc, tag
        if tag == b"IHDR":
            header = chunk
        elif tag == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert (depth, color, interlace) == (8, 0, 0)
    raw = zlib.decompress(idat)
    rows = []
    for y in range(height):
        line = raw[y * (width + 1) : (y + 1) * (width + 1)]
        assert line[0] == 0, "filter type 0 expected"
        rows.append(list(line[1:]))
    return rows


def sample_modules(pixels: list[list[int]]) -> list[list[bool]]:
    """Locate the top-left finder, infer the module size and sample each module's centre."""
    top = next(y for y, row in enumerate(pixels) if 0 in row)
    left = pixels[top].index(0)
    run = 0
    while pixels[top][left + run] == 0:
        run += 1
    scale = run // 7
    assert run == 7 * scale
    size = (len(pixels[0]) - 2 * left) // scale
    return [
        [pixels[top + r * scale + scale // 2][left + c * scale + scale // 2] == 0 for c in range(size)]
        for r in range(size)
    ]


def gf_tables() -> tuple[list[int], list[int]]:
    antilog, log = [1] * 255, [0] * 256
    for i in range(1, 255):
        v = antilog[i - 1] * 2
        antilog[i] = v ^ 0x11D if v > 255 else v
    for i, v in enumerate(antilog):
        log[v] = i
    return antilog, log


def evaluate(poly: list[int], x: int) -> int:
    antilog, log = gf_tables()
    acc = 0
    for coef in poly:
        acc = (antilog[(log[acc] + log[x]) % 255] if acc else 0) ^ coef
    return acc


def decode(matrix: list[list[bool]]) -> tuple[bytes, int, str, int]:
    """Return (payload, version, level, mask), asserting every structural rule on the way."""
    n = len(matrix)
    version = (n - 17) // 4
    assert n == 17 + 4 * version and 1 <= version <= 5

    def finder_ok(r0: int, c0: int) -> bool:
        for r in range(7):
            for c in range(7):
                ring = min(r, c, 6 - r, 6 - c)
                if matrix[r0 + r][c0 + c] != (ring != 1):
                    return False
        return True

    assert finder_ok(0, 0) and finder_ok(0, n - 7) and finder_ok(n - 7, 0)
    for k in range(8, n - 8):
        assert matrix[6][k] == (k % 2 == 0) and matrix[k][6] == (k % 2 == 0)
    assert matrix[n - 8][8], "dark module"

    copy1 = [(8, 0), (8, 1), (8, 2), (8, 3), (8, 4), (8, 5), (8, 7), (8, 8), (7, 8)]
    copy1 += [(5, 8), (4, 8), (3, 8), (2, 8), (1, 8), (0, 8)]
    copy2 = [(n - 1 - k, 8) for k in range(7)] + [(8, n - 8 + k) for k in range(8)]
    bits1 = "".join("1" if matrix[r][c] else "0" for r, c in copy1)
    bits2 = "".join("1" if matrix[r][c] else "0" for r, c in copy2)
    assert bits1 == bits2
    value = int(bits1, 2) ^ 0b101010000010010
    remainder = value
    for shift in range(4, -1, -1):
        if remainder & (1 << (shift + 10)):
            remainder ^= 0b10100110111 << shift
    assert remainder == 0, "format bits fail the BCH check"
    level = {0b01: "L", 0b00: "M", 0b11: "Q", 0b10: "H"}[value >> 13]
    mask = (value >> 10) & 7
    assert FORMAT_STRINGS[level].split()[mask] == bits1

    reserved = [[False] * n for _ in range(n)]
    for r0, c0 in ((0, 0), (0, n - 8), (n - 8, 0)):
        for r in range(r0, r0 + 8):
            for c in range(c0, c0 + 8):
                reserved[r][c] = True
    for k in range(n):
        reserved[6][k] = reserved[k][6] = True
    for k in range(9):
        reserved[8][k] = reserved[k][8] = True
    for k in range(8):
        reserved[8][n - 1 - k] = reserved[n - 1 - k][8] = True
    if version in ALIGN:
        a = ALIGN[version]
        for r in range(a - 2, a + 3):
            for c in range(a - 2, a + 3):
                assert matrix[r][c] == (max(abs(r - a), abs(c - a)) != 1)
                reserved[r][c] = True

    order = []
    upward = True
    col = n - 1
    while col > 0:
        if col == 6:
            col -= 1
        rows = range(n - 1, -1, -1) if upward else range(n)
        order += [(r, c) for r in rows for c in (col, col - 1) if not reserved[r][c]]
        upward = not upward
        col -= 2
    bits = [matrix[r][c] ^ MASK_RULES[mask](r, c) for r, c in order]
    words = [int("".join("1" if b else "0" for b in bits[i : i + 8]), 2) for i in range(0, len(bits) - 7, 8)]

    blocks = BLOCK_TABLE[(version, level)]
    data_blocks: list[list[int]] = [[] for _ in blocks]
    ec_blocks: list[list[int]] = [[] for _ in blocks]
    i = 0
    for k in range(max(d for d, _ in blocks)):
        for b, (d, _) in enumerate(blocks):
            if k < d:
                data_blocks[b].append(words[i])
                i += 1
    for k in range(max(e for _, e in blocks)):
        for b, (_, e) in enumerate(blocks):
            if k < e:
                ec_blocks[b].append(words[i])
                i += 1
    antilog, _ = gf_tables()
    for data, ecc in zip(data_blocks, ec_blocks, strict=True):
        codeword = data + ecc
        assert all(evaluate(codeword, antilog[s]) == 0 for s in range(len(ecc))), "Reed-Solomon syndromes"

    stream = "".join(format(w, "08b") for block in data_blocks for w in block)
    assert stream[:4] == "0100", "byte mode"
    count = int(stream[4:12], 2)
    payload = bytes(int(stream[12 + 8 * k : 20 + 8 * k], 2) for k in range(count))
    return payload, version, level, mask


@pytest.mark.parametrize(
    "text",
    ["x", "hello, WhatsApp", "https://wapipe.example/link?session=default", "é ü ñ 😀", "A" * 60, "Z" * 106],
)
def test_png_of_the_qr_code_decodes_back_to_the_text(text: str) -> None:
    image = png.matrix_png(qr.encode(text), scale=5, border=4)
    payload, version, level, _ = decode(sample_modules(read_png(image)))
    assert payload.decode() == text
    assert (version, level) == qr.choose_version(len(text.encode()))


@pytest.mark.parametrize("level", ["L", "M"])
@pytest.mark.parametrize("mask", range(8))
def test_every_mask_and_level_decodes(level: str, mask: int) -> None:
    text = f"mask {mask} level {level}"
    payload, _, found_level, found_mask = decode(qr.encode(text, level=level, mask=mask))
    assert (payload.decode(), found_level, found_mask) == (text, level, mask)


@pytest.mark.parametrize("version", range(1, 6))
def test_each_version_is_reachable(version: int) -> None:
    blocks, per_block, _ = qr.BLOCKS[(version, "L")]
    text = "v" * (blocks * per_block - 2)
    payload, found, level, _ = decode(qr.encode(text, level="L"))
    assert (payload.decode(), found, level) == (text, version, "L")


def test_linking_payload_fits_and_decodes() -> None:
    value = IdFactory().qr_value()
    assert value.startswith("2@") and value.count(",") == 3
    assert decode(qr.encode(value))[0].decode() == value


def test_reed_solomon_known_vector() -> None:
    data = [32, 91, 11, 120, 209, 114, 220, 77, 67, 64, 236, 17, 236, 17, 236, 17]
    assert qr.rs_remainder(data, 10) == [196, 35, 39, 119, 235, 215, 231, 226, 93, 23]


def test_too_long_text_is_refused() -> None:
    with pytest.raises(ValueError, match="do not fit"):
        qr.encode("x" * 107)


def test_sample_picture_is_a_valid_rgb_png() -> None:
    data = png.sample_picture(8, 4)
    assert data.startswith(b"\x89PNG") and b"IHDR" in data and data.endswith(b"IEND\xaeB`\x82")
    with pytest.raises(ValueError, match="rows do not match"):
        png.encode_png(2, 2, [b"\x00\x00"])
