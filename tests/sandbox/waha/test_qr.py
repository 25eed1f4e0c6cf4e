"""The linking QR code the sandbox draws (with segno) is read back by an independent reader (ZXing, through
``zxing-cpp``) to the exact linking value, whatever its length: WhatsApp's real linking values are longer
than the sandbox's own."""

from __future__ import annotations

import httpx
import pytest

from sandbox.waha.api_sessions import qr_png
from sandbox.waha.ids import IdFactory
from sandbox.waha.state import SandboxState
from tests.qr_reader import qr_text

# A real WhatsApp Web linking value: a reference, then the noise key, identity key and advertising secret.
WHATSAPP_VALUE = (
    "2@B6j0Z6nEb4Gx2fiOcA2j3TQrSb1i8uTVn0YQ7vNfJwA7mU9v8x0Hk3c8P2H1Yq4Z5Qk6b7T8n9M0vL1jR2xF3gU4hI5sD6aE"
    "7wQ8eR9tY0==,d1Ffd6o2ODa8x7m3bP9gq0Zc6E5n4W1e2R3t4Y5u6I8=,KjH2Gf9Dd8Ss7Aa6Qq5Ww4Ee3Rr2Tt1Yy0Uu9Ii8O=,"
    "Zx9Cv8Bn7Mm6Ll5Kk4Jj3Hh2Gg1Ff0Dd9Ss8Aa7Q="
)


@pytest.mark.parametrize(
    "value",
    ["x", "hello, WhatsApp", "é ü ñ 😀", IdFactory().qr_value(), WHATSAPP_VALUE, "Z" * 900],
    ids=["one letter", "text", "unicode", "sandbox value", "whatsapp value", "900 letters"],
)
def test_the_qr_code_reads_back_to_its_value(value: str) -> None:
    assert qr_text(qr_png(value)) == value


async def test_the_phone_page_shows_the_qr_code_of_the_session(
    api: httpx.AsyncClient, sim: SandboxState
) -> None:
    await api.post("/api/sessions", json={"name": "default"})
    await sim.settle()
    value = sim.session("default").qr_value
    assert value is not None
    image = await api.get("/_sim/phone/default/qr.png")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert qr_text(image.content) == value
