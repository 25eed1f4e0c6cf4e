"""Hostile input: whatever arrives, webhook parsing raises only our named errors, and never accepts an
unsigned body."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.domain.errors import BadSignature, MalformedWebhook, StaleWebhook
from server.domain.whatsapp import IdentityLearned, MessageReceived, SessionChanged, StatusChanged
from server.whatsapp.cloud_webhook import parse_cloud_webhook
from server.whatsapp.waha_webhook import parse_waha_webhook
from tests.whatsapp.cloud_standin import cloud_signature
from tests.whatsapp.conftest import NOW
from tests.whatsapp.waha_samples import HMAC_KEY, NOW_MS, envelope, message_payload, signed

SECRET = "app-secret"
EVENT_TYPES = (MessageReceived, StatusChanged, SessionChanged, IdentityLearned)

ids = st.sampled_from(
    [
        "4915112345678@c.us",
        "4915112345678:3@s.whatsapp.net",
        "254000825925805@lid",
        "120363025246125486@g.us",
        "status@broadcast",
        "true_4915112345678@c.us_3EB0AA",
        "false_120363025246125486@g.us_3EB0AA_254000825925805@lid",
        "true_",
        "wamid.HBgL",
        "",
        "@",
        "x@y",
    ]
)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30) | ids
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def loose_object(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={key: json_values | ids for key in keys})


waha_payloads = loose_object(
    [
        "id",
        "from",
        "to",
        "fromMe",
        "participant",
        "timestamp",
        "body",
        "hasMedia",
        "media",
        "ack",
        "ackName",
        "_data",
        "replyTo",
        "source",
        "status",
        "key",
    ]
) | st.fixed_dictionaries(
    {"id": ids, "from": ids, "fromMe": st.booleans(), "timestamp": st.integers(), "ack": st.integers(-3, 6)},
    optional={
        "media": st.fixed_dictionaries(
            {}, optional={"url": json_values, "mimetype": json_values, "error": json_values}
        ),
        "_data": st.fixed_dictionaries(
            {},
            optional={
                "Info": st.dictionaries(
                    st.sampled_from(["Chat", "Sender", "SenderAlt", "RecipientAlt"]), ids | json_values
                ),
                "key": st.dictionaries(
                    st.sampled_from(["remoteJid", "remoteJidAlt", "participant", "participantAlt"]),
                    ids | json_values,
                ),
            },
        ),
    },
)


def mostly(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually a plausible value, sometimes anything: reaches deep code paths and still probes them."""
    return st.one_of(valid, valid, valid, json_values)


hostile_waha_envelopes = st.fixed_dictionaries(
    {},
    optional={
        "event": st.sampled_from(["message", "message.any", "message.ack", "session.status", "other"])
        | json_values,
        "session": st.sampled_from(["acct-7"]) | json_values,
        "timestamp": st.integers() | json_values,
        "me": st.fixed_dictionaries(
            {}, optional={"id": ids | json_values, "pushName": json_values, "lid": ids}
        )
        | json_values,
        "payload": waha_payloads | json_values,
    },
)
plausible_waha_envelopes = st.fixed_dictionaries(
    {
        "event": st.sampled_from(["message", "message.any", "message.ack", "session.status"]),
        "session": mostly(st.just("acct-7")),
        "timestamp": mostly(st.just(NOW_MS)),
        "payload": st.fixed_dictionaries(
            {
                "id": mostly(ids),
                "from": mostly(ids),
                "fromMe": mostly(st.booleans()),
                "timestamp": mostly(st.integers(1_600_000_000, 1_800_000_000)),
                "ack": mostly(st.integers(-2, 5)),
                "status": mostly(st.sampled_from(["WORKING", "SCAN_QR_CODE", "FAILED"])),
                "body": mostly(st.text(max_size=20)),
            },
            optional={
                "to": mostly(ids),
                "participant": mostly(ids),
                "hasMedia": mostly(st.booleans()),
                "media": mostly(
                    st.fixed_dictionaries(
                        {"url": mostly(st.text(max_size=20)), "mimetype": mostly(st.text(max_size=20))}
                    )
                ),
                "replyTo": mostly(st.fixed_dictionaries({"id": mostly(ids)})),
                "source": mostly(st.sampled_from(["api", "app"])),
                "_data": waha_payloads.map(lambda p: {"Info": p, "key": p}),
            },
        ),
    },
    optional={"me": mostly(st.fixed_dictionaries({"id": mostly(ids)}))},
)
waha_envelopes = plausible_waha_envelopes | hostile_waha_envelopes

