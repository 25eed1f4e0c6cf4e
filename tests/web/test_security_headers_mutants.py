"""The security headers, byte for byte, straight through the ASGI middleware (no app, no database)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from server.web.security_headers import (
    PIPEDRIVE_FRAME_ANCESTORS,
    SecurityHeadersMiddleware,
    content_security_policy,
    origin_of,
    static_scripts,
)


def policy_start(scripts: str = "'none'") -> str:
    return (
        f"default-src 'self'; script-src {scripts}; img-src 'self' data:; media-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; "
    )


POLICY_START = policy_start()  # no script sources given: no scripts at all
PIPEDRIVE_POLICY = POLICY_START + "frame-ancestors https://*.pipedrive.com"
STATIC = "https://wapipe.example.com/static/"


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://acme.pipedrive.com/deal/5?x=1#y", "https://acme.pipedrive.com"),
        ("http://127.0.0.1:8001/", "http://127.0.0.1:8001"),
        ("http://localhost:8001", "http://localhost:8001"),
        ("ftp://files.example", None),
        ("javascript:alert(1)", None),
        ("https://", None),
        ("//acme.pipedrive.com", None),
        ("", None),
    ],
)
def test_origin_of(url: str, origin: str | None) -> None:
    assert origin_of(url) == origin


@pytest.mark.parametrize(
    ("public_url", "sources"),
    [
        ("https://wapipe.example.com", (STATIC,)),
        ("https://wapipe.example.com/", (STATIC,)),
        ("https://wapipe.example.com/some/path?x=1#y", (STATIC,)),
        ("http://127.0.0.1:8000", ("http://127.0.0.1:8000/static/",)),
        ("wapipe.example.com", ()),
        ("", ()),
    ],
)
def test_scripts_come_only_from_the_static_path_of_the_public_origin(
    public_url: str, sources: tuple[str, ...]
) -> None:
    assert static_scripts(public_url) == sources


def test_the_policy_names_the_script_sources_given() -> None:
    assert (
        content_security_policy(PIPEDRIVE_FRAME_ANCESTORS, (STATIC,))
        == policy_start(STATIC) + "frame-ancestors https://*.pipedrive.com"
    )
    assert (
        content_security_policy([], [STATIC, "http://127.0.0.1:8000/static/"])
        == policy_start(STATIC + " http://127.0.0.1:8000/static/") + "frame-ancestors 'none'"
    )


def test_the_policy_lets_only_pipedrive_frame_us_by_default() -> None:
    assert PIPEDRIVE_FRAME_ANCESTORS == ("https://*.pipedrive.com",)
    assert content_security_policy(PIPEDRIVE_FRAME_ANCESTORS) == PIPEDRIVE_POLICY


def test_the_policy_lists_every_ancestor_and_none_when_there_is_none() -> None:
    assert (
        content_security_policy(["https://*.pipedrive.com", "http://127.0.0.1:8001"])
        == POLICY_START + "frame-ancestors https://*.pipedrive.com http://127.0.0.1:8001"
    )
    assert content_security_policy([]) == POLICY_START + "frame-ancestors 'none'"


class App:
    """Sends ``messages`` and keeps what it was called with."""

    def __init__(self, *messages: Message) -> None:
        self.messages = messages
        self.calls: list[tuple[Scope, Receive, Send]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls.append((scope, receive, send))
        for message in self.messages:
            await send(dict(message))


def app_sending(*messages: Message) -> Any:
    return App(*messages)


async def receive() -> Message:
    return {"type": "http.disconnect"}


async def run(middleware: SecurityHeadersMiddleware, scope_type: str = "http") -> list[Message]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": scope_type}
    await middleware(scope, receive, send)
    app = middleware.app
    assert isinstance(app, App)
    [(seen_scope, seen_receive, seen_send)] = app.calls
    assert seen_scope is scope and seen_receive is receive
    assert (seen_send is send) == (scope_type != "http")
    return sent


EXPECTED = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"content-security-policy", PIPEDRIVE_POLICY.encode()),
]


async def test_a_response_gets_the_three_headers_after_its_own() -> None:
    start = {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]}
    body = {"type": "http.response.body", "body": b"hi"}
    sent = await run(SecurityHeadersMiddleware(app_sending(start, body)))
    assert sent == [{**start, "headers": [(b"content-type", b"text/html"), *EXPECTED]}, body]


async def test_a_response_start_without_headers_gets_them_too() -> None:
    sent = await run(SecurityHeadersMiddleware(app_sending({"type": "http.response.start", "status": 204})))
    assert sent == [{"type": "http.response.start", "status": 204, "headers": EXPECTED}]


async def test_a_header_the_response_sets_itself_is_kept_and_not_doubled() -> None:
    own = [(b"Content-Security-Policy", b"default-src 'none'"), (b"X-Content-Type-Options", b"nosniff")]
    start = {"type": "http.response.start", "status": 200, "headers": own}
    sent = await run(SecurityHeadersMiddleware(app_sending(start)))
    assert sent[0]["headers"] == [*own, (b"referrer-policy", b"strict-origin-when-cross-origin")]


async def test_the_frame_ancestors_given_are_the_ones_sent() -> None:
    middleware = SecurityHeadersMiddleware(
        app_sending({"type": "http.response.start", "status": 200, "headers": []}), frame_ancestors=[]
    )
    [start] = await run(middleware)
    assert (
        dict(start["headers"])[b"content-security-policy"]
        == (POLICY_START + "frame-ancestors 'none'").encode()
    )


async def test_the_script_sources_given_are_the_ones_sent() -> None:
    middleware = SecurityHeadersMiddleware(
        app_sending({"type": "http.response.start", "status": 200, "headers": []}), script_sources=[STATIC]
    )
    [start] = await run(middleware)
    assert (
        dict(start["headers"])[b"content-security-policy"]
        == (policy_start(STATIC) + "frame-ancestors https://*.pipedrive.com").encode()
    )


async def test_an_attachments_own_policy_is_kept() -> None:
    own = [(b"content-security-policy", b"sandbox; default-src 'none'")]
    start = {"type": "http.response.start", "status": 200, "headers": own}
    [sent] = await run(SecurityHeadersMiddleware(app_sending(start), script_sources=[STATIC]))
    assert [value for name, value in sent["headers"] if name == b"content-security-policy"] == [
        b"sandbox; default-src 'none'"
    ]


async def test_other_scopes_pass_through_untouched() -> None:
    start = {"type": "http.response.start", "status": 200, "headers": []}
    sent = await run(SecurityHeadersMiddleware(app_sending(start)), scope_type="websocket")
    assert sent == [start]
