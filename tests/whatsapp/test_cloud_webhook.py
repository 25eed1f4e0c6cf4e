from __future__ import annotations

import json
from typing import Any

import pytest

from server.domain.errors import BadSignature, MalformedWebhook, NotAuthenticated
from server.domain.message_changes import Reacted
from server.domain.message_kinds import Location
from server.domain.whatsapp import (
    Delivery,
    MediaKind,
    MessageReceived,
    StatusChanged,
    TransportEvent,
    advance,
)
from server.whatsapp.cloud_webhook import parse_cloud_webhook, sign_cloud_body, verify_subscription
from tests.whatsapp.cloud_standin import PHONE_NUMBER_ID, cloud_signature
from tests.whatsapp.conftest import NOW

SECRET = "app-secret"
TS = "1772366395"


def change(value: dict[str, Any], field: str = "messages") -> dict[str, Any]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "4930123456789", "phone_number_id": PHONE_NUMBER_ID},
        **value,
    }
    return {"field": field, "value": value}


def body(*changes: dict[str, Any]) -> dict[str, Any]:
    return {"object": "whatsapp_business_account", "entry": [{"id": "WABA1", "changes": list(changes)}]}


def signed(payload: dict[str, Any] | bytes, secret: str = SECRET) -> tuple[dict[str, str], bytes]:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
    return {"X-Hub-Signature-256": cloud_signature(raw, secret), "Content-Type": "application/json"}, raw


def parse(payload: dict[str, Any] | bytes) -> list[TransportEvent]:
    headers, raw = signed(payload)
    return parse_cloud_webhook(headers, raw, app_secret=SECRET, received_at=NOW)


TEXT = body(
    change(
        {
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": "4915112345678"}],
            "messages": [
                {
                    "from": "4915112345678",
                    "id": "wamid.IN1",
                    "timestamp": TS,
                    "type": "text",
                    "text": {"body": "Hi there"},
                    "context": {"from": "4930123456789", "id": "wamid.OUT0"},
                }
            ],
        }
    )
)


class TestSignature:
    def test_valid(self) -> None:
        assert len(parse(TEXT)) == 1

    def test_known_answer(self) -> None:
        # The digest was computed outside WaPipe:
        #   printf '%s' "$BODY" | openssl dgst -sha256 -hmac cloud-known-answer-secret
        body = (
            b'{"object":"whatsapp_business_account","entry":[{"id":"WABA1","changes":[{"field":"messages",'
            b'"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"4930123456789",'
            b'"phone_number_id":"106540352242922"},"messages":[{"from":"4915112345678","id":"wamid.KNOWN1",'
            b'"timestamp":"1772366395","type":"text","text":{"body":"Hi"}}]}}]}]}'
        )
        signature = "sha256=776403d30006106b8338ee349023b07ab8dbc2825c9c0e959e2c92e3ce08d5d6"
        assert sign_cloud_body(body, "cloud-known-answer-secret") == signature
        [event] = parse_cloud_webhook(
            {"X-Hub-Signature-256": signature}, body, app_secret="cloud-known-answer-secret", received_at=NOW
        )
        assert isinstance(event, MessageReceived)
        assert (event.message.wa_message_id, event.message.text) == ("wamid.KNOWN1", "Hi")

    def test_wrong_secret(self) -> None:
        headers, raw = signed(TEXT, secret="other")
        with pytest.raises(BadSignature):
            parse_cloud_webhook(headers, raw, app_secret=SECRET, received_at=NOW)

    def test_truncated_body(self) -> None:
        headers, raw = signed(TEXT)
        with pytest.raises(BadSignature):
            parse_cloud_webhook(headers, raw[:-2], app_secret=SECRET, received_at=NOW)

    def test_one_byte_changed(self) -> None:
        headers, raw = signed(TEXT)
        tampered = raw.replace(b"Hi there", b"Hi thera")
        with pytest.raises(BadSignature):
            parse_cloud_webhook(headers, tampered, app_secret=SECRET, received_at=NOW)

    @pytest.mark.parametrize(
        "headers",
        [
            {},
            {"X-Hub-Signature-256": ""},
            {"X-Hub-Signature-256": "sha1=abc"},
            {"X-Hub-Signature": "sha1=abc"},
        ],
    )
    def test_missing_or_wrong_header(self, headers: dict[str, str]) -> None:
        with pytest.raises(BadSignature):
            parse_cloud_webhook(headers, json.dumps(TEXT).encode(), app_secret=SECRET, received_at=NOW)

    def test_uppercase_hex_and_lowercase_header_name(self) -> None:
        headers, raw = signed(TEXT)
        value = headers["X-Hub-Signature-256"]
        assert parse_cloud_webhook(
            {"x-hub-signature-256": "sha256=" + value[7:].upper()}, raw, app_secret=SECRET, received_at=NOW
        )

    def test_no_secret_accepts_nothing(self) -> None:
        headers, raw = signed(TEXT, secret="")
        with pytest.raises(BadSignature):
            parse_cloud_webhook(headers, raw, app_secret="", received_at=NOW)


