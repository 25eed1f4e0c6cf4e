from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest

from server.domain.errors import BadSignature, MalformedWebhook, StaleWebhook
from server.domain.whatsapp import (
    Delivery,
    IdentityLearned,
    MediaKind,
    MessageOrigin,
    MessageReceived,
    SessionChanged,
    SessionStatus,
    StatusChanged,
    TransportEvent,
)
from server.whatsapp.waha import WahaTransport
from server.whatsapp.waha_payloads import parse_message
from server.whatsapp.waha_webhook import parse_waha_webhook, sign_waha_body
from tests.whatsapp.conftest import NOW
from tests.whatsapp.waha_samples import (
    CONTACT,
    CONTACT_LID,
    GROUP,
    HMAC_KEY,
    ME,
    NOW_MS,
    envelope,
    message_payload,
    signed,
)


def parse(body: dict[str, object] | bytes) -> list[TransportEvent]:
    headers, raw = signed(body)
    return parse_waha_webhook(headers, raw, hmac_key=HMAC_KEY, clock=lambda: NOW)


def only_message(events: list[TransportEvent]) -> MessageReceived:
    received = [e for e in events if isinstance(e, MessageReceived)]
    assert len(received) == 1
    return received[0]


class TestSignature:
    def test_valid(self, waha: WahaTransport) -> None:
        headers, raw = signed(envelope("message", message_payload()))
        assert len(waha.parse_webhook(headers, raw)) == 1

    def test_known_answer(self) -> None:
        # The digest was computed outside WaPipe:
        #   printf '%s' "$BODY" | openssl dgst -sha512 -hmac waha-known-answer-key
        body = (
            b'{"event":"message","session":"default","timestamp":1772366400000,"payload":'
            b'{"id":"false_4915112345678@c.us_3EB0C767D26A1D7A4B3E","timestamp":1772366395,'
            b'"from":"4915112345678@c.us","fromMe":false,"body":"Hi"}}'
        )
        digest = (
            "62b892156572d238f9aa6ffe7f1d8e7cba08d62aad1f471594cf0e6c9195bf9d"
            "8a17ff8008b57c0f1305df8594bc422681b8c398ee7a3841b7c19bacf59df17f"
        )
        headers = {
            "X-Webhook-Hmac": digest,
            "X-Webhook-Hmac-Algorithm": "sha512",
            "X-Webhook-Timestamp": str(NOW_MS),
        }
        assert sign_waha_body(body, "waha-known-answer-key") == digest
        message = only_message(
            parse_waha_webhook(headers, body, hmac_key="waha-known-answer-key", clock=lambda: NOW)
        )
        assert (message.message.wa_message_id, message.message.text) == ("3EB0C767D26A1D7A4B3E", "Hi")

    def test_header_names_are_case_insensitive(self) -> None:
        headers, raw = signed(envelope("message", message_payload()))
        lowered = {name.lower(): value for name, value in headers.items()}
        assert parse_waha_webhook(lowered, raw, hmac_key=HMAC_KEY, clock=lambda: NOW)

    def test_wrong_key(self) -> None:
        headers, raw = signed(envelope("message", message_payload()), key="another-key")
        with pytest.raises(BadSignature) as caught:
            parse_waha_webhook(headers, raw, hmac_key=HMAC_KEY, clock=lambda: NOW)
        assert caught.value.reason == "bad_signature"

    def test_truncated_body(self) -> None:
        headers, raw = signed(envelope("message", message_payload()))
        with pytest.raises(BadSignature):
            parse_waha_webhook(headers, raw[:-1], hmac_key=HMAC_KEY, clock=lambda: NOW)

    def test_one_byte_changed(self) -> None:
        headers, raw = signed(envelope("message", message_payload()))
        tampered = raw.replace(b"still valid", b"still vali!")
        assert tampered != raw and len(tampered) == len(raw)
        with pytest.raises(BadSignature):
            parse_waha_webhook(headers, tampered, hmac_key=HMAC_KEY, clock=lambda: NOW)

    def test_re_serialised_json_is_not_the_signed_body(self) -> None:
        body = envelope("message", message_payload(body="Grüße 👋"))
        headers, raw = signed(body)
        reencoded = json.dumps(json.loads(raw)).encode()  # escapes the non-ASCII characters
        with pytest.raises(BadSignature):
            parse_waha_webhook(headers, reencoded, hmac_key=HMAC_KEY, clock=lambda: NOW)

    @pytest.mark.parametrize("missing", ["X-Webhook-Hmac", "X-Webhook-Timestamp"])
    def test_missing_headers(self, missing: str) -> None:
        headers, raw = signed(envelope("message", message_payload()))
        del headers[missing]
        expected = BadSignature if missing == "X-Webhook-Hmac" else StaleWebhook
        with pytest.raises(expected):
            parse_waha_webhook(headers, raw, hmac_key=HMAC_KEY, clock=lambda: NOW)

    def test_no_headers_at_all(self) -> None:
        with pytest.raises(BadSignature):
            parse_waha_webhook({}, b"{}", hmac_key=HMAC_KEY, clock=lambda: NOW)

    def test_other_algorithm_is_refused(self) -> None:
        headers, raw = signed(envelope("message", message_payload()))
        headers["X-Webhook-Hmac-Algorithm"] = "md5"
        with pytest.raises(BadSignature):
            parse_waha_webhook(headers, raw, hmac_key=HMAC_KEY, clock=lambda: NOW)

    def test_no_configured_key_accepts_nothing(self) -> None:
        headers, raw = signed(envelope("message", message_payload()), key="")
        with pytest.raises(BadSignature):
            parse_waha_webhook(headers, raw, hmac_key="", clock=lambda: NOW)

    # WaPipe asks WAHA for 15 exponential retries at 2 s: retry n waits 2^n × 2 s plus up to 20 %, so the
    # last one may come 1.2 × 2 × (2 + 4 + ... + 32768) s = 157,281.6 s (43 h 41 min 21.6 s) after its event.
    # Retries keep the event's X-Webhook-Timestamp; 5 minutes more are allowed for the two clocks.
    HORIZON = timedelta(seconds=157_281.6)
    SKEW = timedelta(minutes=5)

    @pytest.mark.parametrize(
        ("offset", "reason"),
        [
            (timedelta(minutes=5, milliseconds=1), "future_webhook"),
            (timedelta(hours=2), "future_webhook"),
            (-(HORIZON + SKEW + timedelta(milliseconds=1)), "stale_webhook"),
            (timedelta(days=-3), "stale_webhook"),
        ],
    )
    def test_stale_or_future_timestamp(self, offset: timedelta, reason: str) -> None:
        stamp = NOW_MS + int(offset.total_seconds() * 1000)
        headers, raw = signed(envelope("message", message_payload()), stamp_ms=stamp)
        with pytest.raises(StaleWebhook) as caught:
            parse_waha_webhook(headers, raw, hmac_key=HMAC_KEY, clock=lambda: NOW)
        assert caught.value.reason == reason

    @pytest.mark.parametrize(
        "offset",
        [
            timedelta(minutes=5),
            timedelta(0),
            timedelta(minutes=-6),
            timedelta(minutes=-30),
            timedelta(hours=-18),
            -(HORIZON + SKEW),
        ],
    )
    def test_a_late_retry_inside_the_horizon_is_accepted(self, offset: timedelta) -> None:
        stamp = NOW_MS + int(offset.total_seconds() * 1000)
        headers, raw = signed(envelope("message", message_payload()), stamp_ms=stamp)
        assert len(parse_waha_webhook(headers, raw, hmac_key=HMAC_KEY, clock=lambda: NOW)) == 1

    @pytest.mark.parametrize("key", ["another-key", ""])
    def test_a_late_retry_inside_the_horizon_still_needs_our_signature(self, key: str) -> None:
        headers, raw = signed(envelope("message", message_payload()), key=key, stamp_ms=NOW_MS - 30 * 60_000)
        if not key:
            del headers["X-Webhook-Hmac"]
        with pytest.raises(BadSignature):
            parse_waha_webhook(headers, raw, hmac_key=HMAC_KEY, clock=lambda: NOW)

    def test_injectable_horizon_and_skew(self) -> None:
        headers, raw = signed(envelope("message", message_payload()), stamp_ms=NOW_MS - 4 * 60_000)
        assert parse_waha_webhook(headers, raw, hmac_key=HMAC_KEY, clock=lambda: NOW)
        with pytest.raises(StaleWebhook):
            parse_waha_webhook(
                headers,
                raw,
                hmac_key=HMAC_KEY,
                clock=lambda: NOW,
                horizon=timedelta(minutes=1),
                skew=timedelta(minutes=1),
            )
        ahead, raw = signed(envelope("message", message_payload()), stamp_ms=NOW_MS + 2 * 60_000)
        assert parse_waha_webhook(ahead, raw, hmac_key=HMAC_KEY, clock=lambda: NOW)
        with pytest.raises(StaleWebhook):
            parse_waha_webhook(ahead, raw, hmac_key=HMAC_KEY, clock=lambda: NOW, skew=timedelta(minutes=1))

    def test_the_transport_takes_its_horizon_from_its_retry_attempts(
        self, waha_http: httpx.AsyncClient
    ) -> None:
        # 3 retries at 2 s: (4 + 8 + 16) s × 1.2 = 33.6 s, then 5 minutes of skew.
        waha = WahaTransport(
            waha_http, webhook_url="https://wapipe.test/hook", hmac_key=HMAC_KEY, webhook_attempts=3
        )
        assert waha.session_config("acct-7")["webhooks"][0]["retries"] == {  # type: ignore[index]
            "policy": "exponential",
            "delaySeconds": 2,
            "attempts": 3,
        }
        waha.clock = lambda: NOW
        body = envelope("message", message_payload())
        inside, raw = signed(body, stamp_ms=NOW_MS - 333_600)
        assert len(waha.parse_webhook(inside, raw)) == 1
        outside, raw = signed(body, stamp_ms=NOW_MS - 333_601)
        with pytest.raises(StaleWebhook):
            waha.parse_webhook(outside, raw)

    @pytest.mark.parametrize("stamp", ["", "soon", "-5", "²³", "1" * 30])
    def test_unreadable_timestamp(self, stamp: str) -> None:
        headers, raw = signed(envelope("message", message_payload()))
        headers["X-Webhook-Timestamp"] = stamp
        with pytest.raises(StaleWebhook):
            parse_waha_webhook(headers, raw, hmac_key=HMAC_KEY, clock=lambda: NOW)


