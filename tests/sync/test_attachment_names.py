"""Attachments a contact sent reach Pipedrive Files under a cleaned name (no folders, no bidi overrides or
control characters) and with the sender's type only when the bytes agree with it."""

from __future__ import annotations

import hashlib

from server.domain.whatsapp import MediaKind
from tests.sync.world import SyncWorld

HTML = b"<!doctype html><script>alert(document.cookie)</script>"
PDF = b"%PDF-1.4\n%offer\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 17


async def test_inbound_files_are_named_and_typed_safely_in_pipedrive(world: SyncWorld) -> None:
    await world.set_settings(new_chat_action="deal")
    number = "+4917612345678"
    chat = await world.message(
        number,
        "",
        media=HTML,
        kind=MediaKind.DOCUMENT,
        filename="../../invoice\u202efdp.exe",
        mime="text/html",
    )
    await world.message(
        number, "", media=PDF, kind=MediaKind.DOCUMENT, filename="..\\..\\Angebot.pdf", mime="Application/PDF"
    )
    await world.message(
        number, "", media=HTML, kind=MediaKind.DOCUMENT, filename=".hidden.pdf", mime="application/pdf"
    )
    await world.message(number, "", media=PNG, kind=MediaKind.IMAGE, mime="image/png; charset=binary")
    await world.sync(chat)

    generated = f"WhatsApp image {hashlib.sha256(PNG).hexdigest()[:8]}.png"
    uploaded = {(f.record["name"], f.content_type) for f in world.data.files.values()}
    # The same bytes are stored once, so the HTML goes up once per record under the first name it came with.
    assert uploaded == {
        ("invoicefdp.exe", "application/octet-stream"),
        ("Angebot.pdf", "application/pdf"),
        (generated, "image/png"),
    }
    assert len(world.data.files) == 6  # each to the Person and to the Deal