class TestSubscription:
    def test_handshake(self) -> None:
        params = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "verify-me"}
        assert verify_subscription(params, verify_token="verify-me") == "1158201444"

    @pytest.mark.parametrize(
        "params",
        [
            {"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": "wrong"},
            {"hub.mode": "unsubscribe", "hub.challenge": "1", "hub.verify_token": "verify-me"},
            {"hub.mode": "subscribe", "hub.verify_token": "verify-me"},
            {},
        ],
    )
    def test_refused(self, params: dict[str, str]) -> None:
        with pytest.raises(NotAuthenticated) as caught:
            verify_subscription(params, verify_token="verify-me")
        assert caught.value.reason == "bad_verify_token"


class TestMessages:
    def test_text(self) -> None:
        (event,) = parse(TEXT)
        assert isinstance(event, MessageReceived)
        message = event.message
        assert message.account_id == PHONE_NUMBER_ID and message.wa_message_id == "wamid.IN1"
        assert (
            message.chat.chat_key == "4915112345678@s.whatsapp.net" and message.chat.e164 == "+4915112345678"
        )
        assert message.chat.display_name == "Ana" and message.sender == message.chat
        assert message.text == "Hi there" and message.reply_to == "wamid.OUT0"
        assert int(message.sent_at.timestamp()) == int(TS) and not message.from_me

    @pytest.mark.parametrize(
        ("kind", "content", "media_kind"),
        [
            (
                "image",
                {"id": "111", "mime_type": "image/jpeg", "sha256": "abc", "caption": "look"},
                MediaKind.IMAGE,
            ),
            ("audio", {"id": "222", "mime_type": "audio/ogg; codecs=opus", "voice": True}, MediaKind.VOICE),
            ("audio", {"id": "223", "mime_type": "audio/mpeg"}, MediaKind.AUDIO),
            (
                "document",
                {"id": "333", "mime_type": "application/pdf", "filename": "po.pdf"},
                MediaKind.DOCUMENT,
            ),
        ],
    )
    def test_media(self, kind: str, content: dict[str, Any], media_kind: MediaKind) -> None:
        raw = {"from": "4915112345678", "id": "wamid.M", "timestamp": TS, "type": kind, kind: content}
        (event,) = parse(body(change({"messages": [raw]})))
        assert isinstance(event, MessageReceived)
        media = event.message.media
        assert media is not None and media.kind is media_kind and media.locator == content["id"]
        assert media.filename == content.get("filename") and media.sha256 == content.get("sha256")
        assert event.message.text == content.get("caption")

    def test_reactions_are_no_messages_and_unknown_types_kept(self) -> None:
        messages = [
            {
                "from": "4915112345678",
                "id": "wamid.R",
                "timestamp": TS,
                "type": "reaction",
                "reaction": {"message_id": "wamid.L0", "emoji": "x"},
            },
            {
                "from": "4915112345678",
                "id": "wamid.L",
                "timestamp": TS,
                "type": "location",
                "location": {"latitude": 52.5, "longitude": 13.4, "name": "Office"},
            },
            {"from": "4915112345678", "id": "wamid.U", "timestamp": TS, "type": "order"},
        ]
        events = parse(body(change({"messages": messages})))
        assert [e.message.wa_message_id for e in events if isinstance(e, MessageReceived)] == [
            "wamid.L",
            "wamid.U",
        ]
        reaction, first = events[0], events[1]
        assert isinstance(reaction, Reacted) and reaction.target_id == "wamid.L0"
        assert isinstance(first, MessageReceived) and first.message.text is None
        assert first.message.details == Location(52.5, 13.4, name="Office")

    def test_owner_typed_on_the_business_app(self) -> None:
        echo = {
            "from": "4930123456789",
            "to": "4915112345678",
            "id": "wamid.E",
            "timestamp": TS,
            "type": "text",
            "text": {"body": "typed on the phone"},
        }
        (event,) = parse(body(change({"message_echoes": [echo]}, field="smb_message_echoes")))
        assert isinstance(event, MessageReceived)
        assert event.message.from_me and event.message.chat.chat_key == "4915112345678@s.whatsapp.net"
        assert event.message.sender.chat_key == "4930123456789@s.whatsapp.net"

    def test_batched_entries_and_other_objects(self) -> None:
        two = body(
            change({"messages": [TEXT["entry"][0]["changes"][0]["value"]["messages"][0]]}),
            change(
                {
                    "statuses": [
                        {
                            "id": "wamid.OUT0",
                            "status": "read",
                            "timestamp": TS,
                            "recipient_id": "4915112345678",
                        }
                    ]
                }
            ),
        )
        kinds = [type(e).__name__ for e in parse(two)]
        assert kinds == ["MessageReceived", "StatusChanged"]
        assert parse({"object": "page", "entry": []}) == []


