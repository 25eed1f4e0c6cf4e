"""The one way an attachment leaves WaPipe over HTTP, for every route that serves one (the chat view's, which
Pipedrive notes link, and the panel's signed links): as data, never as a document.

Shown in place only when its type is a raster image, audio or video type and its bytes begin as that type's
files do (``server.domain.media_types``); everything else is a download, ``application/octet-stream``.
Either way the response forbids sniffing and carries its own Content-Security-Policy, which the security
headers middleware keeps: a sandbox without scripts and no sources at all, so even a file a browser
rendered as a page could run nothing and load nothing."""

from __future__ import annotations

from urllib.parse import quote

from starlette.responses import Response

from server.domain.file_names import clean_file_name
from server.domain.media_types import OCTET_STREAM, inline_type

MEDIA_POLICY = "sandbox; default-src 'none'"


def content_disposition(kind: str, name: str | None) -> str:
    """``inline`` or ``attachment`` with the cleaned name: ``filename="…"`` in ASCII (anything else as
    ``_``) and ``filename*=UTF-8''…`` percent-encoded (RFC 6266)."""
    clean = clean_file_name(name)
    ascii_name = clean.encode("ascii", "replace").decode().replace("?", "_")
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(clean, safe='')}"


def media_response(
    data: bytes, declared_type: str | None, name: str | None, *, download: bool = False
) -> Response:
    """``data`` as the sender's ``declared_type`` allows: in place, or saved under ``name``."""
    shown = inline_type(declared_type, data)
    disposition = "inline" if shown is not None and not download else "attachment"
    headers = {
        "Content-Disposition": content_disposition(disposition, name),
        "Content-Security-Policy": MEDIA_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Cache-Control": "private, max-age=3600",
    }
    return Response(data, media_type=shown or OCTET_STREAM, headers=headers)
