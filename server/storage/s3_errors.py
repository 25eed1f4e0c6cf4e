"""Translate an S3-compatible service's answers and httpx failures into the domain error tree, in one place.

A failure worth retrying (no connection, a timeout, 5xx, ``SlowDown`` or 429) is ``Transient``
(``media_store_unavailable``); a missing bucket (``media_bucket_missing``) or refused credentials and
permissions (``media_store_refused``) are ``Permanent`` and name the setting to check; anything else the
service refuses is ``media_store_failed``. A missing object is not translated here: each caller decides what
it means (``NotFound`` when a file is read, nothing to do when it is deleted). No message carries a
credential or a signature: only the service's error code and the HTTP status.
"""

from __future__ import annotations

import re

import httpx

from server.domain.errors import Permanent, Transient, WaPipeError
from server.domain.text import Text

UNAVAILABLE_WAIT = 5.0  # seconds before trying a service that did not answer, when it named no time
_CODE = re.compile(r"<Code>([A-Za-z0-9.]{1,64})</Code>")
_SNIPPET = 2048  # an S3 error document names its code near the start


def error_code(body: bytes) -> str:
    """The ``<Code>`` of an S3 error document (``NoSuchKey``, ``AccessDenied`` …); ``""`` if it has none."""
    found = _CODE.search(body[:_SNIPPET].decode("utf-8", "replace"))
    return found.group(1) if found else ""


def s3_error(source: httpx.Response | httpx.HTTPError, *, bucket: str) -> WaPipeError:
    """The domain error for a failed call to the bucket (a response whose body was read), with the cause
    chained for a failure to get an answer at all."""
    if isinstance(source, httpx.HTTPError):
        error: WaPipeError = Transient(
            Text("Object storage could not be reached (%(error)s)", error=type(source).__name__),
            reason="media_store_unavailable",
            retry_after=UNAVAILABLE_WAIT,
        )
        error.__cause__ = source
        return error
    status = source.status_code
    code = error_code(source.content)
    named = code or f"HTTP {status}"
    if status >= 500 or status == 429 or code == "SlowDown":
        return Transient(
            Text("Object storage is unavailable just now (%(code)s)", code=named),
            reason="media_store_unavailable",
            retry_after=_retry_after(source),
        )
    if code == "NoSuchBucket":
        return Permanent(
            Text("The bucket %(bucket)s does not exist; check WAPIPE_MEDIA_S3_BUCKET", bucket=bucket),
            reason="media_bucket_missing",
        )
    if status in (401, 403):
        return Permanent(
            Text(
                "Object storage refused WaPipe's request (%(code)s); check WAPIPE_MEDIA_S3_ACCESS_KEY_ID, "
                "WAPIPE_MEDIA_S3_SECRET_ACCESS_KEY and what the key may do in the bucket",
                code=named,
            ),
            reason="media_store_refused",
        )
    return Permanent(
        Text("Object storage refused the request (%(code)s)", code=named), reason="media_store_failed"
    )


def _retry_after(response: httpx.Response) -> float:
    raw = response.headers.get("retry-after", "")
    if raw.isascii() and raw.isdigit() and len(raw) <= 5:
        return float(raw)
    return UNAVAILABLE_WAIT