class TestStatuses:
    def status(self, **overrides: Any) -> StatusChanged:
        raw = {
            "id": "wamid.OUT1",
            "status": "delivered",
            "timestamp": TS,
            "recipient_id": "4915112345678",
            "biz_opaque_callback_data": "outbox-9",
            **overrides,
        }
        (event,) = parse(body(change({"statuses": [raw]})))
        assert isinstance(event, StatusChanged)
        return event

    def test_delivered_carries_our_reference(self) -> None:
        event = self.status()
        assert event.status is Delivery.DELIVERED and event.client_ref == "outbox-9"
        assert (
            event.recipient == "4915112345678@s.whatsapp.net"
            and event.key == f"{PHONE_NUMBER_ID}/out/wamid.OUT1"
        )

    def test_failed_outside_the_window(self) -> None:
        event = self.status(
            status="failed",
            errors=[
                {
                    "code": 131047,
                    "title": "Re-engagement message",
                    "message": "Re-engagement message",
                    "error_data": {"details": "more than 24 hours have passed"},
                }
            ],
        )
        assert event.status is Delivery.FAILED and event.error_code == "131047"
        assert event.reason == "outside_24h_window"
        assert event.error == "outside the 24-hour window: use a template"

    def test_failed_for_another_reason(self) -> None:
        event = self.status(status="failed", errors=[{"code": 131026, "title": "Message undeliverable"}])
        assert event.reason == "message_undeliverable" and event.error == "Message undeliverable"

    def test_out_of_order_statuses_never_go_backwards(self) -> None:
        arrivals = [self.status(status=name).status for name in ("read", "sent", "delivered")]
        state = None
        for status in arrivals:
            state = advance(state, status)
        assert state is Delivery.READ

    def test_unknown_status_is_ignored(self) -> None:
        raw = {"id": "wamid.OUT1", "status": "deleted", "timestamp": TS}
        assert parse(body(change({"statuses": [raw]}))) == []


@pytest.mark.parametrize(
    "payload",
    [
        b"{",
        b"[]",
        json.dumps({"entry": []}).encode(),
        json.dumps(body({"field": "messages", "value": {"messages": []}})).encode(),
        json.dumps(body(change({"messages": [{"from": "4915112345678", "type": "text"}]}))).encode(),
        json.dumps(body(change({"messages": [{"id": "wamid.X", "type": "text"}]}))).encode(),
        json.dumps(
            body(change({"messages": [{"id": "wamid.X", "from": "not a user", "type": "text"}]}))
        ).encode(),
        json.dumps(body(change({"statuses": [{"status": "read"}]}))).encode(),
    ],
)
def test_signed_but_malformed(payload: bytes) -> None:
    with pytest.raises(MalformedWebhook):
        parse(payload)
