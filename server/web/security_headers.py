"""Headers every response carries: no MIME sniffing, a strict referrer policy, scripts only from our static
files, and framing allowed only by Pipedrive (and, outside production, by the local Pipedrive sandbox).

Scripts are allowed from ``<public origin>/static/``, not from ``'self'``: the whole origin would include
the addresses attachments are served at, so a file a contact sent could be loaded as a script by injected
markup. A header a response sets itself is kept (attachments set their own, sandboxing policy)."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PIPEDRIVE_FRAME_ANCESTORS = ("https://*.pipedrive.com",)
STATIC_PATH = "/static/"


def origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


def static_scripts(public_url: str) -> tuple[str, ...]:
    """The script source of WaPipe's pages: the static files at the public origin (none without one)."""
    origin = origin_of(public_url)
    return (origin + STATIC_PATH,) if origin else ()


def content_security_policy(frame_ancestors: Sequence[str], script_sources: Sequence[str] = ()) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {' '.join(script_sources) or chr(39) + 'none' + chr(39)}",
            "img-src 'self' data:",
            "media-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            f"frame-ancestors {' '.join(frame_ancestors) or chr(39) + 'none' + chr(39)}",
        ]
    )


class SecurityHeadersMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        frame_ancestors: Sequence[str] = PIPEDRIVE_FRAME_ANCESTORS,
        script_sources: Sequence[str] = (),
    ) -> None:
        self.app = app
        policy = content_security_policy(frame_ancestors, script_sources)
        self.headers = {
            b"x-content-type-options": b"nosniff",
            b"referrer-policy": b"strict-origin-when-cross-origin",
            b"content-security-policy": policy.encode(),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name, value) for name, value in self.headers.items() if name not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
