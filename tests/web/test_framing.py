"""Only the pages Pipedrive shows in its iframes may be framed, and only by Pipedrive: the panel, the app
settings page and the numbers page. Every other response is a page of its own (the chat view and its
sign-in, the install pages, the status page): no one may frame it. Checked per route family through the
app, with the policy parsed, and on the middleware alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from server.settings import Settings
from server.storage.migrate import upgrade
from server.web.framing import FRAMED_PATHS, FramingMiddleware, is_framed
from tests.web.conftest import running_app

SANDBOX = "http://127.0.0.1:8100"
PIPEDRIVE = ["https://*.pipedrive.com", SANDBOX]

# Every family's routes, as a browser or Pipedrive reaches them (no token, no session: the refusals
# carry the same headers as the pages).
FRAMED = [
    ("GET", "/panel"),
    ("GET", "/panel/messages"),
    ("GET", "/panel/form"),
    ("GET", "/panel/media/1"),
    ("POST", "/panel/send"),
    ("GET", "/settings"),
    ("GET", "/settings/audit"),
    ("POST", "/settings/preview"),
    ("GET", "/numbers"),
    ("GET", "/numbers/list"),
    ("GET", "/numbers/1/pairing"),
]
OWN_PAGES = [
    ("GET", "/chats/1"),
    ("GET", "/chats/1/messages"),
    ("GET", "/chats/1/media/1"),
    ("POST", "/chats/1/reply"),
    ("GET", "/signin?next=/chats/1"),
    ("GET", "/install"),
    ("GET", "/oauth/callback?state=x&code=y"),
    ("GET", "/installed?ticket=x"),
    ("GET", "/"),
    ("GET", "/status"),
    ("GET", "/healthz"),
    ("GET", "/static/css/wapipe.css"),
    ("GET", "/nope"),
    ("GET", "/panelists"),  # a path that only begins like a framed one
    ("GET", "/settingsx/audit"),
]


def directives(policy: str) -> dict[str, list[str]]:
    """A Content-Security-Policy as {directive: [source, ...]}; a directive given twice fails."""
    found: dict[str, list[str]] = {}
    for part in policy.split(";"):
        if part.strip():
            name, *sources = part.split()
            assert name.lower() not in found, f"{name} twice: browsers ignore the second"
            found[name.lower()] = sources
    return found


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    settings = make_settings(pipedrive_oauth_url=SANDBOX)
    upgrade(settings.effective_database_url)
    return settings


async def test_pipedrives_iframe_pages_may_be_framed_by_pipedrive_only(settings: Settings) -> None:
    async with running_app(settings) as (_, client):
        for method, path in FRAMED:
            answer = await client.request(method, path)
            policy = directives(answer.headers["content-security-policy"])
            assert policy["frame-ancestors"] == PIPEDRIVE, path
            assert "x-frame-options" not in answer.headers, path  # it cannot name Pipedrive's hosts


async def test_every_other_page_may_not_be_framed_at_all(settings: Settings) -> None:
    async with running_app(settings) as (_, client):
        for method, path in OWN_PAGES:
            answer = await client.request(method, path)
            policy = directives(answer.headers["content-security-policy"])
            assert policy["frame-ancestors"] == ["'none'"], path
            assert answer.headers.get_list("x-frame-options") == ["DENY"], path
            assert policy["object-src"] == ["'none'"], path  # the rest of the policy is kept


def test_the_framed_families_are_pipedrives_iframes() -> None:
    assert FRAMED_PATHS == ("/panel", "/settings", "/numbers", "/campaigns")


@pytest.mark.parametrize(
    ("path", "framed"),
    [
        ("/panel", True),
        ("/panel/media/5", True),
        ("/settings", True),
        ("/settings/erase", True),
        ("/numbers", True),
        ("/numbers/3/pairing", True),
        ("/campaigns/modal", True),
        ("/campaigns/7/results.csv", True),
        ("/campaignsx", False),
        ("/", False),
        ("", False),
        ("/chats/5", False),
        ("/signin", False),
        ("/panelx", False),
        ("/static/panel", False),
        ("/PANEL", False),
        ("//panel", False),
    ],
)
def test_which_paths_are_framed(path: str, framed: bool) -> None:
    assert is_framed(path) is framed


class App:
    def __init__(self, *messages: Message) -> None:
        self.messages = messages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        for message in self.messages:
            await send(dict(message))


async def run(app: Any, path: str | None, scope_type: str = "http") -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": scope_type}
    if path is not None:
        scope["path"] = path
    await FramingMiddleware(app)(scope, receive, send)
    return sent


POLICY = b"default-src 'self'; frame-ancestors https://*.pipedrive.com; object-src 'none'"


async def test_an_own_page_gets_frame_ancestors_none_and_deny_after_its_other_headers() -> None:
    start = {"type": "http.response.start", "status": 200, "headers": [(b"content-security-policy", POLICY)]}
    body = {"type": "http.response.body", "body": b"hi"}
    sent = await run(App(start, body), "/chats/5")
    assert sent == [
        {
            **start,
            "headers": [
                (
                    b"content-security-policy",
                    b"default-src 'self'; object-src 'none'; frame-ancestors 'none'",
                ),
                (b"x-frame-options", b"DENY"),
            ],
        },
        body,
    ]


async def test_an_own_pages_frame_options_of_its_own_are_replaced_by_deny() -> None:
    start = {"type": "http.response.start", "status": 200, "headers": [(b"X-Frame-Options", b"SAMEORIGIN")]}
    [sent] = await run(App(start), "/signin")
    assert sent["headers"] == [(b"x-frame-options", b"DENY")]


async def test_a_policy_without_frame_ancestors_is_kept_as_it_is() -> None:
    own = (b"content-security-policy", b"sandbox; default-src 'none'")  # an attachment's own
    start = {"type": "http.response.start", "status": 200, "headers": [own]}
    [sent] = await run(App(start), "/chats/5/media/9")
    assert sent["headers"] == [own, (b"x-frame-options", b"DENY")]


@pytest.mark.parametrize("path", ["/panel", "/settings/audit", "/numbers/list"])
async def test_a_framed_page_passes_untouched(path: str) -> None:
    start = {"type": "http.response.start", "status": 200, "headers": [(b"content-security-policy", POLICY)]}
    [sent] = await run(App(start), path)
    assert sent == start


async def test_a_scope_without_a_path_is_an_own_page_and_other_scopes_pass() -> None:
    start = {"type": "http.response.start", "status": 200, "headers": []}
    [sent] = await run(App(start), None)
    assert sent["headers"] == [(b"x-frame-options", b"DENY")]
    assert await run(App(start), "/chats/5", scope_type="websocket") == [start]
