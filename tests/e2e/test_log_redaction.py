"""No bearer value the browser used reaches the log: a whole session in Chromium (install, the settings
page, a linked number, the panel with a picture, the chat view's sign-in and its picture) runs against the
demo while every line the demo logs is captured, in JSON and in text, the way ``wapipe`` configures its
logs. Every token, ticket, signature, OAuth code and state is taken from the requests Chromium made, and
none of them may be in the log; the requests that carried them must be, redacted."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from playwright.sync_api import Page, Request, expect

from sandbox.waha.png import sample_picture
from server.demo import DemoAddresses
from server.logs import configure_logging
from server.settings import Settings
from tests.e2e.demo_world import DemoSandboxes, running_demo
from tests.e2e.panel_helpers import CONTACT_DIGITS, install_and_link, open_panel
from tests.e2e.seen import expect_in_view

BEARER_NAMES = ("token", "ticket", "s", "code", "state")
LIBRARY_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "arq")


@contextlib.contextmanager
def captured_log(settings: Settings, fmt: str) -> Iterator[io.StringIO]:
    """Logging configured as the command line does, its one handler writing into a buffer; the logging
    set-up of the test run is put back afterwards."""
    root = logging.getLogger()
    saved_root = root.handlers[:], root.level
    saved = {
        name: (
            logging.getLogger(name).handlers[:],
            logging.getLogger(name).propagate,
            logging.getLogger(name).level,
        )
        for name in LIBRARY_LOGGERS
    }
    buffer = io.StringIO()
    configure_logging("INFO", fmt=fmt, secrets=settings.secret_values())
    [handler] = root.handlers
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    try:
        yield buffer
    finally:
        root.handlers[:], level = saved_root
        root.setLevel(level)
        for name, (handlers, propagate, library_level) in saved.items():
            logging.getLogger(name).handlers[:] = handlers
            logging.getLogger(name).propagate = propagate
            logging.getLogger(name).setLevel(library_level)


def bearer_values(requests: list[Request]) -> dict[str, set[str]]:
    """Every bearer value in the URLs Chromium requested, and the panel tokens htmx sent in a header."""
    found: dict[str, set[str]] = {name: set() for name in (*BEARER_NAMES, "header")}
    for request in requests:
        for name, value in parse_qsl(urlsplit(request.url).query):
            if name in BEARER_NAMES and value:
                found[name].add(value)
        header = request.headers.get("x-pipedrive-token")
        if header:
            found["header"].add(header)
    return found


def send_picture(addresses: DemoAddresses, session: str) -> None:
    picture = base64.b64encode(sample_picture(320, 200, hue=30)).decode()
    httpx.post(
        f"{addresses.waha}/_sim/{session}/inbound",
        json={
            "from": CONTACT_DIGITS,
            "kind": "image",
            "data": picture,
            "mimetype": "image/png",
            "text": "Lager",
        },
        timeout=10,
    ).raise_for_status()


def sign_in_to_chat(page: Page, addresses: DemoAddresses, chat_path: str) -> None:
    page.goto(addresses.wapipe + chat_path)
    expect(page).to_have_url(re.compile(re.escape(addresses.pipedrive + "/oauth/authorize?")))
    page.click("#allow")
    expect(page).to_have_url(addresses.wapipe + chat_path)


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_no_bearer_value_of_a_browser_session_reaches_the_log(
    page: Page, tmp_path: Path, demo_sandboxes: DemoSandboxes, fmt: str
) -> None:
    requests: list[Request] = []
    page.context.on("request", lambda request: requests.append(request))
    with running_demo(tmp_path, demo_sandboxes) as (settings, addresses), captured_log(settings, fmt) as log:
        session = install_and_link(page, addresses)  # install, the settings page, the numbers inside it
        send_picture(addresses, session)
        frame = open_panel(page, addresses)
        thumb = frame.locator("#panel-messages img.thumb")
        expect(thumb).to_have_count(1, timeout=15_000)
        expect_in_view(thumb)
        expect(thumb).to_have_js_property("naturalWidth", 320)  # fetched through its signed link
        chat_path = frame.locator("#open-chat").get_attribute("href")
        assert chat_path is not None
        sign_in_to_chat(page, addresses, chat_path)
        picture = page.locator(".bubble img.media")
        expect(picture).to_have_js_property("naturalWidth", 320)
    text = log.getvalue()

    issued = bearer_values(requests)
    for name in (*BEARER_NAMES, "header"):
        assert issued[name], f"the session used no {name!r}: the test would prove nothing"
    leaked = {name: [v for v in values if v in text] for name, values in issued.items()}
    assert leaked == {name: [] for name in issued}

    if fmt == "json":
        messages = [json.loads(line)["msg"] for line in text.splitlines()]
    else:
        messages = re.findall(r"^\S+ \S+ INFO +uvicorn\.access: (.*)$", text, flags=re.MULTILINE)
    redacted = [
        r'"GET /installed\?ticket=\[redacted\] HTTP/1\.1" 200',
        r'"GET /installed/setup\?ticket=\[redacted\]&polls=\d+ HTTP/1\.1" 200',
        r'"GET /settings\?\S*token=\[redacted\]\S* HTTP/1\.1" 200',
        r'"GET /panel\?\S*token=\[redacted\]\S* HTTP/1\.1" 200',
        r'"GET /panel/media/\d+\?c=\d+&e=\d+&s=\[redacted\] HTTP/1\.1" 200',
        r'"GET /oauth/callback\?code=\[redacted\]&state=\[redacted\] HTTP/1\.1" 303',
        r'"GET /oauth/authorize\?\S*state=\[redacted\]\S* HTTP/1\.1" 200',
        r'"GET /chats/\d+/media/\d+ HTTP/1\.1" 200',
    ]
    for pattern in redacted:
        assert any(re.search(pattern, message) for message in messages), f"no log line matches {pattern}"
