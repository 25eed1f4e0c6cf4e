"""Deterministic identifiers: WhatsApp message ids, event ids, LIDs, group ids, pairing codes.

Each kind of id comes from its own counter hashed with the seed, so a run with the same seed and the
same calls produces the same ids.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PAIRING_ALPHABET = "ABCDEFGHJKLMNPQRSTVWXYZ123456789"


class IdFactory:
    def __init__(self, seed: str = "wapipe") -> None:
        self.seed = seed
        self._counters: Counter[str] = Counter()

    def reset(self) -> None:
        self._counters.clear()

    def _digest(self, kind: str) -> bytes:
        self._counters[kind] += 1
        return hashlib.sha256(f"{self.seed}:{kind}:{self._counters[kind]}".encode()).digest()

    def message_id(self) -> str:
        """whatsmeow style: `3EB0` followed by 18 upper-case hex digits."""
        return "3EB0" + self._digest("message").hex()[:18].upper()

    def event_id(self, now_ms: int) -> str:
        """`evt_` and a ULID: 48-bit millisecond time then 80 bits from the counter, Crockford base32."""
        value = (now_ms << 80) | int.from_bytes(self._digest("event")[:10], "big")
        chars = []
        for _ in range(26):
            chars.append(CROCKFORD[value & 31])
            value >>= 5
        return "evt_" + "".join(reversed(chars))

    def request_id(self) -> str:
        return "req_" + self._digest("request").hex()[:24]

    def lid(self) -> str:
        """A 15-digit linked identity number (without `@lid`)."""
        return str(10**14 + int.from_bytes(self._digest("lid")[:8], "big") % (9 * 10**14))

    def group_id(self) -> str:
        digits = int.from_bytes(self._digest("group")[:8], "big") % 10**11
        return f"1203634{digits:011d}@g.us"

    def pairing_code(self) -> str:
        digest = self._digest("pairing")
        code = "".join(PAIRING_ALPHABET[b % len(PAIRING_ALPHABET)] for b in digest[:8])
        return f"{code[:4]}-{code[4:]}"

    def qr_value(self) -> str:
        """A linking QR payload shaped like WhatsApp's: `2@<ref>,<noise key>,<identity key>,<secret>`."""
        digest = self._digest("qr") + self._digest("qr-keys") + self._digest("qr-keys")
        parts = [base64.b64encode(digest[i : i + 16]).decode() for i in range(18, 66, 16)]
        return "2@" + base64.b64encode(digest[:18]).decode() + "," + ",".join(parts)
