"""Verify and parse WAHA webhook deliveries. Pure: the route stores the raw body, a job calls this.

WAHA signs each delivery with ``X-Webhook-Hmac``: the hex HMAC-SHA512 of the exact bytes sent, keyed
with the session's ``config.webhooks[].hmac.key`` (``X-Webhook-Hmac-Algorithm: sha512``). It also sends
``X-Webhook-Timestamp`` (epoch milliseconds): the event's own time, set once per event, so every retry
carries the time of the first attempt's event. With the exponential policy WaPipe configures, retry n
waits 2ⁿ × ``delaySeconds`` (n from 1) plus up to 20 % jitter, so a retry can arrive most of two days
after its event. A signed delivery is accepted while its timestamp lies within that retry horizon (plus
a small clock skew) and no more than the skew ahead of now. The HMAC covers the body only, so the window
narrows replays without excluding them; a replay inside it finds its delivery key already stored, and the
message/status dedupe keys absorb the rest.
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
from server.whatsapp.waha_calls import CALL_EVENTS, call_events
from server.whatsapp.waha_changes import parse_edited, parse_reaction, parse_revoked
from server.whatsapp.waha_payloads import (
    identities_in,
    parse_ack,
    parse_me,
    parse_message,
    parse_session_status,
)
from server.whatsapp.waha_polls import poll_vote_events

SIGNATURE_HEADER = "x-webhook-hmac"
ALGORITHM_HEADER = "x-webhook-hmac-algorithm"
TIMESTAMP_HEADER = "x-webhook-timestamp"
MESSAGE_EVENTS = frozenset({"message", "message.any"})

# The retry policy WaPipe asks WAHA for (``config.webhooks[].retries``).
RETRY_POLICY = "exponential"
RETRY_DELAY_SECONDS = 2
RETRY_ATTEMPTS = 15
RETRY_JITTER = 0.2  # WAHA adds up to 20 % to each exponential delay
DEFAULT_SKEW = timedelta(minutes=5)  # how far apart WAHA's clock and ours may be

Clock = Callable[[], datetime]


def retry_horizon(attempts: int = RETRY_ATTEMPTS, delay_seconds: float = RETRY_DELAY_SECONDS) -> timedelta:
    """How long after its event WAHA may still retry a delivery: the sum of the exponential delays
    2ⁿ × ``delay_seconds`` for the ``attempts`` retries (n from 1), each with its full 20 % jitter."""
    if attempts < 0 or delay_seconds < 0:
        raise ValueError("a retry policy has no negative attempts or delays")
    waits = sum(2**n * delay_seconds for n in range(1, attempts + 1))
    return timedelta(seconds=waits * (1 + RETRY_JITTER))


DEFAULT_HORIZON = retry_horizon()


def _span(span: timedelta) -> str:
    """A span as people read it in a refusal: ``43.7 h``, ``5 min``, ``30 s``."""
    seconds = span.total_seconds()
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min".replace(".0 min", " min")
    return f"{seconds:.1f} s".replace(".0 s", " s")


def sign_waha_body(raw_body: bytes, key: str) -> str:
    """The ``X-Webhook-Hmac`` value WAHA sends for ``raw_body``."""
    return hmac.new(key.encode(), raw_body, hashlib.sha512).hexdigest()


def verify_waha_webhook(
    headers: Mapping[str, str],
    raw_body: bytes,
    *,
    hmac_key: str,
    now: datetime,
    horizon: timedelta = DEFAULT_HORIZON,
    skew: timedelta = DEFAULT_SKEW,
) -> None:
    """``BadSignature`` unless signed with ``hmac_key``; ``StaleWebhook`` when the event's timestamp is
    unreadable, more than ``skew`` ahead of ``now``, or older than ``horizon`` + ``skew``."""
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
    if sent_at - now > skew:
        raise StaleWebhook(
            f"The webhook's event time {sent_at.isoformat()} is more than {_span(skew)} ahead of now; "
            f"check both clocks if this repeats",
            reason="future_webhook",
        )
    if now - sent_at > horizon + skew:
        raise StaleWebhook(
            f"The webhook's event time {sent_at.isoformat()} is older than WAHA's retry horizon of "
            f"{_span(horizon)} (plus {_span(skew)} for the clocks); WAHA no longer retries events that old"
        )


def parse_waha_webhook(
    headers: Mapping[str, str],
    raw_body: bytes,
    *,
    hmac_key: str,
    clock: Clock = lambda: datetime.now(UTC),
    horizon: timedelta = DEFAULT_HORIZON,
    skew: timedelta = DEFAULT_SKEW,
) -> list[TransportEvent]:
    """Verify one delivery and turn its envelope into domain events (``[]`` for events we ignore)."""
    now = clock()
    verify_waha_webhook(headers, raw_body, hmac_key=hmac_key, now=now, horizon=horizon, skew=skew)
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
    if event == "message.edited":
        return [parse_edited(payload, account_id=account_id, at=at)]
    if event == "message.revoked":
        return [parse_revoked(payload, account_id=account_id, at=at, me=me)]
    if event == "message.reaction":
        return [parse_reaction(payload, account_id=account_id, at=at)]
    if event == "session.status":
        return [parse_session_status(payload, account_id=account_id, at=at, me=me)]
    if event in CALL_EVENTS:
        return [*call_events(event, payload, account_id=account_id, at=at)]
    if event == "poll.vote":
        return [*poll_vote_events(payload, account_id=account_id, at=at, me=me)]
    return []