cloud_messages = loose_object(
    [
        "from",
        "to",
        "id",
        "timestamp",
        "type",
        "text",
        "image",
        "audio",
        "document",
        "location",
        "interactive",
        "button",
        "context",
    ]
)
cloud_statuses = loose_object(
    ["id", "status", "timestamp", "recipient_id", "errors", "biz_opaque_callback_data"]
)
cloud_values = st.fixed_dictionaries(
    {},
    optional={
        "metadata": st.fixed_dictionaries(
            {},
            optional={"phone_number_id": st.just("1065") | json_values, "display_phone_number": json_values},
        ),
        "contacts": st.lists(loose_object(["wa_id", "profile"]), max_size=2) | json_values,
        "messages": st.lists(cloud_messages | json_values, max_size=3) | json_values,
        "message_echoes": st.lists(cloud_messages, max_size=2),
        "statuses": st.lists(cloud_statuses | json_values, max_size=3) | json_values,
    },
)
hostile_cloud_bodies = st.fixed_dictionaries(
    {},
    optional={
        "object": st.just("whatsapp_business_account") | json_values,
        "entry": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "changes": st.lists(
                        st.fixed_dictionaries(
                            {},
                            optional={
                                "field": st.sampled_from(["messages", "smb_message_echoes"]) | json_values,
                                "value": cloud_values | json_values,
                            },
                        ),
                        max_size=3,
                    )
                    | json_values
                },
            )
            | json_values,
            max_size=2,
        )
        | json_values,
    },
)
media_types = st.sampled_from(
    [
        "text",
        "image",
        "audio",
        "document",
        "sticker",
        "video",
        "button",
        "interactive",
        "location",
        "reaction",
        "order",
    ]
)
plausible_cloud_messages = media_types.flatmap(
    lambda kind: st.fixed_dictionaries(
        {
            "id": mostly(st.just("wamid.HBgL1")),
            "from": mostly(st.sampled_from(["4915112345678", "US.13491208655302741918", "5215512345678"])),
            "to": mostly(st.just("4915112345678")),
            "timestamp": mostly(st.integers(1_600_000_000, 1_800_000_000).map(str)),
            "type": st.just(kind),
            kind: mostly(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "body": json_values,
                        "id": json_values,
                        "voice": json_values,
                        "caption": json_values,
                        "latitude": json_values,
                        "longitude": json_values,
                        "name": json_values,
                        "button_reply": json_values,
                        "list_reply": json_values,
                        "text": json_values,
                    },
                )
            ),
        },
        optional={"context": mostly(st.fixed_dictionaries({"id": json_values}))},
    )
)
plausible_cloud_statuses = st.fixed_dictionaries(
    {
        "id": mostly(st.just("wamid.HBgL1")),
        "status": mostly(st.sampled_from(["sent", "delivered", "read", "played", "failed", "deleted"])),
        "timestamp": mostly(st.integers(1_600_000_000, 1_800_000_000).map(str)),
    },
    optional={
        "recipient_id": mostly(st.sampled_from(["4915112345678", "US.1349"])),
        "errors": mostly(
            st.lists(
                st.fixed_dictionaries(
                    {"code": mostly(st.integers(0, 200_000))},
                    optional={"title": json_values, "error_data": json_values},
                ),
                max_size=2,
            )
        ),
        "biz_opaque_callback_data": json_values,
    },
)
plausible_cloud_bodies = st.fixed_dictionaries(
    {
        "object": st.just("whatsapp_business_account"),
        "entry": st.lists(
            st.fixed_dictionaries(
                {
                    "changes": st.lists(
                        st.fixed_dictionaries(
                            {
                                "field": mostly(st.sampled_from(["messages", "smb_message_echoes"])),
                                "value": st.fixed_dictionaries(
                                    {
                                        "metadata": mostly(
                                            st.fixed_dictionaries(
                                                {
                                                    "phone_number_id": mostly(st.just("1065")),
                                                    "display_phone_number": json_values,
                                                }
                                            )
                                        ),
                                        "contacts": mostly(
                                            st.lists(
                                                st.fixed_dictionaries(
                                                    {"wa_id": json_values, "profile": json_values}
                                                ),
                                                max_size=2,
                                            )
                                        ),
                                        "messages": mostly(
                                            st.lists(mostly(plausible_cloud_messages), max_size=3)
                                        ),
                                        "message_echoes": mostly(
                                            st.lists(mostly(plausible_cloud_messages), max_size=2)
                                        ),
                                        "statuses": mostly(
                                            st.lists(mostly(plausible_cloud_statuses), max_size=3)
                                        ),
                                    }
                                ),
                            }
                        ),
                        max_size=2,
                    )
                }
            ),
            min_size=1,
            max_size=2,
        ),
    }
)
cloud_bodies = plausible_cloud_bodies | hostile_cloud_bodies

header_maps = st.dictionaries(
    st.sampled_from(
        ["X-Webhook-Hmac", "X-Webhook-Timestamp", "X-Webhook-Hmac-Algorithm", "X-Hub-Signature-256", "Other"]
    )
    | st.text(max_size=10),
    st.text(max_size=140),
    max_size=5,
)
QUICK = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# A signature check reads the headers and the bytes, never the body's structure: fewer bodies suffice.
UNSIGNED = settings(QUICK, max_examples=100)


