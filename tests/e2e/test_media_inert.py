"""Attachments never run code, in Chromium against the demo: a contact sends script-carrying files with the
types a sender can choose (SVG, HTML, XHTML, JavaScript, a GIF/JavaScript polyglot, odd spellings), and
they are opened every way a person can open them: from the panel's thumbnails and file links inside the
Pipedrive sandbox's Person page, from the chat view's links, and at the media address the Pipedrive note
links. The hostile documents load the contact's JavaScript attachment by its address, as the attack did.

Every payload announces itself if it runs: it writes a marker to the console and into the document's
title. The test collects the console of every page the browser opens and asserts no marker appears. So
that this can fail, the same bytes served as their sender typed them (routed by the browser, without
WaPipe's headers) do print the marker, and a script at WaPipe's static path does run where the
attachments are refused. A real PNG still shows as a picture in the panel and the chat view."""

from __future__ import annotations

import base64
import re
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from playwright.sync_api import ConsoleMessage, Download, Locator, Page, Route, expect
from sqlalchemy import select

from server.storage.tables import Message, MessageMediaRow, table_of
from tests.e2e.demo_world import DemoRuntime
from tests.e2e.panel_helpers import (
    CONTACT_DIGITS,
    PERSON,
    eventually,
    open_panel,
    sandbox_state,
)
from tests.e2e.seen import expect_in_view

MARK = "wapipe-script-ran"


def announce(name: str) -> str:
    return f"console.log('{MARK}:{name}');document.title='{MARK}:{name}';"


def real_png(width: int = 8, height: int = 6) -> bytes:
    """A PNG a browser decodes: signature, IHDR, one IDAT of red pixels, IEND (each chunk with its CRC)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@dataclass(frozen=True)
class Sent:
    filename: str
    kind: str  # the WhatsApp message type
    mimetype: str  # what the sender says it is
    data: bytes


# Sent first: what the hostile documents load by address.
SCRIPT = Sent("reply.js", "document", "Text/JavaScript", announce("js").encode())
POLYGLOT = Sent("poly.gif", "image", "image/gif", b"GIF89a=1;" + announce("polyglot").encode() + b"//")
# Shaped so its first bytes also pass as a GIF's header: served as an image, which no browser runs.
SHAPED = Sent("shaped.gif", "image", "image/gif", b"GIF89a/*\0\0\0\0\0,*/=1;" + announce("shaped").encode())
# (A type with spaces around it is in the route tests: a gateway's HTTP server refuses to send it.)
CHARSET_SCRIPT = Sent(
    "module.js", "document", "application/JavaScript;charset=UTF-8", announce("js2").encode()
)
PHOTO = Sent("photo.png", "image", "image/png", real_png())


def documents(script_url: str) -> list[Sent]:
    """The documents that carry script inline and load the contact's JavaScript attachment."""
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20" onload="{announce("svg-onload")}">'
        f'<script>{announce("svg")}</script><script href="{script_url}"/></svg>'
    )
    page = (
        f"<!doctype html><title>x</title><script>{announce('html')}</script>"
        f'<script src="{script_url}"></script>'
    )
    xhtml = (
        '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>x</title></head><body>'
        f'<script>{announce("xhtml")}</script><script src="{script_url}"></script></body></html>'
    )
    return [
        Sent("upper.svg", "image", "IMAGE/SVG+XML", svg.replace("svg-onload", "upper-onload").encode()),
        Sent("charset.svg", "image", "image/svg+xml; charset=utf-8", svg.encode()),
        Sent("page.html", "document", "Text/HTML; charset=UTF-8", page.encode()),
        Sent("page.xhtml", "document", "application/xhtml+xml", xhtml.encode()),
        Sent("fake.png", "image", "image/png", page.replace("html", "fake-png").encode()),
    ]


def send(runtime: DemoRuntime, session: str, sent: Sent) -> None:
    body = {
        "from": CONTACT_DIGITS,
        "kind": sent.kind,
        "mimetype": sent.mimetype,
        "filename": sent.filename,
        "data": base64.b64encode(sent.data).decode(),
    }
    httpx.post(f"{runtime.addresses.waha}/_sim/{session}/inbound", json=body, timeout=10).raise_for_status()


