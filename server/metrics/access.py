"""Who may scrape: the operator's Prometheus, with the bearer token ``WAPIPE_METRICS_TOKEN``.

The same rule on the web process's ``/metrics`` and on a worker's listener:

- no token configured: 404 ``metrics_not_configured`` (the counts are not served at all);
- no ``Authorization: Bearer …`` header: 401 ``metrics_token_required``;
- another token: 403 ``bad_metrics_token``.

Tokens are compared in constant time (as digests, so not even their lengths are compared).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Refusal:
    status: int
    reason: str
    message: str


NOT_CONFIGURED = Refusal(
    404, "metrics_not_configured", "metrics are served only when WAPIPE_METRICS_TOKEN is set"
)
TOKEN_REQUIRED = Refusal(
    401, "metrics_token_required", "send the metrics token as 'Authorization: Bearer <token>'"
)
BAD_TOKEN = Refusal(403, "bad_metrics_token", "this is not the metrics token WAPIPE_METRICS_TOKEN holds")


def refusal(configured: str, authorization: str | None) -> Refusal | None:
    """Why a scrape with this ``Authorization`` header is refused, or ``None`` when it may go ahead."""
    if not configured:
        return NOT_CONFIGURED
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return TOKEN_REQUIRED
    if not hmac.compare_digest(_digest(token), _digest(configured)):
        return BAD_TOKEN
    return None


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
