"""The linking QR code as a PNG, drawn by WaPipe from the value the embedded transport reports.

whatsmeow (through neonize's ``QR`` event) hands over the text a phone's camera must read, not a
picture; WaPipe draws it the way WAHA does (error correction M or better, a 4-module quiet zone).
"""

from __future__ import annotations

import io

import segno

from server.domain.errors import InvalidInput

MAX_QR_VALUE = 2000  # a WhatsApp linking value is about 200 characters; a QR code holds at most ~2300


def qr_png(value: str, *, scale: int = 8) -> bytes:
    """The PNG of a QR code that reads back as ``value``; ``InvalidInput`` (``invalid_qr_value``) for an
    empty value or one too long to draw."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("There is no linking code to draw", reason="invalid_qr_value")
    if len(value) > MAX_QR_VALUE:
        raise InvalidInput(
            f"The linking code is {len(value)} characters long; at most {MAX_QR_VALUE} can be drawn",
            reason="invalid_qr_value",
        )
    image = io.BytesIO()
    segno.make(value, error="m", micro=False).save(image, kind="png", scale=scale, border=4)
    return image.getvalue()
