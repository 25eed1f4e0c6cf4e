"""Which responses may be framed: only the pages Pipedrive shows in its iframes (the panel, the app
settings page, the numbers page, the campaign modal and pages), by the ancestors their
Content-Security-Policy names. Every other response is a page of its own (the chat view and its sign-in,
the install and status pages): its policy's ``frame-ancestors`` becomes ``'none'`` and it carries
``X-Frame-Options: DENY``, so no site, Pipedrive included, can put it in a frame and steer clicks in it.

It wraps ``SecurityHeadersMiddleware`` and rewrites what that one set. A response's own policy without a
``frame-ancestors`` directive (attachments set a sandboxing one) is kept as it is; ``DENY`` covers it.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

FRAMED_PATHS = ("/panel", "/settings", "/numbers", "/campaigns")
_NONE = b"frame-ancestors 'none'"


def is_framed(path: str) -> bool:
    """A path of the pages Pipedrive frames: one of ``FRAMED_PATHS`` or below it."""
    return any(path == prefix or path.startswith(prefix + "/") for prefix in FRAMED_PATHS)


def unframed_policy(policy: bytes) -> bytes:
    """The policy with its ``frame-ancestors`` set to ``'none'``; a policy without one as it is."""
    directives = [part.strip() for part in policy.split(b";") if part.strip()]
    kept = [part for part in directives if part.split()[0].lower() != b"frame-ancestors"]
    if len(kept) == len(directives):
        return policy
    return b"; ".join([*kept, _NONE])


class FramingMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_framed(scope.get("path", "")):
            await self.app(scope, receive, send)
            return

        async def send_unframed(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = []
                for name, value in message.get("headers", []):
                    lowered = name.lower()
                    if lowered == b"x-frame-options":
                        continue
                    headers.append(
                        (name, unframed_policy(value) if lowered == b"content-security-policy" else value)
                    )
                message["headers"] = [*headers, (b"x-frame-options", b"DENY")]
            await send(message)

        await self.app(scope, receive, send_unframed)
