"""WAHA webhook envelopes and payloads shaped like the documented ones (GOWS engine)."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

HMAC_KEY = "test-webhook-hmac-key"
NOW_MS = 1_772_366_400_000  # 2026-03-01T12:00:00Z
CONTACT = "4915112345678@c.us"
CONTACT_LID = "254000825925805@lid"
GROUP = "120363025246125486@g.us"
ME = {"id": "4930123456789@c.us", "pushName": "Sales Desk"}


def message_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": f"false_{CONTACT}_3EB0C767D26A1D7A4B3E",
        "timestamp": NOW_MS // 1000 - 5,
        "from": CONTACT,
        "fromMe": False,
        "to": ME["id"],
        "participant": None,
        "body": "Hi, is the offer still valid?",
        "hasMedia": False,
        "media": None,
        "ack": 2,
        "ackName": "DEVICE",
        "_data": {},
    }
    payload.update(overrides)
    return payload


def envelope(event: str, payload: dict[str, Any], *, session: str = "acct-7", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "evt_01JNV6N0Y3ZQ4ZJ8K1T2W3X4Y5",
        "timestamp": NOW_MS,
        "event": event,
        "session": session,
        "metadata": {"wapipe.account": session},
        "me": ME,
        "payload": payload,
        "engine": "GOWS",
        "environment": {"version": "2026.7.1", "engine": "GOWS", "tier": "CORE"},
    }
    body.update(extra)
    return body


def waha_signature(raw: bytes, key: str) -> str:
    """What WAHA puts in ``X-Webhook-Hmac``: the hex HMAC-SHA512 of the raw body."""
    return hmac.new(key.encode(), raw, hashlib.sha512).hexdigest()


def signed(
    body: dict[str, Any] | bytes, *, key: str = HMAC_KEY, stamp_ms: int = NOW_MS
) -> tuple[dict[str, str], bytes]:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    headers = {
        "X-Webhook-Request-Id": "req_01JNV6N0Y3",
        "X-Webhook-Timestamp": str(stamp_ms),
        "X-Webhook-Hmac": waha_signature(raw, key),
        "X-Webhook-Hmac-Algorithm": "sha512",
        "Content-Type": "application/json",
    }
    return headers, raw