class TestMessages:
    def test_incoming_text(self) -> None:
        message = only_message(parse(envelope("message", message_payload()))).message
        assert message.account_id == "acct-7"
        assert message.wa_message_id == "3EB0C767D26A1D7A4B3E"
        assert message.chat.chat_key == "4915112345678@s.whatsapp.net"
        assert message.chat.e164 == "+4915112345678"
        assert message.sender == message.chat
        assert not message.from_me and not message.from_api
        assert message.text == "Hi, is the offer still valid?"
        assert message.sent_at == NOW - timedelta(seconds=5)
        assert message.key == "acct-7/in/3EB0C767D26A1D7A4B3E"

    def test_sent_from_our_api(self) -> None:
        payload = message_payload(
            id=f"true_{CONTACT}_3EB0AA11",
            fromMe=True,
            source="api",
            to=CONTACT,
            **{"from": "4930123456789@c.us"},
        )
        message = only_message(parse(envelope("message.any", payload))).message
        assert message.from_me and message.from_api
        assert message.chat.chat_key == "4915112345678@s.whatsapp.net"
        assert message.sender.chat_key == "4930123456789@s.whatsapp.net"
        assert message.key == "acct-7/out/3EB0AA11"

    def test_typed_on_the_phone(self) -> None:
        payload = message_payload(id=f"true_{CONTACT}_3EB0BB22", fromMe=True, source="app", to=CONTACT)
        message = only_message(parse(envelope("message.any", payload))).message
        assert message.from_me and not message.from_api

    def test_twins_under_lid_and_phone_share_one_key(self) -> None:
        as_phone = only_message(parse(envelope("message", message_payload()))).message
        lid_payload = message_payload(id=f"false_{CONTACT_LID}_3EB0C767D26A1D7A4B3E", **{"from": CONTACT_LID})
        as_lid = only_message(parse(envelope("message.any", lid_payload, id="evt_other"))).message
        assert as_lid.key == as_phone.key
        assert as_lid.chat.chat_key == "254000825925805@lid"

    def test_engine_alternate_id_reveals_the_phone(self) -> None:
        payload = message_payload(
            id=f"false_{CONTACT_LID}_3EB0C767D26A1D7A4B3E",
            _data={
                "Info": {
                    "Chat": CONTACT_LID,
                    "Sender": CONTACT_LID,
                    "SenderAlt": "4915112345678@s.whatsapp.net",
                }
            },
            **{"from": CONTACT_LID},
        )
        events = parse(envelope("message", payload))
        message = only_message(events).message
        assert message.chat.chat_key == "4915112345678@s.whatsapp.net"  # the phone spelling wins
        assert message.chat.lid == "254000825925805@lid"
        assert (
            IdentityLearned("acct-7", "254000825925805@lid", "4915112345678@s.whatsapp.net", "+4915112345678")
            in events
        )

    def test_recipient_alt_names_the_chat_only_on_our_own_messages(self) -> None:
        own_lid = "99887766554433@lid"
        info = {"Chat": CONTACT_LID, "Sender": CONTACT_LID, "RecipientAlt": own_lid, "IsFromMe": False}
        incoming = message_payload(id=f"false_{CONTACT_LID}_3EB0AA", _data={"Info": info})
        events = parse(envelope("message", incoming))
        assert only_message(events).message.chat.chat_key == CONTACT_LID
        assert not [event for event in events if isinstance(event, IdentityLearned)]

        ours = {"Chat": CONTACT_LID, "Sender": f"{ME['id']}", "RecipientAlt": CONTACT, "IsFromMe": True}
        echo = message_payload(id=f"true_{CONTACT_LID}_3EB0BB", fromMe=True, _data={"Info": ours})
        events = parse(envelope("message.any", echo))
        chat = only_message(events).message.chat
        assert (chat.chat_key, chat.lid) == ("4915112345678@s.whatsapp.net", CONTACT_LID)

    def test_history_message_of_ours_names_us_not_the_chat(self) -> None:
        # GOWS puts the chat in `from` for every message; history answers carry no envelope `me`.
        info = {"Chat": "4915112345678@s.whatsapp.net", "Sender": "4930123456789:7@s.whatsapp.net"}
        payload = message_payload(id=f"true_{CONTACT}_3EB0CC", fromMe=True, to=None, _data={"Info": info})
        message = parse_message(payload, account_id="acct-7", origin=MessageOrigin.HISTORY)
        assert message is not None and message.sender.chat_key == "4930123456789@s.whatsapp.net"
        assert message.chat.chat_key == "4915112345678@s.whatsapp.net"

    def test_voice_note_flag_of_the_gows_engine(self) -> None:
        media = {"url": "http://waha.test:3000/api/files/x.oga", "mimetype": "audio/ogg", "error": None}
        data = {"Message": {"audioMessage": {"mimetype": "audio/ogg", "PTT": True}}}
        payload = message_payload(hasMedia=True, media=media, _data=data)
        voice = only_message(parse(envelope("message", payload))).message.media
        assert voice is not None and voice.kind is MediaKind.VOICE

    def test_group_message_sender_is_the_participant(self) -> None:
        payload = message_payload(
            id=f"false_{GROUP}_3A1B2C_{CONTACT}", participant=CONTACT, **{"from": GROUP}
        )
        message = only_message(parse(envelope("message", payload))).message
        assert message.chat.chat_key == GROUP and message.chat.is_group
        assert message.sender.chat_key == "4915112345678@s.whatsapp.net"
        assert message.wa_message_id == "3A1B2C"

    def test_media_and_reply(self) -> None:
        payload = message_payload(
            body="",
            hasMedia=True,
            media={
                "url": "http://waha.test:3000/api/files/acct-7/3EB0.oga",
                "mimetype": "audio/ogg; codecs=opus",
                "filename": None,
            },
            replyTo={"id": "3EB0PREVIOUS", "participant": CONTACT, "body": "earlier"},
        )
        message = only_message(parse(envelope("message", payload))).message
        assert message.text is None
        assert message.media is not None and message.media.kind is MediaKind.VOICE
        assert message.media.locator == "http://waha.test:3000/api/files/acct-7/3EB0.oga"
        assert message.reply_to == "3EB0PREVIOUS"

    def test_media_the_gateway_did_not_keep(self) -> None:
        payload = message_payload(
            hasMedia=True, media={"url": None, "mimetype": "image/jpeg", "error": {"m": "x"}}
        )
        message = only_message(parse(envelope("message", payload))).message
        assert (
            message.media is not None
            and message.media.locator is None
            and message.media.kind is MediaKind.IMAGE
        )

    def test_status_broadcasts_are_ignored(self) -> None:
        payload = message_payload(id="false_status@broadcast_3EB0", **{"from": "status@broadcast"})
        assert parse(envelope("message", payload)) == []


