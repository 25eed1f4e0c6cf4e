"""Streaming a media file with a size cap, and the rule for gateway file URLs: the gateway's own origin,
and there only its files (``/api/files/…``, where WAHA serves the media it downloaded)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from urllib.parse import unquote

import httpx

from server.domain.errors import (
    GatewayUnavailable,
    MediaExpired,
    MediaOriginRefused,
    MediaTooLarge,
    Permanent,
    Unauthorized,
)

DEFAULT_MAX_MEDIA_BYTES = 100 * 1024 * 1024  # the Cloud API's document limit, the largest WhatsApp allows
GATEWAY_FILES = "/api/files/"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def same_origin_url(candidate: str, base: httpx.URL) -> httpx.URL:
    """``candidate`` resolved against ``base`` if it has the same scheme, host and port; else refused.

    Gateway media URLs come from webhook bodies. Fetching them with the gateway's API key attached would
    let anyone who can shape a payload make us call (and leak the key to) any host, so only the
    gateway's own origin is allowed, with no credentials in the URL.
    """
    try:
        url = base.join(candidate)
    except (httpx.InvalidURL, ValueError, TypeError) as error:
        raise MediaOriginRefused("The media URL is not a valid URL") from error
    if url.userinfo or url.scheme != base.scheme or url.host != base.host or _port(url) != _port(base):
        raise MediaOriginRefused(
            f"Refusing to fetch media from {url.scheme}://{url.host}: only the gateway's own address "
            f"({base.scheme}://{base.host}) is allowed; set the gateway's public base URL to that address"
        )
    return url


def gateway_file_url(candidate: str, base: httpx.URL) -> httpx.URL:
    """``candidate`` on the gateway's origin (``same_origin_url``) and naming one of its files: under
    ``/api/files/`` (below the base URL's own path), no query, and no segment that is empty, a dot
    segment, or hides a slash, backslash or NUL behind percent-encoding. The API key goes with the request,
    so the gateway's other endpoints (sessions, server settings) are never asked."""
    url = same_origin_url(candidate, base)
    prefix = base.path.rstrip("/") + GATEWAY_FILES
    path, _, query = url.raw_path.decode("ascii").partition("?")
    if query or not path.startswith(prefix) or not all(map(_plain_segment, path[len(prefix) :].split("/"))):
        raise MediaOriginRefused(
            f"Refusing to fetch media from {path[:120]!r}: only the gateway's files under {prefix} are "
            "fetched",
            reason="media_path_refused",
        )
    return url


def _plain_segment(segment: str) -> bool:
    decoded = unquote(segment)
    return bool(segment) and decoded not in (".", "..") and not any(c in decoded for c in "/\\\x00")


def _port(url: httpx.URL) -> int | None:
    return url.port or _DEFAULT_PORTS.get(url.scheme)


async def stream_capped(
    http: httpx.AsyncClient,
    url: httpx.URL | str,
    *,
    max_bytes: int,
    headers: Mapping[str, str] | None = None,
    follow_redirects: bool = False,
    what: str = "media",
) -> AsyncIterator[bytes]:
    """Yield the body of ``GET url`` in chunks; ``MediaTooLarge`` as soon as it passes ``max_bytes``.

    403/404/410 mean the file is gone (``MediaExpired``). Redirects are refused unless asked for, so
    credentials never follow a redirect to another host.
    """
    try:
        async with http.stream("GET", url, headers=headers, follow_redirects=follow_redirects) as response:
            _raise_for_media_status(response, what)
            declared = response.headers.get("content-length", "")
            readable = declared.isascii() and declared.isdigit()
            if readable and (len(declared) > 15 or int(declared) > max_bytes):
                raise MediaTooLarge(f"The {what} is {declared[:20]} bytes; the limit is {max_bytes}")
            total = 0
            async for chunk in response.aiter_bytes():
                total += len(chunk)
                if total > max_bytes:
                    raise MediaTooLarge(f"The {what} is larger than the limit of {max_bytes} bytes")
                yield chunk
    except httpx.HTTPError as error:
        raise GatewayUnavailable(f"The {what} download failed ({type(error).__name__}); try again") from error


def _raise_for_media_status(response: httpx.Response, what: str) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    if status in (403, 404, 410):
        raise MediaExpired(
            f"The {what} is no longer available (HTTP {status}); it expired before we fetched it"
        )
    if status == 401:
        raise Unauthorized(f"The {what} download was refused (HTTP 401): check the credentials")
    if 300 <= status < 400:
        raise MediaOriginRefused(f"The {what} download redirected elsewhere (HTTP {status}); not followed")
    if status == 429 or status >= 500:
        raise GatewayUnavailable(f"The {what} download failed with HTTP {status}; try again")
    raise Permanent(f"The {what} download failed with HTTP {status}", reason="media_download_failed")
