"""AWS Signature Version 4 for S3 requests: the headers that let an S3-compatible service check who sent a
request and that nothing in it changed on the way.

The canonical request names the method, the path (each segment percent-encoded once, as S3 wants it), the
sorted query, every header sent (``host``, ``x-amz-date``, ``x-amz-content-sha256`` and the caller's), and
the SHA-256 of the body; the string to sign adds the time and the scope (day, region, ``s3``); the key is
derived from the secret through that scope. The secret itself never leaves this module: only the signature
goes on the wire, so it cannot be read from a request or a log line. The body's hash is signed as given, so
the service refuses a body that differs from it on arrival.

The time is the wall clock's (``SystemClock``): the service compares it with its own and refuses a request
more than a few minutes off, so a clock tests move must not sign.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC
from urllib.parse import quote

from server.domain.clock import Clock, SystemClock

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()  # the payload hash of a request without a body
ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "s3"


@dataclass(frozen=True)
class S3Credentials:
    """An access key: its id goes in every request, its secret only into signatures."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    region: str = "us-east-1"


def encode_path(path: str) -> str:
    """``path`` with each segment percent-encoded once (RFC 3986: only letters, digits and ``-._~`` stay),
    the slashes kept: how S3 spells a key on the wire and in the canonical request."""
    return quote(path, safe="/-_.~")


def _encode_query_part(text: str) -> str:
    return quote(text, safe="-_.~")


def canonical_query(query: list[tuple[str, str]]) -> str:
    return "&".join(
        f"{_encode_query_part(name)}={_encode_query_part(value)}" for name, value in sorted(query)
    )


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signing_key(secret: str, day: str, region: str) -> bytes:
    """The key for one day, region and service, derived from the secret (the secret is never used itself)."""
    key = _hmac(("AWS4" + secret).encode(), day)
    key = _hmac(key, region)
    key = _hmac(key, SERVICE)
    return _hmac(key, "aws4_request")


@dataclass(frozen=True)
class Signer:
    """Signs requests with ``credentials`` at the time ``clock`` says."""

    credentials: S3Credentials
    clock: Clock = field(default_factory=SystemClock)

    def headers(
        self,
        method: str,
        host: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        payload_sha256: str = EMPTY_SHA256,
    ) -> dict[str, str]:
        """Every header to send with the request: ``headers`` with ``host``, ``x-amz-date``,
        ``x-amz-content-sha256`` and ``authorization`` added. ``path`` is already encoded (``encode_path``),
        ``host`` is the request's Host header (with the port when it is not the scheme's default)."""
        moment = self.clock.now().astimezone(UTC)
        stamp = moment.strftime("%Y%m%dT%H%M%SZ")
        day = stamp[:8]
        sent = {name.lower(): " ".join(value.split()) for name, value in (headers or {}).items()}
        sent.update({"host": host, "x-amz-date": stamp, "x-amz-content-sha256": payload_sha256})
        names = sorted(sent)
        signed_headers = ";".join(names)
        canonical = "\n".join(
            [
                method.upper(),
                path or "/",
                canonical_query(query or []),
                "".join(f"{name}:{sent[name]}\n" for name in names),
                signed_headers,
                payload_sha256,
            ]
        )
        scope = f"{day}/{self.credentials.region}/{SERVICE}/aws4_request"
        to_sign = "\n".join([ALGORITHM, stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        key = signing_key(self.credentials.secret_access_key, day, self.credentials.region)
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        sent["authorization"] = (
            f"{ALGORITHM} Credential={self.credentials.access_key_id}/{scope}, "
            f"SignedHeaders={signed_headers}, Signature={signature}"
        )
        return sent