class TestAcksAndSessions:
    @pytest.mark.parametrize(
        ("ack", "status"),
        [
            (-1, Delivery.FAILED),
            (0, Delivery.PENDING),
            (1, Delivery.SENT),
            (2, Delivery.DELIVERED),
            (3, Delivery.READ),
            (4, Delivery.PLAYED),
        ],
    )
    def test_ack_codes(self, ack: int, status: Delivery) -> None:
        payload = {
            "id": f"true_{CONTACT}_3EB0AA11",
            "from": CONTACT,
            "fromMe": True,
            "ack": ack,
            "ackName": "x",
        }
        (event,) = parse(envelope("message.ack", payload))
        assert isinstance(event, StatusChanged)
        assert event.status is status and event.wa_message_id == "3EB0AA11" and event.from_me
        assert event.key == "acct-7/out/3EB0AA11"
        assert event.recipient == "4915112345678@s.whatsapp.net"
        assert (event.reason is not None) is (status is Delivery.FAILED)

    def test_group_ack_names_the_reader(self) -> None:
        # GOWS suffixes the id with the message's author (us); the reader is ``participant``.
        payload = {
            "id": f"true_{GROUP}_3EB0AA11_{ME['id']}",
            "participant": CONTACT,
            "fromMe": True,
            "ack": 3,
        }
        (event,) = parse(envelope("message.ack", payload))
        assert isinstance(event, StatusChanged)
        assert event.key == "acct-7/out/3EB0AA11" and event.recipient == "4915112345678@s.whatsapp.net"

    def test_group_ack_without_a_reader_names_the_group(self) -> None:
        payload = {"id": f"true_{GROUP}_3EB0AA11_{ME['id']}", "participant": None, "fromMe": True, "ack": 1}
        (event,) = parse(envelope("message.ack", payload))
        assert isinstance(event, StatusChanged) and event.recipient == GROUP  # never our own number

    def test_ack_by_name_and_unknown_ack(self) -> None:
        (event,) = parse(envelope("message.ack", {"id": f"true_{CONTACT}_X1", "ackName": "READ"}))
        assert isinstance(event, StatusChanged) and event.status is Delivery.READ
        assert parse(envelope("message.ack", {"id": f"true_{CONTACT}_X1", "ack": 9})) == []

    @pytest.mark.parametrize(
        ("waha_status", "status"),
        [
            ("WORKING", SessionStatus.CONNECTED),
            ("SCAN_QR_CODE", SessionStatus.NEEDS_PAIRING),
            ("FAILED", SessionStatus.FAILED),
        ],
    )
    def test_session_status(self, waha_status: str, status: SessionStatus) -> None:
        payload = {"status": waha_status, "statuses": [{"status": "STARTING", "timestamp": NOW_MS - 1000}]}
        (event,) = parse(envelope("session.status", payload))
        assert isinstance(event, SessionChanged)
        assert event.status is status and event.detail == waha_status and event.at == NOW
        assert event.me is not None and event.me.e164 == "+4930123456789"

    def test_unknown_events_are_ignored(self) -> None:
        assert parse(envelope("presence.update", {"id": CONTACT})) == []


class TestMalformed:
    @pytest.mark.parametrize(
        "body",
        [
            b"not json",
            b"[1, 2]",
            b'{"event": "message"}',
            json.dumps(envelope("message", {"body": "no id"})).encode(),
            json.dumps(envelope("message", message_payload(id="true_"))).encode(),
            json.dumps(envelope("message.ack", {"ack": 3})).encode(),
            json.dumps(envelope("session.status", {"statuses": []})).encode(),
            json.dumps(
                envelope("message", message_payload(id="3EB0", fromMe=None, timestamp=None, **{"from": None}))
            ).encode(),
        ],
    )
    def test_signed_but_malformed(self, body: bytes) -> None:
        with pytest.raises(MalformedWebhook) as caught:
            parse(body)
        assert caught.value.reason == "malformed_webhook"
