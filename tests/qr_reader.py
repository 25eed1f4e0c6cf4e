"""Reading a QR code back as a phone's camera would: ZXing (``zxing-cpp``), independent of the code that drew
it (segno)."""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image


def qr_text(png: bytes) -> str:
    """What a phone's camera reads in the PNG: the text of its one QR code."""
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)), formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(found) == 1, f"{len(found)} QR codes in the image"
    return found[0].text
