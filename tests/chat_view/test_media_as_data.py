"""Attachments are served as data, never as documents, from both routes that serve them: the chat view's
``/chats/{c}/media/{m}`` (also the link in Pipedrive notes) and the panel's signed ``/panel/media/{m}``.

The contact sends each hostile file through the WhatsApp sandbox with the type spellings a sender can
choose; every answer is checked header by header against values written out here: a download
(``application/octet-stream``, ``attachment`` with the cleaned name), a sandboxing Content-Security-Policy,
no sniffing, private caching. A real PNG, OGG voice note and MP4 still play inline."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx
from sqlalchemy import select

from server.storage.tables import Company, Message, table_of
from tests.chat_view.test_chat_view import browser, chat_id_of, conversation, csrf, sign_in
from tests.panel.test_panel import signed_media_path
from tests.panel.world import PanelWorld

SESSION = "wp-acme-anna"
CONTACT = "4917655501234"
SANDBOX_POLICY = "sandbox; default-src 'none'"

SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
HTML = b"<!doctype html><title>x</title><script>alert(document.cookie)</script>"
XHTML = b'<html xmlns="http://www.w3.org/1999/xhtml"><body><script>alert(3)</script></body></html>'
JS = b"fetch('/chats/1/reply', {method: 'POST'});"
POLYGLOT = b"GIF89a=1;alert(4);//"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
OGG = b"OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00" + b"\x01" * 32
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 16


@dataclass(frozen=True)
class Sent:
    filename: str
    kind: str  # the WhatsApp message type the phone sends
    mimetype: str  # what the sender says the file is
    data: bytes
    content_type: str  # what WaPipe must answer with
    disposition: str


def attachment(name: str, encoded: str | None = None) -> str:
    return f"attachment; filename=\"{name}\"; filename*=UTF-8''{encoded or name}"


HOSTILE = [
    Sent("upper.svg", "image", "IMAGE/SVG+XML", SVG, "application/octet-stream", attachment("upper.svg")),
    Sent(
        "charset.svg",
        "image",
        "image/svg+xml; charset=utf-8",
        SVG,
        "application/octet-stream",
        attachment("charset.svg"),
    ),
    Sent("page.html", "document", "text/html", HTML, "application/octet-stream", attachment("page.html")),
    Sent(
        "Präsentation.html",
        "document",
        "Text/HTML; charset=UTF-8",
        HTML,
        "application/octet-stream",
        attachment("Pr_sentation.html", "Pr%C3%A4sentation.html"),
    ),
    Sent(
        "page.xhtml",
        "document",
        "application/xhtml+xml",
        XHTML,
        "application/octet-stream",
        attachment("page.xhtml"),
    ),
    Sent("reply.js", "document", " text/javascript ", JS, "application/octet-stream", attachment("reply.js")),
    Sent("fake.png", "image", "image/png", HTML, "application/octet-stream", attachment("fake.png")),
    Sent("poly.gif", "image", "image/gif", POLYGLOT, "application/octet-stream", attachment("poly.gif")),
    Sent(
        "poly.js",
        "document",
        "text/javascript",
        POLYGLOT,
        "application/octet-stream",
        attachment("poly.js"),
    ),
    Sent(
        "../../invoice\u202efdp.exe",
        "document",
        "application/pdf",
        b"MZ\x90\x00",
        "application/octet-stream",
        attachment("invoicefdp.exe"),
    ),
]
PLAYABLE = [
    Sent(
        "photo.png",
        "image",
        "image/png",
        PNG,
        "image/png",
        "inline; filename=\"photo.png\"; filename*=UTF-8''photo.png",
    ),
    Sent(
        "voice.ogg",
        "voice",
        "audio/ogg; codecs=opus",
        OGG,
        "audio/ogg",
        "inline; filename=\"voice.ogg\"; filename*=UTF-8''voice.ogg",
    ),
    Sent(
        "clip.mp4",
        "video",
        "VIDEO/MP4",
        MP4,
        "video/mp4",
        "inline; filename=\"clip.mp4\"; filename*=UTF-8''clip.mp4",
    ),
]


async def send_all(world: PanelWorld, files: list[Sent]) -> dict[str, int]:
    """The contact sends each file; the ids of the stored messages by file name."""
    for sent in files:
        world.waha.receive(
            SESSION,
            CONTACT,
            "",
            kind=sent.kind,
            data=sent.data,
            mimetype=sent.mimetype,
            filename=sent.filename,
        )
    await world.settle()
    table = table_of(Message)
    async with world.resources.engine.connect() as connection:
        rows = (
            await connection.execute(select(table.c.id, table.c.media_filename, table.c.media_mime))
        ).all()
    ids = {str(name): int(message_id) for message_id, name, _ in rows if name}
    # The sender's type is kept as it came (it is data), whatever WaPipe serves the file as.
    kept = {str(name): str(mime) for _, name, mime in rows if name}
    assert {sent.filename: kept[sent.filename] for sent in files} == {s.filename: s.mimetype for s in files}
    return ids


def check(answer: httpx.Response, sent: Sent, disposition: str | None = None) -> None:
    what = f"{sent.filename!r} sent as {sent.mimetype!r}"
    assert answer.status_code == 200, what
    assert answer.content == sent.data, what
    headers = answer.headers
    assert headers["content-type"] == sent.content_type, what
    assert headers["content-disposition"] == (disposition or sent.disposition), what
    assert headers.get_list("content-security-policy") == [SANDBOX_POLICY], what
    assert headers["x-content-type-options"] == "nosniff", what
    assert headers["cache-control"].split(",")[0] == "private", what


async def test_the_chat_view_serves_hostile_files_as_downloads_and_real_media_inline(
    world: PanelWorld,
) -> None:
    ids = await send_all(world, HOSTILE + PLAYABLE)
    chat_id = await chat_id_of(world, "+" + CONTACT)
    async with browser(world) as client:
        assert (await sign_in(world, client, world.anna, chat_id)).status_code == 200
        for sent in HOSTILE + PLAYABLE:
            check(await client.get(f"/chats/{chat_id}/media/{ids[sent.filename]}"), sent)
            download = await client.get(
                f"/chats/{chat_id}/media/{ids[sent.filename]}", params={"download": "1"}
            )
            check(download, sent, sent.disposition.replace("inline;", "attachment;"))


async def test_the_panels_signed_link_serves_the_same_as_the_chat_view(world: PanelWorld) -> None:
    ids = await send_all(world, HOSTILE + PLAYABLE)
    [company] = [
        row for row in await world.rows(Company) if row["pipedrive_company_id"] == world.anna.company_id
    ]
    expires = int(time.time()) + 600  # a link that stays valid while the test runs
    for sent in HOSTILE + PLAYABLE:
        check(
            await world.client.get(signed_media_path(world, company["id"], ids[sent.filename], expires)), sent
        )


async def test_the_link_in_the_panel_is_the_signed_route(world: PanelWorld) -> None:
    """The page links what this file checks: the panel's thumbnails and file links are signed links to
    ``/panel/media``, the chat view's are its own company-scoped route."""
    ids = await send_all(world, HOSTILE[:1] + PLAYABLE[:1])
    params = {"resource": "person", "selectedIds": world.persons["maria"], "id": "frame-1"}
    page = await world.client.get("/panel", params={**params, "token": world.token()})
    assert page.status_code == 200
    for name in ("upper.svg", "photo.png"):
        assert f'src="/panel/media/{ids[name]}?c=' in page.text, name


async def test_a_file_sent_from_the_chat_view_is_named_by_the_same_cleaner(world: PanelWorld) -> None:
    chat_id = await conversation(world, 1)
    name = "..\\..\\" + "n" * 130 + "\u202e.pdf"
    async with browser(world) as client:
        token, ref = csrf((await sign_in(world, client, world.anna, chat_id)).text)
        answer = await client.post(
            f"/chats/{chat_id}/reply",
            data={"text": "", "client_ref": ref, "csrf_token": token},
            files={"file": (name, b"%PDF-1.4 offer", "application/pdf")},
        )
    assert answer.status_code == 200, answer.text
    cleaned = "n" * 116 + ".pdf"  # 120 characters, the extension kept
    [row] = await world.outbox()
    assert row["file_name"] == cleaned
    stored = world.pd.company_data(world.anna.company_id).files[row["file_id"]]
    assert stored.record["name"] == cleaned
