"""Cloud API deliveries pinned down where the broader tests leave room: every refusal word for word, each
message and status field, the business number, business-scoped user ids, and the time a delivery without
its own is given. Signatures are computed here with ``hmac``."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from server.domain.errors import BadSignature, MalformedWebhook, NotAuthenticated
from server.domain.message_kinds import Location
from server.domain.whatsapp import (
    Delivery,
    InboundMessage,
    MediaKind,
    MediaRef,
    MessageOrigin,
    MessageReceived,
    Peer,
    StatusChanged,
    TransportEvent,
)
from server.whatsapp.cloud_webhook import events_from_cloud_body, parse_cloud_webhook, verify_subscription

SECRET = "cloud-app-secret"
ACCOUNT = "106540352242922"
RECEIVED = datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC)
TS = "1772366395"
SENT = datetime(2026, 3, 1, 11, 59, 55, tzinfo=UTC)
ANA = Peer("4915112345678@s.whatsapp.net", e164="+4915112345678", display_name="Ana")
BUSINESS = Peer("4930123456789@s.whatsapp.net", e164="+4930123456789")


def signature(raw: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def change(value: dict[str, Any], field: str = "messages", display: str | None = "+49 30 123456789") -> Any:
    metadata: dict[str, Any] = {"phone_number_id": ACCOUNT}
    if display is not None:
        metadata["display_phone_number"] = display
    contacts = [{"profile": {"name": "Ana"}, "wa_id": "4915112345678"}]
    return {
        "field": field,
        "value": {"messaging_product": "whatsapp", "metadata": metadata, "contacts": contacts, **value},
    }


def raw_body(*changes: Any) -> bytes:
    payload = {"object": "whatsapp_business_account", "entry": [{"id": "WABA1", "changes": list(changes)}]}
    return json.dumps(payload).encode()


def events(*changes: Any) -> list[TransportEvent]:
    return events_from_cloud_body(raw_body(*changes), received_at=RECEIVED)


def message(**fields: Any) -> InboundMessage:
    raw = {"from": "4915112345678", "id": "wamid.IN1", "timestamp": TS, **fields}
    [event] = events(change({"messages": [{k: v for k, v in raw.items() if v is not None}]}))
    assert isinstance(event, MessageReceived)
    return event.message


def status(**fields: Any) -> StatusChanged:
    raw = {"id": "wamid.OUT1", "status": "failed", "timestamp": TS, "recipient_id": "4915112345678", **fields}
    [event] = events(change({"statuses": [{k: v for k, v in raw.items() if v is not None}]}))
    assert isinstance(event, StatusChanged)
    return event


def malformed(raw: bytes) -> str:
    with pytest.raises(MalformedWebhook) as refused:
        events_from_cloud_body(raw, received_at=RECEIVED)
    return refused.value.message


# --- the signature and the subscription handshake ---------------------------------------------------------


def bad_signature(headers: dict[str, str], secret: str = SECRET) -> str:
    raw = raw_body()
    with pytest.raises(BadSignature) as refused:
        parse_cloud_webhook(headers, raw, app_secret=secret, received_at=RECEIVED)
    return refused.value.message


def test_without_an_app_secret_nothing_is_accepted() -> None:
    given = {"X-Hub-Signature-256": signature(raw_body())}
    assert (
        bad_signature(given, secret="") == "No Cloud API app secret is configured; refusing unsigned webhooks"
    )


def test_a_missing_signature_is_named() -> None:
    assert bad_signature({}) == "The webhook has no X-Hub-Signature-256 signature"


@pytest.mark.parametrize("value", ["sha1=abcdef", "sha256=", "abcdef", "=abcdef"])
def test_a_signature_of_another_form_is_named(value: str) -> None:
    assert bad_signature({"X-Hub-Signature-256": value}) == (
        "The X-Hub-Signature-256 header is not of the form sha256=<hex>"
    )


@pytest.mark.parametrize("value", ["sha256=abcdef", "sha256=ab=cd", signature(b"other body")])
def test_a_wrong_signature_is_named(value: str) -> None:
    assert bad_signature({"X-Hub-Signature-256": value}) == "The webhook signature does not match its body"


def test_a_signed_delivery_is_dated_when_received_where_it_says_nothing() -> None:
    raw = raw_body(
        change({"statuses": [{"id": "wamid.OUT1", "status": "read", "recipient_id": "4915112345678"}]})
    )
    [event] = parse_cloud_webhook(
        {"X-Hub-Signature-256": signature(raw)}, raw, app_secret=SECRET, received_at=RECEIVED
    )
    assert isinstance(event, StatusChanged) and event.at == RECEIVED


def test_a_subscription_without_a_token_is_refused_whatever_ours_is() -> None:
    for ours in ("verify-me", "XXXX", "x"):
        with pytest.raises(NotAuthenticated) as refused:
            verify_subscription({"hub.mode": "subscribe", "hub.challenge": "42"}, verify_token=ours)
        assert (refused.value.reason, refused.value.message) == (
            "bad_verify_token",
            "The webhook verification token does not match",
        )


# --- the body -----------------------------------------------------------------------------------------------


def test_a_body_that_is_not_json_or_names_no_object_is_named() -> None:
    assert malformed(b"{") == "The Cloud API webhook body is not JSON"
    assert malformed(b"[]") == "The Cloud API webhook body is not a JSON object"
    assert malformed(b'{"entry": []}') == "A Cloud API webhook names no object"


def test_a_change_without_its_number_id_is_named() -> None:
    raw = json.dumps(
        {"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value": {}}]}]}
    ).encode()
    assert malformed(raw) == "A Cloud API change has no metadata.phone_number_id"


def test_a_change_of_another_field_is_ignored_even_with_a_value() -> None:
    assert events({"field": "account_update", "value": {"event": "VERIFIED_ACCOUNT"}}) == []


def test_a_message_says_who_what_and_when() -> None:
    found = message(type="text", text={"body": "Hi"}, context={"id": "wamid.OUT0"})
    assert found == InboundMessage(
        account_id=ACCOUNT,
        wa_message_id="wamid.IN1",
        chat=ANA,
        sender=ANA,
        from_me=False,
        sent_at=SENT,
        text="Hi",
        media=None,
        reply_to="wamid.OUT0",
        origin=MessageOrigin.LIVE,
        transport_id="wamid.IN1",
    )


def test_a_message_without_a_type_is_text_and_without_a_time_is_dated_when_received() -> None:
    found = message(timestamp=None, text={"body": "Hi"})
    assert (found.text, found.sent_at) == ("Hi", RECEIVED)


def test_a_message_without_an_id_or_a_sender_is_named() -> None:
    assert malformed(raw_body(change({"messages": [{"from": "4915112345678", "type": "text"}]}))) == (
        "A Cloud API message has no id"
    )
    assert malformed(raw_body(change({"messages": [{"id": "wamid.X", "type": "text"}]}))) == (
        "A Cloud API message names no sender or recipient"
    )


def test_an_echo_is_sent_by_the_business_number() -> None:
    echo = {"to": "4915112345678", "id": "wamid.E", "timestamp": TS, "type": "text", "text": {"body": "x"}}
    [event] = events(change({"message_echoes": [echo]}, field="smb_message_echoes"))
    assert isinstance(event, MessageReceived)
    assert (event.message.sender, event.message.chat, event.message.from_me) == (BUSINESS, ANA, True)


@pytest.mark.parametrize("display", [None, "", "n/a"])
def test_an_echo_without_a_readable_business_number_is_sent_by_me(display: str | None) -> None:
    echo = {"to": "4915112345678", "id": "wamid.E", "timestamp": TS, "type": "text", "text": {"body": "x"}}
    [event] = events(change({"message_echoes": [echo]}, field="smb_message_echoes", display=display))
    assert isinstance(event, MessageReceived) and event.message.sender == Peer("me")


def test_a_business_scoped_user_id_is_kept_as_the_chat() -> None:
    scoped = "US." + "1" * 97  # 100 characters: the longest taken
    found = message(**{"from": scoped, "type": "text", "text": {"body": "Hi"}})
    assert found.chat == Peer(chat_key=scoped, display_name=None)
    contacts = [{"profile": {"name": "Bo"}, "wa_id": "US.123"}]
    value = {"contacts": contacts, "messages": [{"from": "US.123", "id": "wamid.B", "type": "text"}]}
    [event] = events(change(value))
    assert isinstance(event, MessageReceived) and event.message.chat == Peer("US.123", display_name="Bo")


@pytest.mark.parametrize("wa_id", ["US." + "1" * 98, "U.123", "1S.123", "ÜS.123", "not a user"])
def test_anything_else_is_no_user_id(wa_id: str) -> None:
    raw = raw_body(change({"messages": [{"from": wa_id, "id": "wamid.X", "type": "text"}]}))
    assert malformed(raw) == f"{wa_id[:40]!r} is not a WhatsApp user id"


def test_media_keeps_its_mime_type() -> None:
    image = {"id": "111", "mime_type": "image/jpeg", "sha256": "abc", "caption": "look"}
    found = message(type="image", image=image)
    assert found.media == MediaRef(kind=MediaKind.IMAGE, locator="111", mime="image/jpeg", sha256="abc")
    assert found.text == "look"


def test_a_quick_reply_button_is_its_text() -> None:
    assert message(type="button", button={"text": "Yes please", "payload": "YES"}).text == "Yes please"


@pytest.mark.parametrize(
    "interactive",
    [
        {"type": "button_reply", "button_reply": {"id": "b1", "title": "Call me"}},
        {"type": "list_reply", "list_reply": {"id": "l1", "title": "Call me", "description": "d"}},
        {"button_reply": {"title": "Call me"}, "list_reply": {"title": "Other"}},
    ],
)
def test_an_interactive_reply_is_its_title(interactive: dict[str, Any]) -> None:
    assert message(type="interactive", interactive=interactive).text == "Call me"


@pytest.mark.parametrize(
    ("location", "details"),
    [
        (
            {"latitude": 52.5, "longitude": 13.4, "name": "Office", "address": "Main St 1"},
            Location(52.5, 13.4, name="Office", address="Main St 1"),
        ),
        (
            {"latitude": 52, "longitude": 13, "address": "Main St 1"},
            Location(52.0, 13.0, address="Main St 1"),
        ),
        ({"latitude": -90, "longitude": 180}, Location(-90.0, 180.0)),
    ],
)
def test_a_location_keeps_its_coordinates_and_place(location: dict[str, Any], details: Location) -> None:
    received = message(type="location", location=location)
    assert received.details == details and received.text is None


@pytest.mark.parametrize(
    ("location", "text"),
    [
        ({"latitude": 52.5, "name": "Office"}, "Location: Office"),
        ({"longitude": 13.4}, "Location:"),
        ({"latitude": 90.5, "longitude": 13.4, "address": "Nowhere"}, "Location: Nowhere"),
        ({"latitude": 90.5, "name": "Office", "address": "Main St 1"}, "Location: Office, Main St 1"),
        ({"latitude": 52.5, "longitude": 180.01}, "Location:"),
        ({"latitude": True, "longitude": 13.4}, "Location:"),
    ],
)
def test_a_location_without_usable_coordinates_is_written_out(location: dict[str, Any], text: str) -> None:
    received = message(type="location", location=location)
    assert received.details is None and received.text == text


# --- statuses ---------------------------------------------------------------------------------------------


def test_a_status_without_a_message_id_is_named() -> None:
    assert (
        malformed(raw_body(change({"statuses": [{"status": "read"}]})))
        == "A Cloud API status has no message id"
    )


def test_a_delivered_status_carries_no_failure() -> None:
    found = status(status="delivered", errors=[{"code": 131026, "title": "ignored"}])
    assert found == StatusChanged(
        account_id=ACCOUNT,
        wa_message_id="wamid.OUT1",
        status=Delivery.DELIVERED,
        at=SENT,
        recipient="4915112345678@s.whatsapp.net",
        error_code="131026",
    )


def test_a_status_without_time_or_recipient_is_dated_when_received() -> None:
    found = status(status="read", timestamp=None, recipient_id=None)
    assert (found.at, found.recipient, found.error_code) == (RECEIVED, None, None)


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (
            {"code": 131026, "message": "The message", "title": "The title", "error_data": {"details": "d"}},
            "The message",
        ),
        ({"code": 131026, "title": "The title", "error_data": {"details": "The details"}}, "The title"),
        ({"code": 131026, "error_data": {"details": "The details"}}, "The details"),
        ({"code": 131026}, "The message could not be delivered"),
    ],
)
def test_a_failure_says_what_meta_said_best(error: dict[str, Any], text: str) -> None:
    found = status(errors=[error, {"code": 1, "message": "second"}])
    assert (found.status, found.error_code, found.reason, found.error) == (
        Delivery.FAILED,
        "131026",
        "message_undeliverable",
        text,
    )


def test_a_failure_without_errors_is_a_generic_one() -> None:
    found = status()
    assert (found.error_code, found.reason, found.error) == (
        None,
        "cloud_api_error",
        "The message could not be delivered",
    )
