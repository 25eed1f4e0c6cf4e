"""WAHA deliveries pinned down where the broader tests leave room: the envelope's own timestamp (which differs
from when we received it), what is handed to the payload parsers, each missing envelope part, and the
signature and time-window refusals word for word. Signatures are computed here with ``hmac``."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from server.domain.errors import BadSignature, MalformedWebhook, StaleWebhook
from server.domain.whatsapp import (
    Delivery,
    MessageOrigin,
    MessageReceived,
    Peer,
    SessionChanged,
    SessionStatus,
    StatusChanged,
)
from server.whatsapp.waha_webhook import events_from_envelope, parse_waha_webhook, verify_waha_webhook
from tests.whatsapp.waha_samples import CONTACT, ME, envelope, message_payload

RECEIVED = datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC)
SENT_MS = 1_772_366_395_123  # 2026-03-01T11:59:55.123Z: when WAHA built the envelope
SENT = datetime(2026, 3, 1, 11, 59, 55, 123000, tzinfo=UTC)
OUR_PEER = Peer("4930123456789@s.whatsapp.net", e164="+4930123456789", display_name="Sales Desk")


def events(body: dict[str, Any]) -> list[Any]:
    return events_from_envelope(json.loads(json.dumps(body)), received_at=RECEIVED)


def test_an_ack_is_dated_by_the_envelope() -> None:
    [status] = events(envelope("message.ack", {"id": f"true_{CONTACT}_X1", "ack": 3}, timestamp=SENT_MS))
    assert status == StatusChanged(
        account_id="acct-7",
        wa_message_id="X1",
        status=Delivery.READ,
        at=SENT,
        from_me=True,
        recipient="4915112345678@s.whatsapp.net",
    )


def test_an_envelope_without_a_timestamp_is_dated_when_received() -> None:
    body = envelope("message.ack", {"id": f"true_{CONTACT}_X1", "ack": 3})
    del body["timestamp"]
    [status] = events(body)
    assert status.at == RECEIVED


def test_a_session_change_carries_the_session_the_time_and_our_number() -> None:
    [change] = events(envelope("session.status", {"status": "WORKING"}, timestamp=SENT_MS))
    assert change == SessionChanged(
        account_id="acct-7", status=SessionStatus.CONNECTED, at=SENT, detail="WORKING", me=OUR_PEER
    )


def test_a_live_message_without_its_own_time_takes_the_envelopes() -> None:
    payload = message_payload()
    del payload["timestamp"]
    [received] = events(envelope("message", payload, timestamp=SENT_MS))
    assert isinstance(received, MessageReceived)
    assert received.message.sent_at == SENT
    assert received.message.origin is MessageOrigin.LIVE
    assert received.message.account_id == "acct-7"


def test_our_own_message_is_sent_by_the_number_the_envelope_names() -> None:
    payload = message_payload(id=f"true_{CONTACT}_3EB0OWN", fromMe=True, **{"from": ME["id"], "to": CONTACT})
    [received] = events(envelope("message.any", payload, timestamp=SENT_MS))
    assert isinstance(received, MessageReceived)
    assert received.message.from_me is True
    assert received.message.sender == OUR_PEER


@pytest.mark.parametrize("missing", ["event", "session", "payload"])
def test_each_missing_envelope_part_is_malformed(missing: str) -> None:
    body = envelope("message", message_payload())
    del body[missing]
    with pytest.raises(MalformedWebhook) as refused:
        events(body)
    assert refused.value.message == "A WAHA webhook needs an event, a session and a payload object"


def test_an_event_we_do_not_use_is_ignored() -> None:
    assert events(envelope("presence.update", {"id": CONTACT})) == []


KEY = "waha-test-key"
BODY = b'{"event":"session.status","session":"acct-7","payload":{"status":"WORKING"}}'
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NOW_MS = 1_772_366_400_000


def headers(
    body: bytes = BODY, *, key: str = KEY, stamp: str | None = str(NOW_MS), **extra: str
) -> dict[str, str]:
    signed = {"X-Webhook-Hmac": hmac.new(key.encode(), body, hashlib.sha512).hexdigest()}
    if stamp is not None:
        signed["X-Webhook-Timestamp"] = stamp
    signed.update(extra)
    return signed


def bad_signature(given: dict[str, str], body: bytes = BODY, key: str = KEY) -> str:
    with pytest.raises(BadSignature) as refused:
        verify_waha_webhook(given, body, hmac_key=key, now=NOW)
    return refused.value.message


def stale(given: dict[str, str], now: datetime = NOW) -> str:
    with pytest.raises(StaleWebhook) as refused:
        verify_waha_webhook(given, BODY, hmac_key=KEY, now=now)
    return refused.value.message


def test_a_delivery_without_an_algorithm_header_is_taken_as_sha512() -> None:
    verify_waha_webhook(headers(), BODY, hmac_key=KEY, now=NOW)


def test_without_a_key_nothing_is_accepted() -> None:
    assert (
        bad_signature(headers(), key="")
        == "No WAHA webhook HMAC key is configured; refusing unsigned webhooks"
    )


def test_another_algorithm_is_named_and_cut_to_twenty_characters() -> None:
    given = headers(**{"X-Webhook-Hmac-Algorithm": "SHA256"})
    assert bad_signature(given) == "Unsupported webhook signature algorithm 'sha256'; expected sha512"
    given = headers(**{"X-Webhook-Hmac-Algorithm": "sha3-512-with-a-very-long-name"})
    assert (
        bad_signature(given)
        == "Unsupported webhook signature algorithm 'sha3-512-with-a-very'; expected sha512"
    )


def test_a_missing_signature_is_named() -> None:
    given = headers()
    del given["X-Webhook-Hmac"]
    assert bad_signature(given) == "The webhook has no X-Webhook-Hmac signature"


def test_a_wrong_signature_is_named() -> None:
    assert bad_signature(headers(key="another-key")) == "The webhook signature does not match its body"


@pytest.mark.parametrize("stamp", [None, "", "soon", "1772366400000.5", "１７７２３６６４００"])
def test_an_unreadable_timestamp_is_named(stamp: str | None) -> None:
    assert stale(headers(stamp=stamp)) == "The webhook has no readable X-Webhook-Timestamp"


def test_a_stale_delivery_names_its_event_time_and_the_horizon() -> None:
    # The horizon: 1.2 × 2 s × (2¹ + ... + 2¹⁵) = 157,281.6 s, then 5 minutes for the clocks.
    too_old = NOW_MS - 157_281_600 - 300_000 - 1
    message = stale(headers(stamp=str(too_old)))
    assert message == (
        "The webhook's event time 2026-02-27T16:13:38.399000+00:00 is older than WAHA's retry horizon "
        "of 43.7 h (plus 5 min for the clocks); WAHA no longer retries events that old"
    )
    verify_waha_webhook(headers(stamp=str(too_old + 1)), BODY, hmac_key=KEY, now=NOW)


def test_a_delivery_from_the_future_names_its_event_time_and_reason() -> None:
    with pytest.raises(StaleWebhook) as refused:
        verify_waha_webhook(headers(stamp=str(NOW_MS + 300_001)), BODY, hmac_key=KEY, now=NOW)
    assert refused.value.reason == "future_webhook"
    assert refused.value.message == (
        "The webhook's event time 2026-03-01T12:05:00.001000+00:00 is more than 5 min ahead of now; "
        "check both clocks if this repeats"
    )
    verify_waha_webhook(headers(stamp=str(NOW_MS + 300_000)), BODY, hmac_key=KEY, now=NOW)


def test_a_body_that_is_not_json_is_named() -> None:
    with pytest.raises(MalformedWebhook) as refused:
        parse_waha_webhook(headers(b"not json"), b"not json", hmac_key=KEY, clock=lambda: NOW)
    assert refused.value.message == "The WAHA webhook body is not JSON"


def test_a_delivery_without_its_own_timestamp_is_dated_by_the_clock() -> None:
    [change] = parse_waha_webhook(headers(), BODY, hmac_key=KEY, clock=lambda: NOW)
    assert isinstance(change, SessionChanged) and change.at == NOW


@pytest.mark.parametrize(
    "stamp", [2**63, -(2**63) - 1, 10**30, "soon", 1.5, True, [SENT_MS], {"ms": SENT_MS}]
)
def test_an_envelope_timestamp_that_is_no_64_bit_integer_is_refused_by_name(stamp: object) -> None:
    body = envelope("message.ack", {"id": f"true_{CONTACT}_X1", "ack": 3})
    body["timestamp"] = stamp
    with pytest.raises(MalformedWebhook) as refused:
        events(body)
    assert (refused.value.reason, refused.value.message) == (
        "invalid_timestamp",
        "The WAHA webhook's timestamp is not a whole number of milliseconds within 64 bits",
    )


@pytest.mark.parametrize("stamp", [2**63 - 1, -(2**63)])
def test_the_64_bit_edges_are_read_not_refused(stamp: int) -> None:
    body = envelope("session.status", {"status": "WORKING"})
    body["timestamp"] = stamp
    [change] = events(body)  # a time past what a datetime holds falls back to when it was received
    assert change.at == RECEIVED


def test_an_envelope_timestamp_of_null_is_dated_when_received() -> None:
    body = envelope("message.ack", {"id": f"true_{CONTACT}_X1", "ack": 3})
    body["timestamp"] = None
    [status] = events(body)
    assert status.at == RECEIVED


@pytest.mark.parametrize(
    ("horizon", "skew", "named"),
    [
        (timedelta(hours=2), timedelta(seconds=90), "of 2.0 h (plus 1.5 min for the clocks)"),
        (timedelta(minutes=10), timedelta(seconds=30), "of 10 min (plus 30 s for the clocks)"),
        (timedelta(seconds=59.5), timedelta(0), "of 59.5 s (plus 0 s for the clocks)"),
    ],
)
def test_a_configured_horizon_is_named_in_the_refusal(
    horizon: timedelta, skew: timedelta, named: str
) -> None:
    too_old = NOW - horizon - skew - timedelta(milliseconds=1)
    given = headers(stamp=str(int(too_old.timestamp() * 1000)))
    with pytest.raises(StaleWebhook) as refused:
        verify_waha_webhook(given, BODY, hmac_key=KEY, now=NOW, horizon=horizon, skew=skew)
    assert named in refused.value.message


def test_the_retry_horizon_takes_no_retries_or_no_delay_and_refuses_negative_ones() -> None:
    from server.whatsapp.waha_webhook import retry_horizon

    assert retry_horizon(0, 2) == timedelta(0)
    assert retry_horizon(3, 0) == timedelta(0)
    assert retry_horizon(1, 0.5) == timedelta(seconds=2 * 0.5 * 1.2)
    for attempts, delay in ((-1, 2), (1, -0.5)):
        with pytest.raises(ValueError, match=r"^a retry policy has no negative attempts or delays$"):
            retry_horizon(attempts, delay)


@pytest.mark.parametrize(
    ("span", "words"),
    [
        (timedelta(seconds=59), "59 s"),
        (timedelta(seconds=60), "1 min"),
        (timedelta(seconds=3599), "60 min"),
        (timedelta(seconds=3600), "1.0 h"),
        (timedelta(days=30), "720.0 h"),
    ],
)
def test_spans_in_refusals_read_as_people_read_them(span: timedelta, words: str) -> None:
    from server.whatsapp.waha_webhook import _span

    assert _span(span) == words