def stored(runtime: DemoRuntime, filename: str) -> tuple[int, int] | None:
    """(chat id, message id) of the message carrying ``filename`` once its file is stored."""
    messages = table_of(Message)
    media = table_of(MessageMediaRow)
    query = (
        select(messages.c.chat_id, messages.c.id)
        .select_from(messages.join(media, media.c.message_id == messages.c.id))
        .where(messages.c.media_filename == filename, media.c.state == "stored")
    )

    async def read() -> tuple[int, int] | None:
        async with runtime.resources.engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return (int(row[0]), int(row[1])) if row else None

    return runtime.run(read())


class Console:
    """Every console line of every page of the context (popups too), and the markers among them."""

    def __init__(self, page: Page) -> None:
        self.lines: list[str] = []
        page.context.on("console", self.seen)

    def seen(self, message: ConsoleMessage) -> None:
        self.lines.append(message.text)

    def markers(self) -> list[str]:
        return [line for line in self.lines if MARK in line]

    def clear(self) -> None:
        self.lines.clear()


def saved_from_link(page: Page, link: Locator) -> Download:
    """Click a ``target=_blank`` link whose file must be saved, not shown (Chromium reports a download the
    new tab starts on the page that opened it, and closes the tab). Returns once that tab is gone, so the
    next link's new tab is not mistaken for it."""
    tabs = len(page.context.pages)
    with page.expect_download() as saving:
        link.click()
    for _ in range(300):  # at most 15 s; waiting on the page lets Playwright hear the tab close
        if len(page.context.pages) <= tabs:
            break
        page.wait_for_timeout(50)
    assert len(page.context.pages) <= tabs, "the download's tab never closed"
    return saving.value


def shown_from_link(page: Page, link: Locator) -> Page:
    """Click a ``target=_blank`` link whose file is shown: the new tab."""
    with page.context.expect_page() as opening:
        link.click()
    opened = opening.value
    opened.wait_for_load_state()
    return opened


def downloaded_at(page: Page, url: str) -> Download:
    """Go to ``url`` as a person following a link would; it must be saved, not shown."""
    with page.expect_download() as saving:
        page.evaluate("url => { window.location.href = url; }", url)
    return saving.value


# A script element added to a WaPipe page, as injected markup would add it: whether it ran.
LOAD_SCRIPT = """src => new Promise(done => {
  const tag = document.createElement('script');
  tag.src = src;
  tag.onload = () => done('loaded');
  tag.onerror = () => done('refused');
  document.head.appendChild(tag);
})"""


def fulfil_as_sent(sent: Sent) -> Callable[[Route], None]:
    """The file as a server that trusts the sender would serve it: the sender's type, no other header."""
    return lambda route: route.fulfill(
        status=200, body=sent.data, headers={"content-type": sent.mimetype.strip()}
    )


