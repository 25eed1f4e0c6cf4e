"""The one way an attachment leaves WaPipe over HTTP, for every route that serves one (the chat view's, which
Pipedrive notes link, and the panel's signed links): as data, never as a document.

Shown in place only when its type is a raster image, audio or video type and its bytes begin as that type's
files do (``server.domain.media_types``); everything else is a download, ``application/octet-stream``.
Either way the response forbids sniffing and carries its own Content-Security-Policy, which the security
headers middleware keeps: a sandbox without scripts and no sources at all, so even a file a browser
rendered as a page could run nothing and load nothing.

The file is streamed from its store (this machine's disk or the bucket) as it is read: only its first
bytes are looked at, to tell its type, so no attachment is ever held whole in the web process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

from starlette.responses import StreamingResponse

from server.domain.file_names import clean_file_name
from server.domain.media_types import OCTET_STREAM, inline_type
from server.domain.ports.storage import StoredFile

MEDIA_POLICY = "sandbox; default-src 'none'"
# The bytes read before answering, to tell the type: more than any check in ``media_types`` looks at (a
# GIF's largest colour table ends at byte 781).
SNIFF_BYTES = 4096


def content_disposition(kind: str, name: str | None) -> str:
    """``inline`` or ``attachment`` with the cleaned name: ``filename="…"`` in ASCII (anything else as
    ``_``) and ``filename*=UTF-8''…`` percent-encoded (RFC 6266)."""
    clean = clean_file_name(name)
    ascii_name = clean.encode("ascii", "replace").decode().replace("?", "_")
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(clean, safe='')}"


async def media_response(
    file: StoredFile, declared_type: str | None, name: str | None, *, download: bool = False
) -> StreamingResponse:
    """``file`` as the sender's ``declared_type`` allows: in place, or saved under ``name``; streamed."""
    head, rest = await _first_bytes(file.chunks, SNIFF_BYTES)
    shown = inline_type(declared_type, head)
    disposition = "inline" if shown is not None and not download else "attachment"
    headers = {
        "Content-Disposition": content_disposition(disposition, name),
        "Content-Security-Policy": MEDIA_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Cache-Control": "private, max-age=3600",
    }
    if file.size is not None:
        headers["Content-Length"] = str(file.size)
    return StreamingResponse(_joined(head, rest), media_type=shown or OCTET_STREAM, headers=headers)


async def _first_bytes(chunks: AsyncIterator[bytes], at_least: int) -> tuple[bytes, AsyncIterator[bytes]]:
    """The stream's first ``at_least`` bytes (or all of a shorter one), and the stream after them."""
    head = b""
    while len(head) < at_least:
        try:
            head += await anext(chunks)
        except StopAsyncIteration:
            break
    return head, chunks


async def _joined(head: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if head:
        yield head
    async for chunk in rest:
        yield chunk
