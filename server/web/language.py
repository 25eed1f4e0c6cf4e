"""Which language a request is answered in (``panels.i18n``).

Every request starts in the browser's language (``Accept-Language``, when WaPipe speaks it), else English.
Once a request is known to come from a Pipedrive user with an installation (the panel's verified token,
the chat view's session), it is answered in the language that user reads Pipedrive in, as ``/users/me``
said at their install.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from panels.i18n import ENGLISH, from_accept_language, supported, use_language
from server.domain.installations import Installation


class LanguageMiddleware:
    """Starts every HTTP request in the browser's language."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            header = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"accept-language"), None)
            use_language(from_accept_language(header) or ENGLISH)
        await self.app(scope, receive, send)


def answer_as(installation: Installation | None) -> None:
    """Answer the rest of the request in ``installation``'s user's Pipedrive language, when WaPipe speaks
    it (otherwise the browser's, as the request started)."""
    if installation is not None and (code := supported(installation.language)) is not None:
        use_language(code)
