"""QR Code encoder (model 2): byte mode, versions 1 to 5, error correction level L or M.

Enough for the linking codes the simulated gateway shows; the smallest version that holds the text is
chosen, preferring level M, and the mask with the lowest penalty score is applied.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

# (version, level) -> (blocks, data codewords per block, error correction codewords per block)
BLOCKS: dict[tuple[int, str], tuple[int, int, int]] = {
    (1, "L"): (1, 19, 7),
    (1, "M"): (1, 16, 10),
    (2, "L"): (1, 34, 10),
    (2, "M"): (1, 28, 16),
    (3, "L"): (1, 55, 15),
    (3, "M"): (1, 44, 26),
    (4, "L"): (1, 80, 20),
    (4, "M"): (2, 32, 18),
    (5, "L"): (1, 108, 26),
    (5, "M"): (2, 43, 24),
}
LEVEL_BITS = {"L": 0b01, "M": 0b00}
ALIGNMENT_CENTER = {2: 18, 3: 22, 4: 26, 5: 30}
FORMAT_GENERATOR = 0b10100110111
FORMAT_MASK = 0b101010000010010

Matrix = list[list[bool]]

EXP = [0] * 512
LOG = [0] * 256
_x = 1
for _i in range(255):
    EXP[_i] = _x
    LOG[_x] = _i
    _x <<= 1
    if _x & 0x100:
        _x ^= 0x11D
for _i in range(255, 512):
    EXP[_i] = EXP[_i - 255]


def gf_mul(a: int, b: int) -> int:
    return 0 if a == 0 or b == 0 else EXP[LOG[a] + LOG[b]]


def rs_generator(degree: int) -> list[int]:
    """Coefficients (highest power first) of the product of (x - a^i) for i below `degree`."""
    poly = [1]
    for i in range(degree):
        nxt = [*poly, 0]
        for j, coef in enumerate(poly):
            nxt[j + 1] ^= gf_mul(coef, EXP[i])
        poly = nxt
    return poly


def rs_remainder(data: Sequence[int], degree: int) -> list[int]:
    """The error correction codewords: data(x) * x^degree mod generator(x)."""
    generator = rs_generator(degree)
    remainder = [0] * degree
    for byte in data:
        factor = byte ^ remainder[0]
        remainder = [*remainder[1:], 0]
        for i in range(degree):
            remainder[i] ^= gf_mul(generator[i + 1], factor)
    return remainder


def format_bits(level: str, mask: int) -> int:
    """The 15 format bits: level and mask, BCH(15,5) remainder, XOR the fixed pattern."""
    data = (LEVEL_BITS[level] << 3) | mask
    remainder = data << 10
    for bit in range(14, 9, -1):
        if remainder >> bit & 1:
            remainder ^= FORMAT_GENERATOR << (bit - 10)
    return ((data << 10) | remainder) ^ FORMAT_MASK


def choose_version(length: int, level: str | None = None) -> tuple[int, str]:
    levels = [level] if level else ["M", "L"]
    for version in range(1, 6):
        for candidate in levels:
            blocks, data_per_block, _ = BLOCKS[(version, candidate)]
            if length <= blocks * data_per_block - 2:
                return version, candidate
    raise ValueError(f"{length} bytes do not fit a version 1-5 QR code")


def codewords(payload: bytes, version: int, level: str) -> list[int]:
    """Data codewords (mode, count, bytes, terminator, padding) plus interleaved error correction."""
    blocks, data_per_block, ec_per_block = BLOCKS[(version, level)]
    capacity = blocks * data_per_block
    bits = "0100" + format(len(payload), "08b") + "".join(format(b, "08b") for b in payload)
    bits += "0" * min(4, capacity * 8 - len(bits))
    bits += "0" * (-len(bits) % 8)
    data = [int(bits[i : i + 8], 2) for i in range(0, len(bits), 8)]
    pad = [0xEC, 0x11]
    data += [pad[i % 2] for i in range(capacity - len(data))]
    split = [data[i * data_per_block : (i + 1) * data_per_block] for i in range(blocks)]
    ecc = [rs_remainder(block, ec_per_block) for block in split]
    out = [block[i] for i in range(data_per_block) for block in split]
    return out + [block[i] for i in range(ec_per_block) for block in ecc]


MASKS: list[Callable[[int, int], bool]] = [
    lambda r, c: (r + c) % 2 == 0,
    lambda r, c: r % 2 == 0,
    lambda r, c: c % 3 == 0,
    lambda r, c: (r + c) % 3 == 0,
    lambda r, c: (r // 2 + c // 3) % 2 == 0,
    lambda r, c: (r * c) % 2 + (r * c) % 3 == 0,
    lambda r, c: ((r * c) % 2 + (r * c) % 3) % 2 == 0,
    lambda r, c: ((r + c) % 2 + (r * c) % 3) % 2 == 0,
]


class _Grid:
    def __init__(self, version: int) -> None:
        self.version = version
        self.size = 17 + 4 * version
        self.dark: Matrix = [[False] * self.size for _ in range(self.size)]
        self.fixed = [[False] * self.size for _ in range(self.size)]

    def put(self, row: int, col: int, dark: bool) -> None:
        self.dark[row][col] = dark
        self.fixed[row][col] = True

    def draw_function_patterns(self) -> None:
        size = self.size
        for top, left in ((0, 0), (0, size - 7), (size - 7, 0)):
            for dr in range(-1, 8):
                for dc in range(-1, 8):
                    r, c = top + dr, left + dc
                    if 0 <= r < size and 0 <= c < size:
                        ring = max(abs(dr - 3), abs(dc - 3))
                        self.put(r, c, ring != 2 and ring != 4)
        for i in range(8, size - 8):
            self.put(6, i, i % 2 == 0)
            self.put(i, 6, i % 2 == 0)
        center = ALIGNMENT_CENTER.get(self.version)
        if center is not None:
            for dr in range(-2, 3):
                for dc in range(-2, 3):
                    self.put(center + dr, center + dc, max(abs(dr), abs(dc)) != 1)
        self.draw_format(0)

    def draw_format(self, bits: int, target: Matrix | None = None) -> None:
        """Both copies of the format bits (bit 0 is the least significant) and the dark module."""
        size = self.size
        cells = [(i, 8) for i in range(6)] + [(7, 8), (8, 8), (8, 7)] + [(8, 14 - i) for i in range(9, 15)]
        cells += [(8, size - 1 - i) for i in range(8)] + [(size - 15 + i, 8) for i in range(8, 15)]
        for n, (row, col) in enumerate(cells):
            dark = bool(bits >> (n % 15) & 1)
            if target is None:
                self.put(row, col, dark)
            else:
                target[row][col] = dark
        if target is None:
            self.put(size - 8, 8, True)

    def place_data(self, data: Sequence[int]) -> None:
        total_bits = len(data) * 8
        index = 0
        right = self.size - 1
        while right >= 1:
            if right == 6:
                right = 5
            upward = (right + 1) & 2 == 0
            for vert in range(self.size):
                row = self.size - 1 - vert if upward else vert
                for col in (right, right - 1):
                    if not self.fixed[row][col] and index < total_bits:
                        self.dark[row][col] = bool(data[index >> 3] >> (7 - (index & 7)) & 1)
                        index += 1
            right -= 2

    def masked(self, mask: int, level: str) -> Matrix:
        rule = MASKS[mask]
        out = [
            [self.dark[r][c] ^ (not self.fixed[r][c] and rule(r, c)) for c in range(self.size)]
            for r in range(self.size)
        ]
        self.draw_format(format_bits(level, mask), out)
        return out


def penalty(matrix: Matrix) -> int:
    """The standard's four penalty rules: runs, 2x2 blocks, finder-like patterns, dark balance."""
    size = len(matrix)
    score = 0
    lines = [list(row) for row in matrix] + [[matrix[r][c] for r in range(size)] for c in range(size)]
    finder_like = [
        [True, False, True, True, True, False, True, False, False, False, False],
        [False, False, False, False, True, False, True, True, True, False, True],
    ]
    for line in lines:
        run = 1
        for i in range(1, size + 1):
            if i < size and line[i] == line[i - 1]:
                run += 1
                continue
            if run >= 5:
                score += run - 2
            run = 1
        for i in range(size - 10):
            if any(line[i : i + 11] == pattern for pattern in finder_like):
                score += 40
    for r in range(size - 1):
        for c in range(size - 1):
            if matrix[r][c] == matrix[r][c + 1] == matrix[r + 1][c] == matrix[r + 1][c + 1]:
                score += 3
    dark = sum(sum(row) for row in matrix)
    score += abs(dark * 20 - size * size * 10) // (size * size) * 10
    return score


def encode(text: str | bytes, *, level: str | None = None, mask: int | None = None) -> Matrix:
    """The module matrix (True = dark) of a QR code holding `text` (UTF-8) in byte mode."""
    payload = text.encode() if isinstance(text, str) else text
    version, chosen_level = choose_version(len(payload), level)
    grid = _Grid(version)
    grid.draw_function_patterns()
    data = codewords(payload, version, chosen_level)
    grid.place_data(data)
    candidates = [mask] if mask is not None else list(range(8))
    return min((grid.masked(m, chosen_level) for m in candidates), key=penalty)