def test_hostile_attachments_never_run_and_a_real_image_still_shows(
    page: Page, runtime: DemoRuntime, session: str
) -> None:
    addresses = runtime.addresses
    console = Console(page)

    for sent in (SCRIPT, POLYGLOT, SHAPED, CHARSET_SCRIPT):
        send(runtime, session, sent)
    chat_id, script_id = eventually(lambda: stored(runtime, SCRIPT.filename), "the script attachment")
    script_url = f"/chats/{chat_id}/media/{script_id}"  # the session cookie goes with it from any WaPipe page
    hostile_documents = documents(script_url)
    for sent in (*hostile_documents, PHOTO):
        send(runtime, session, sent)
    everything = [SCRIPT, POLYGLOT, SHAPED, CHARSET_SCRIPT, *hostile_documents, PHOTO]
    ids = {
        sent.filename: eventually(lambda s=sent: stored(runtime, s.filename), sent.filename)[1]
        for sent in everything
    }
    media_url = {name: f"{addresses.wapipe}/chats/{chat_id}/media/{mid}" for name, mid in ids.items()}
    downloads_expected = [s for s in everything if s not in (SHAPED, PHOTO)]

    # Signed in to the chat view first, so every document opened later could reach the chat (and its
    # cookie would go with a request to the script's address).
    page.goto(f"{addresses.wapipe}/chats/{chat_id}")
    page.click("#allow")
    expect(page.locator("#chat-title")).to_be_visible(timeout=15_000)

    # The panel: the picture shows; every hostile thumbnail and file link opens as a download.
    panel = open_panel(page, addresses, PERSON)
    photo = panel.locator("img.thumb[alt='photo.png']")
    photo.scroll_into_view_if_needed()  # the thumbnails above it load (or fail) after the list opens
    expect(photo).to_have_js_property("naturalWidth", 8, timeout=15_000)
    expect_in_view(photo)
    for sent in everything:
        if sent is PHOTO:
            continue
        if sent.kind == "image":
            link = panel.locator(f"a:has(img.thumb[alt='{sent.filename}'])")
        else:
            link = panel.locator(".file a", has_text=sent.filename)
        if sent is SHAPED:  # a GIF by its bytes: shown as an image, in a document that runs nothing
            opened = shown_from_link(page, link)
            expect(opened.locator("img")).to_have_count(1)
            assert MARK not in opened.title(), sent.filename
            opened.close()
        else:
            assert saved_from_link(page, link).suggested_filename == sent.filename
    assert console.markers() == []

    # The chat view: the picture shows; every link saves the file.
    page.goto(f"{addresses.wapipe}/chats/{chat_id}")
    picture = page.locator("img.media[alt='photo.png']")
    expect(picture).to_have_js_property("naturalWidth", 8, timeout=15_000)
    picture.scroll_into_view_if_needed()
    expect_in_view(picture)
    for sent in everything:
        with page.expect_download() as saving:
            page.locator("a.download", has_text=sent.filename).click()
        assert saving.value.suggested_filename == sent.filename
    assert console.markers() == [] and MARK not in page.title()

    # The links in the Pipedrive note are the chat view's own media addresses, opened without ?download.
    def note_links() -> set[str]:
        notes = " ".join(str(a.get("note") or "") for a in sandbox_state(addresses)["activities"])
        found = set(re.findall(rf'href="({re.escape(addresses.wapipe)}/chats/\d+/media/\d+)"', notes))
        return found if found >= set(media_url.values()) else set()

    assert eventually(note_links, "the note's links to every attachment") >= set(media_url.values())
    for sent in downloads_expected:
        assert downloaded_at(page, media_url[sent.filename]).suggested_filename == sent.filename
    for sent in (SHAPED, PHOTO):
        page.goto(media_url[sent.filename])
        expect(page.locator("img")).to_have_count(1)
        if sent is PHOTO:
            expect(page.locator("img")).to_have_js_property("naturalWidth", 8)
        assert MARK not in page.title()
    assert console.markers() == []

    # Loaded as a script by a WaPipe page (as injected markup would), no attachment runs.
    page.goto(f"{addresses.wapipe}/chats/{chat_id}")
    expect(page.locator("#chat-title")).to_be_visible()
    for sent in (SCRIPT, CHARSET_SCRIPT, POLYGLOT, SHAPED):
        assert page.evaluate(LOAD_SCRIPT, media_url[sent.filename]) == "refused", sent.filename
    assert console.markers() == []

    # The controls: the same bytes, served as their sender typed them, do run. As scripts from WaPipe's
    # static path (which its pages allow), and as documents at their own address:
    for sent in (SCRIPT, POLYGLOT, SHAPED):
        probe = f"{addresses.wapipe}/static/js/probe-{sent.filename}.js"
        page.route(probe, fulfil_as_sent(Sent(sent.filename, sent.kind, "text/javascript", sent.data)))
        assert page.evaluate(LOAD_SCRIPT, probe) == "loaded", sent.filename
    assert sorted(console.markers()) == [f"{MARK}:{name}" for name in ("js", "polyglot", "shaped")]
    for sent in hostile_documents:
        if sent.filename == "fake.png":
            continue  # as the image its sender called it, a browser does not run it either
        control = f"{media_url[sent.filename]}?as-sent=1"
        page.route(control, fulfil_as_sent(sent))
        with page.expect_console_message(lambda line: MARK in line.text):
            page.goto(control)
    ran = {line.split(":", 1)[1] for line in console.markers()}
    assert {"svg", "svg-onload", "upper-onload", "html", "xhtml"} <= ran, ran
    console.clear()
    # Served at a media address as the sender typed it, a WaPipe page still refuses the script: its pages
    # take scripts only from the static path.
    page.goto(f"{addresses.wapipe}/chats/{chat_id}")
    expect(page.locator("#chat-title")).to_be_visible()
    naive = f"{media_url[SCRIPT.filename]}?as-sent=1"
    page.route(naive, fulfil_as_sent(SCRIPT))
    assert page.evaluate(LOAD_SCRIPT, naive) == "refused"
    assert console.markers() == []