@UNSIGNED
@given(
    body=st.binary(max_size=300) | waha_envelopes.map(lambda e: json.dumps(e).encode()), headers=header_maps
)
def test_waha_never_accepts_an_unsigned_body(body: bytes, headers: dict[str, str]) -> None:
    try:
        parse_waha_webhook(headers, body, hmac_key=HMAC_KEY, clock=lambda: NOW)
    except (BadSignature, StaleWebhook):
        return
    raise AssertionError("an unsigned body was accepted")


@QUICK
@given(envelope=waha_envelopes | json_values)
def test_waha_signed_hostile_bodies_raise_only_named_errors(envelope: Any) -> None:
    headers, raw = signed(json.dumps(envelope).encode())
    try:
        events = parse_waha_webhook(headers, raw, hmac_key=HMAC_KEY, clock=lambda: NOW)
    except MalformedWebhook:
        return
    assert all(isinstance(event, EVENT_TYPES) for event in events)


FIVE_MINUTES_MS = 5 * 60 * 1000
# WAHA's retries keep the event's timestamp; WaPipe's 15 exponential retries at 2 s may come up to
# 1.2 × 2 s × (2¹ + ... + 2¹⁵) = 157,281.6 s after the event, and 5 minutes are allowed for the clocks.
OLDEST_MS = NOW_MS - 157_281_600 - FIVE_MINUTES_MS
unreadable_or_stale_stamps = st.text(max_size=25).filter(lambda stamp: not stamp.strip().isdigit()) | (
    st.integers().filter(lambda ms: ms < OLDEST_MS or ms > NOW_MS + FIVE_MINUTES_MS).map(str)
)
fresh_stamps = st.integers(min_value=OLDEST_MS, max_value=NOW_MS + FIVE_MINUTES_MS).map(str)


@QUICK
@given(raw=st.binary(max_size=200), stamp=unreadable_or_stale_stamps)
def test_waha_signed_garbage_bytes_with_a_stale_or_unreadable_timestamp_are_stale(
    raw: bytes, stamp: str
) -> None:
    headers, _ = signed(raw)
    headers["X-Webhook-Timestamp"] = stamp
    with pytest.raises(StaleWebhook):
        parse_waha_webhook(headers, raw, hmac_key=HMAC_KEY, clock=lambda: NOW)


@QUICK
@given(raw=st.binary(max_size=200), stamp=fresh_stamps)
def test_waha_signed_garbage_bytes_with_a_fresh_timestamp_are_malformed(raw: bytes, stamp: str) -> None:
    headers, _ = signed(raw)
    headers["X-Webhook-Timestamp"] = stamp
    with pytest.raises(MalformedWebhook):
        parse_waha_webhook(headers, raw, hmac_key=HMAC_KEY, clock=lambda: NOW)


@UNSIGNED
@given(body=st.binary(max_size=300) | cloud_bodies.map(lambda b: json.dumps(b).encode()), headers=header_maps)
def test_cloud_never_accepts_an_unsigned_body(body: bytes, headers: dict[str, str]) -> None:
    try:
        parse_cloud_webhook(headers, body, app_secret=SECRET, received_at=NOW)
    except BadSignature:
        return
    raise AssertionError("an unsigned body was accepted")


@QUICK
@given(payload=cloud_bodies | json_values)
def test_cloud_signed_hostile_bodies_raise_only_named_errors(payload: Any) -> None:
    raw = json.dumps(payload).encode()
    try:
        events = parse_cloud_webhook(
            {"X-Hub-Signature-256": cloud_signature(raw, SECRET)}, raw, app_secret=SECRET, received_at=NOW
        )
    except MalformedWebhook:
        return
    assert all(isinstance(event, EVENT_TYPES) for event in events)


@pytest.mark.parametrize(
    ("offset_ms", "fresh"),
    [
        (300_000, True),
        (300_001, False),
        (-300_001, True),
        (-30 * 60_000, True),
        (-157_281_600 - 300_000, True),
        (-157_281_600 - 300_001, False),
    ],
)
def test_waha_accepts_timestamps_from_the_retry_horizon_to_five_minutes_ahead(
    offset_ms: int, fresh: bool
) -> None:
    now_ms = int(NOW.timestamp() * 1000)
    headers, raw = signed(envelope("message", message_payload()), stamp_ms=now_ms + offset_ms)
    if fresh:
        assert len(parse_waha_webhook(headers, raw, hmac_key=HMAC_KEY, clock=lambda: NOW)) == 1
    else:
        with pytest.raises(StaleWebhook):
            parse_waha_webhook(headers, raw, hmac_key=HMAC_KEY, clock=lambda: NOW)
