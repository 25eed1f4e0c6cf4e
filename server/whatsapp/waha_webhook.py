"""Verify and parse WAHA webhook deliveries. Pure: the route stores the raw body, a job calls this.

WAHA signs each delivery with ``X-Webhook-Hmac``: the hex HMAC-SHA512 of the exact bytes sent, keyed
with the session's ``config.webhooks[].hmac.key`` (``X-Webhook-Hmac-Algorithm: sha512``). It also sends
``X-Webhook-Timestamp`` (epoch milliseconds). The HMAC covers the body only, so the timestamp window
narrows replays without excluding them; replays inside the window are absorbed downstream by the
message/status dedupe keys.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from server.domain.errors import BadSignature, MalformedWebhook, StaleWebhook
from server.domain.whatsapp import MessageOrigin, MessageReceived, TransportEvent
from server.whatsapp.untrusted_input import (
    JsonObject,
    datetime_from_epoch,
    get_int,
    get_object,
    get_str,
    lower_headers,
    parse_json_object,
)
from server.whatsapp.waha_payloads import (
    identities_in,
    parse_ack,
    parse_me,
    parse_message,
    parse_session_status,
)

SIGNATURE_HEADER = "x-webhook-hmac"
ALGORITHM_HEADER = "x-webhook-hmac-algorithm"
TIMESTAMP_HEADER = "x-webhook-timestamp"
DEFAULT_TOLERANCE = timedelta(minutes=5)
MESSAGE_EVENTS = frozenset({"message", "message.any"})

Clock = Callable[[], datetime]


def sign_waha_body(raw_body: bytes, key: str) -> str:
    """The ``X-Webhook-Hmac`` value WAHA sends for ``raw_body``."""
    return hmac.new(key.encode(), raw_body, hashlib.sha512).hexdigest()


def verify_waha_webhook(
    headers: Mapping[str, str],
    raw_body: bytes,
    *,
    hmac_key: str,
    now: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> None:
    """``BadSignature`` unless signed with ``hmac_key``; ``StaleWebhook`` outside the time window."""
    if not hmac_key:
        raise BadSignature("No WAHA webhook HMAC key is configured; refusing unsigned webhooks")
    lowered = lower_headers(headers)
    algorithm = lowered.get(ALGORITHM_HEADER, "sha512").strip().lower()
    if algorithm != "sha512":
        raise BadSignature(f"Unsupported webhook signature algorithm {algorithm[:20]!r}; expected sha512")
    given = lowered.get(SIGNATURE_HEADER, "").strip().lower()
    if not given:
        raise BadSignature("The webhook has no X-Webhook-Hmac signature")
    expected = sign_waha_body(raw_body, hmac_key)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise BadSignature("The webhook signature does not match its body")
    stamp = lowered.get(TIMESTAMP_HEADER, "").strip()
    readable = stamp.isascii() and stamp.isdigit() and len(stamp) < 20
    sent_at = datetime_from_epoch(int(stamp), millis=True) if readable else None
    if sent_at is None:
        raise StaleWebhook("The webhook has no readable X-Webhook-Timestamp")
    if abs(now - sent_at) > tolerance:
        raise StaleWebhook(
            f"The webhook was sent at {sent_at.isoformat()}, outside ±{tolerance} of now; "
            f"check both clocks if this repeats"
        )


def parse_waha_webhook(
    headers: Mapping[str, str],
    raw_body: bytes,
    *,
    hmac_key: str,
    clock: Clock = lambda: datetime.now(UTC),
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> list[TransportEvent]:
    """Verify one delivery and turn its envelope into domain events (``[]`` for events we ignore)."""
    now = clock()
    verify_waha_webhook(headers, raw_body, hmac_key=hmac_key, now=now, tolerance=tolerance)
    envelope = parse_json_object(raw_body, what="WAHA webhook body")
    return events_from_envelope(envelope, received_at=now)


def events_from_envelope(envelope: JsonObject, *, received_at: datetime) -> list[TransportEvent]:
    event = get_str(envelope, "event")
    account_id = get_str(envelope, "session")
    payload = get_object(envelope, "payload")
    if event is None or account_id is None or payload is None:
        raise MalformedWebhook("A WAHA webhook needs an event, a session and a payload object")
    stamp = get_int(envelope, "timestamp")
    if stamp is None and envelope.get("timestamp") is not None:
        raise MalformedWebhook(
            "The WAHA webhook's timestamp is not a whole number of milliseconds within 64 bits",
            reason="invalid_timestamp",
        )
    at = datetime_from_epoch(stamp, millis=True) or received_at
    me = parse_me(envelope.get("me"))
    if event in MESSAGE_EVENTS:
        message = parse_message(
            payload, account_id=account_id, origin=MessageOrigin.LIVE, me=me, fallback_at=at
        )
        if message is None:
            return []
        events: list[TransportEvent] = [MessageReceived(message)]
        events.extend(identities_in(payload, account_id=account_id))
        return events
    if event == "message.ack":
        status = parse_ack(payload, account_id=account_id, at=at)
        return [status] if status is not None else []
    if event == "session.status":
        return [parse_session_status(payload, account_id=account_id, at=at, me=me)]
    return []
