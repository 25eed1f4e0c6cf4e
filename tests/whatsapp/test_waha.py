from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from server.domain.errors import (
    ConfigurationError,
    GatewayUnavailable,
    InvalidInput,
    InvalidOutboundMessage,
    NumberNotOnWhatsApp,
    Permanent,
    SessionDisconnected,
    Transient,
    Unauthorized,
    UnsupportedByTransport,
)
from server.domain.ports.whatsapp import WhatsAppTransport
from server.domain.whatsapp import (
    MediaKind,
    MessageOrigin,
    OutboundMedia,
    OutboundMessage,
    SessionStatus,
    Template,
)
from server.whatsapp.waha import WahaTransport
from tests.whatsapp.conftest import NOW
from tests.whatsapp.waha_fake import FakeWaha, body_of
from tests.whatsapp.waha_samples import CONTACT, GROUP, HMAC_KEY, ME, NOW_MS, message_payload

SESSION = "/api/sessions/acct-7"
TEXT = OutboundMessage(client_ref="outbox-1", to="+4915112345678", text="Hello Ana")


def test_satisfies_the_port(waha: WahaTransport) -> None:
    transport: WhatsAppTransport = waha
    assert transport.kind == "waha"
    assert transport.capabilities.history_sync and transport.capabilities.qr_pairing


def test_refuses_unsigned_or_relative_configuration() -> None:
    with pytest.raises(ConfigurationError):
        WahaTransport(httpx.AsyncClient(), webhook_url="https://x.test", hmac_key="k")
    with pytest.raises(ConfigurationError):
        WahaTransport(
            httpx.AsyncClient(base_url="http://waha.test"), webhook_url="https://x.test", hmac_key=""
        )


class TestSessions:
    async def test_connect_creates_a_signed_session(self, waha: WahaTransport, fake_waha: FakeWaha) -> None:
        fake_waha.on("GET", SESSION, {"message": "not found"}, status=404)
        fake_waha.on("POST", "/api/sessions", {"name": "acct-7", "status": "STARTING"}, status=201)
        fake_waha.on("GET", "/api/server/version", {"version": "2026.7.1", "engine": "GOWS", "tier": "CORE"})
        assert await waha.connect("acct-7") is SessionStatus.STARTING
        body = body_of(fake_waha.last("POST", "/api/sessions"))
        assert body["name"] == "acct-7" and body["start"] is True
        config = body["config"]
        assert isinstance(config, dict)
        (hook,) = config["webhooks"]
        assert hook["url"] == "https://wapipe.test/webhooks/waha"
        assert hook["hmac"] == {"key": HMAC_KEY}
        assert hook["retries"]["attempts"] == 15 and hook["retries"]["policy"] == "exponential"
        assert "message.any" in hook["events"] and "message" not in hook["events"]
        assert config["metadata"] == {"wapipe.account": "acct-7"}
        assert config["noweb"] == {"markOnline": True, "store": {"enabled": True, "fullSync": False}}

    async def test_connect_starts_a_stopped_session(self, waha: WahaTransport, fake_waha: FakeWaha) -> None:
        fake_waha.on("GET", SESSION, {"name": "acct-7", "status": "STOPPED"})
        fake_waha.on("POST", f"{SESSION}/start", {"name": "acct-7", "status": "STARTING"})
        assert await waha.connect("acct-7") is SessionStatus.STARTING

    async def test_connect_leaves_a_working_session_alone(
        self, waha: WahaTransport, fake_waha: FakeWaha
    ) -> None:
        fake_waha.on("GET", SESSION, {"name": "acct-7", "status": "WORKING"})
        assert await waha.connect("acct-7") is SessionStatus.CONNECTED
        assert fake_waha.calls() == [f"GET {SESSION}"]

    async def test_connect_survives_a_concurrent_create(
        self, waha: WahaTransport, fake_waha: FakeWaha
    ) -> None:
        answers = iter([httpx.Response(404), httpx.Response(200, json={"status": "SCAN_QR_CODE"})])
        fake_waha.on("GET", "/api/server/version", {"version": "2026.7.1", "engine": "GOWS", "tier": "CORE"})
        fake_waha.on_call("GET", SESSION, lambda _r: next(answers))
        fake_waha.on("POST", "/api/sessions", {"message": "Session already exists"}, status=422)
        assert await waha.connect("acct-7") is SessionStatus.NEEDS_PAIRING

    async def test_update_config_puts_the_webhook(self, waha: WahaTransport, fake_waha: FakeWaha) -> None:
        fake_waha.on("PUT", SESSION, {"name": "acct-7"})
        await waha.update_config("acct-7")
        assert body_of(fake_waha.last("PUT", SESSION))["config"]["webhooks"][0]["hmac"] == {"key": HMAC_KEY}  # type: ignore[index]

    @pytest.mark.parametrize(
        ("waha_status", "status"),
        [
            ("WORKING", SessionStatus.CONNECTED),
            ("SCAN_QR_CODE", SessionStatus.NEEDS_PAIRING),
            ("PASSKEY_REQUIRED", SessionStatus.NEEDS_PAIRING),
            ("STARTING", SessionStatus.STARTING),
            ("STOPPED", SessionStatus.STOPPED),
            ("FAILED", SessionStatus.FAILED),
            ("SOMETHING_NEW", SessionStatus.DISCONNECTED),
        ],
    )
    async def test_status(
        self, waha: WahaTransport, fake_waha: FakeWaha, waha_status: str, status: SessionStatus
    ) -> None:
        fake_waha.on("GET", SESSION, {"name": "acct-7", "status": waha_status})
        assert await waha.status("acct-7") is status

    async def test_status_of_a_missing_session(self, waha: WahaTransport, fake_waha: FakeWaha) -> None:
        assert await waha.status("acct-7") is SessionStatus.STOPPED

    async def test_pairing_qr_asks_for_the_raw_value(self, waha: WahaTransport, fake_waha: FakeWaha) -> None:
        fake_waha.on("GET", "/api/acct-7/auth/qr", {"value": "2@abc,def,ghi"})
        assert await waha.pairing_qr("acct-7") == "2@abc,def,ghi"
        request = fake_waha.last("GET", "/api/acct-7/auth/qr")
        assert request.url.params["format"] == "raw"

    async def test_pairing_code(self, waha: WahaTransport, fake_waha: FakeWaha) -> None:
        fake_waha.on("POST", "/api/acct-7/auth/request-code", {"code": "ABCD-EFGH"})
        assert await waha.pairing_code("acct-7", "+49 151 12345678") == "ABCD-EFGH"
        assert body_of(fake_waha.last("POST", "/api/acct-7/auth/request-code")) == {
            "phoneNumber": "4915112345678"
        }

    @pytest.mark.parametrize(("logout", "action"), [(False, "stop"), (True, "logout")])
    async def test_disconnect(
        self, waha: WahaTransport, fake_waha: FakeWaha, logout: bool, action: str
    ) -> None:
        fake_waha.on("POST", f"{SESSION}/{action}", {"status": "STOPPED"})
        await waha.disconnect("acct-7", logout=logout)
        assert fake_waha.calls() == [f"POST {SESSION}/{action}"]

    async def test_me(self, waha: WahaTransport, fake_waha: FakeWaha) -> None:
        fake_waha.on("GET", f"{SESSION}/me", ME)
        me = await waha.me("acct-7")
        assert me is not None
        assert (me.chat_key, me.e164, me.display_name) == (
            "4930123456789@s.whatsapp.net",
            "+4930123456789",
            "Sales Desk",
        )

    async def test_session_names_cannot_escape_the_path(self, waha: WahaTransport) -> None:
        with pytest.raises(InvalidInput):
            await waha.status("../admin")


class TestSend:
    async def test_text(self, waha: WahaTransport, fake_waha: FakeWaha) -> None:
        fake_waha.on("POST", "/api/sendText", {"id": f"true_{CONTACT}_3EB0AA11", "timestamp": NOW_MS // 1000})
        reply = OutboundMessage(
            client_ref="outbox-1", to="4915112345678@s.whatsapp.net", text="Hi", reply_to="false_x@c.us_1"
        )
        result = await waha.send("acct-7", reply)
        assert body_of(fake_waha.last("POST", "/api/sendText")) == {
            "session": "acct-7",
            "chatId": CONTACT,
            "text": "Hi",
            "linkPreview": False,
            "reply_to": "false_x@c.us_1",
        }
        assert result.wa_message_id == "3EB0AA11"
        assert result.transport_id == f"true_{CONTACT}_3EB0AA11"
        assert result.chat_key == "4915112345678@s.whatsapp.net"
        assert result.client_ref == "outbox-1" and result.accepted_at == NOW
        assert result.key == "acct-7/out/3EB0AA11"

    @pytest.mark.parametrize(
        "answer",
        [
            {
                "id": {
                    "fromMe": True,
                    "remote": CONTACT,
                    "id": "3EB0AA11",
                    "_serialized": f"true_{CONTACT}_3EB0AA11",
                }
            },
            {"key": {"remoteJid": "4915112345678@s.whatsapp.net", "fromMe": True, "id": "3EB0AA11"}},
        ],
    )
    async def test_engine_specific_answers(
        self, waha: WahaTransport, fake_waha: FakeWaha, answer: object
    ) -> None:
        fake_waha.on("POST", "/api/sendText", answer)
        assert (await waha.send("acct-7", TEXT)).wa_message_id == "3EB0AA11"

    async def test_image_by_base64(self, waha: WahaTransport, fake_waha: FakeWaha) -> None:
        fake_waha.on("POST", "/api/sendImage", {"id": f"true_{CONTACT}_3EB0BB"})
        media = OutboundMedia(kind=MediaKind.IMAGE, mime="image/png", filename="offer.png", data=b"\x89PNG")
        await waha.send("acct-7", OutboundMessage(client_ref="r", to=CONTACT, text="the offer", media=media))
        body = body_of(fake_waha.last("POST", "/api/sendImage"))
        assert body["file"] == {"mimetype": "image/png", "filename": "offer.png", "data": "iVBORw=="}
        assert body["caption"] == "the offer"

    @pytest.mark.parametrize(
        ("kind", "mime", "path", "extra"),
        [
            (MediaKind.DOCUMENT, "application/pdf", "/api/sendFile", {}),
            (MediaKind.AUDIO, "audio/mpeg", "/api/sendFile", {}),
            # WAHA requires a file name for voice notes and videos: a stand-in when there is none.
            (MediaKind.VOICE, "audio/ogg; codecs=opus", "/api/sendVoice", {"convert": False}),
            (MediaKind.VOICE, "audio/mpeg", "/api/sendVoice", {"convert": True}),
            (MediaKind.VIDEO, "video/mp4", "/api/sendVideo", {"convert": False}),
            (MediaKind.VIDEO, "video/quicktime", "/api/sendVideo", {"convert": True}),
        ],
    )
    async def test_media_by_url(
        self,
        waha: WahaTransport,
        fake_waha: FakeWaha,
        kind: MediaKind,
        mime: str,
        path: str,
        extra: dict[str, object],
    ) -> None:
        fake_waha.on("POST", path, {"id": f"true_{CONTACT}_3EB0CC"})
        media = OutboundMedia(kind=kind, mime=mime, url="https://files.wapipe.test/f1")
        await waha.send("acct-7", OutboundMessage(client_ref="r", to=CONTACT, media=media))
        body = body_of(fake_waha.last("POST", path))
        names = {
            "audio/ogg; codecs=opus": "voice-message.ogg",
            "audio/mpeg": "voice-message.mp3",
            "video/mp4": "video.mp4",
            "video/quicktime": "video.mov",
        }
        expected = {"mimetype": mime, "url": "https://files.wapipe.test/f1"}
        if kind in (MediaKind.VOICE, MediaKind.VIDEO):
            expected["filename"] = names[mime]
        assert body["file"] == expected
        for key, value in extra.items():
            assert body[key] == value

    async def test_templates_and_voice_captions_are_refused(self, waha: WahaTransport) -> None:
        with pytest.raises(UnsupportedByTransport):
            await waha.send(
                "acct-7", OutboundMessage(client_ref="r", to=CONTACT, template=Template("t", "en"))
            )
        voice = OutboundMedia(kind=MediaKind.VOICE, mime="audio/ogg", data=b"ogg")
        with pytest.raises(InvalidOutboundMessage):
            await waha.send(
                "acct-7", OutboundMessage(client_ref="r", to=CONTACT, text="caption", media=voice)
            )

    async def test_answer_without_id_may_have_been_sent(
        self, waha: WahaTransport, fake_waha: FakeWaha
    ) -> None:
        fake_waha.on("POST", "/api/sendText", {"ok": True})
        with pytest.raises(GatewayUnavailable) as caught:
            await waha.send("acct-7", TEXT)
        assert caught.value.maybe_sent

    @pytest.mark.parametrize(
        ("answer", "error", "reason"),
        [
            (
                {
                    "error": "Session status is not as expected.",
                    "status": "SCAN_QR_CODE",
                    "expected": ["WORKING"],
                },
                SessionDisconnected,
                "session_disconnected",
            ),
            (
                {"error": "Session status is not as expected.", "status": "STARTING"},
                GatewayUnavailable,
                "session_starting",
            ),
            ({"message": "chatId is invalid"}, Permanent, "gateway_rejected"),
        ],
    )
    async def test_422_answers(
        self, waha: WahaTransport, fake_waha: FakeWaha, answer: object, error: type[Exception], reason: str
    ) -> None:
        fake_waha.on("POST", "/api/sendText", answer, status=422)
        with pytest.raises(error) as caught:
            await waha.send("acct-7", TEXT)
        assert getattr(caught.value, "reason", None) == reason

    async def test_5xx_after_the_fact_may_have_been_sent(
        self, waha: WahaTransport, fake_waha: FakeWaha
    ) -> None:
        fake_waha.on("POST", "/api/sendText", {"message": "boom"}, status=500)
        with pytest.raises(GatewayUnavailable) as caught:
            await waha.send("acct-7", TEXT)
        assert caught.value.maybe_sent and caught.value.reason == "gateway_unavailable"
        assert isinstance(caught.value.__cause__, httpx.HTTPStatusError)

    @pytest.mark.parametrize(
        ("failure", "maybe_sent"), [(httpx.ConnectError("refused"), False), (httpx.ReadTimeout("slow"), True)]
    )
    async def test_transport_failures(
        self, waha: WahaTransport, fake_waha: FakeWaha, failure: httpx.HTTPError, maybe_sent: bool
    ) -> None:
        def fail(_request: httpx.Request) -> httpx.Response:
            raise failure

        fake_waha.on_call("POST", "/api/sendText", fail)
        with pytest.raises(GatewayUnavailable) as caught:
            await waha.send("acct-7", TEXT)
        assert caught.value.maybe_sent is maybe_sent
        assert caught.value.__cause__ is failure

    async def test_rate_limit_and_bad_key(self, waha: WahaTransport, fake_waha: FakeWaha) -> None:
        fake_waha.on_call(
            "POST", "/api/sendText", lambda _r: httpx.Response(429, headers={"Retry-After": "7"})
        )
        with pytest.raises(GatewayUnavailable) as caught:
            await waha.send("acct-7", TEXT)
        # a 429 on a send may come after the gateway sent it: maybe_sent, like a 5xx or a timeout
        assert caught.value.reason == "rate_limited" and caught.value.retry_after == 7.0
        assert caught.value.maybe_sent
        fake_waha.on_call("GET", "/api/acct-7/chats", lambda _r: httpx.Response(429))
        with pytest.raises(Transient) as limited:
            await waha.list_chats("acct-7")
        assert not isinstance(limited.value, GatewayUnavailable) and limited.value.reason == "rate_limited"
        waha.http.headers["X-Api-Key"] = "wrong"
        with pytest.raises(Unauthorized):
            await waha.send("acct-7", TEXT)


class TestFindSent:
    async def test_finds_the_oldest_matching_echo(self, waha: WahaTransport, fake_waha: FakeWaha) -> None:
        now_s = NOW_MS // 1000
        fake_waha.on(
            "GET",
            "/api/acct-7/chats/4915112345678%40c.us/messages",
            [
                message_payload(
                    id=f"true_{CONTACT}_NEWER", fromMe=True, body="Hello Ana", timestamp=now_s + 20
                ),
                message_payload(
                    id=f"true_{CONTACT}_OTHER", fromMe=True, body="Something else", timestamp=now_s + 5
                ),
                message_payload(
                    id=f"true_{CONTACT}_FIRST", fromMe=True, body="Hello Ana", timestamp=now_s + 10
                ),
                message_payload(id=f"false_{CONTACT}_THEIRS", body="Hello Ana", timestamp=now_s + 1),
            ],
        )
        found = await waha.find_sent("acct-7", TEXT, since=NOW)
        assert found is not None and found.wa_message_id == "FIRST" and found.client_ref == "outbox-1"
        request = fake_waha.last("GET", "/api/acct-7/chats/4915112345678%40c.us/messages")
        assert request.url.params["filter.fromMe"] == "true"
        assert int(request.url.params["filter.timestamp.gte"]) == now_s - 30
        again = await waha.find_sent("acct-7", TEXT, since=NOW, exclude={"FIRST"})
        assert again is not None and again.wa_message_id == "NEWER"

    async def test_prefers_api_sends_and_the_first_of_one_second(
        self, waha: WahaTransport, fake_waha: FakeWaha
    ) -> None:
        now_s = NOW_MS // 1000
        same = {"fromMe": True, "body": "Hello Ana", "timestamp": now_s}
        fake_waha.on(
            "GET",
            "/api/acct-7/chats/4915112345678%40c.us/messages",
            [  # newest first, as WAHA lists history
                message_payload(id=f"true_{CONTACT}_API2", source="api", **same),
                message_payload(id=f"true_{CONTACT}_API1", source="api", **same),
                message_payload(id=f"true_{CONTACT}_PHONE", source="app", **{**same, "timestamp": now_s - 1}),
            ],
        )
        found = await waha.find_sent("acct-7", TEXT, since=NOW)
        assert found is not None and found.wa_message_id == "API1"
        found = await waha.find_sent("acct-7", TEXT, since=NOW, exclude={"API1", "API2"})
        assert found is not None and found.wa_message_id == "PHONE"

    async def test_none_when_nothing_went_out(self, waha: WahaTransport, fake_waha: FakeWaha) -> None:
        fake_waha.on("GET", "/api/acct-7/chats/4915112345678%40c.us/messages", [])
        assert await waha.find_sent("acct-7", TEXT, since=NOW) is None


class TestHistoryAndDirectory:
    async def test_history_since_a_time(self, waha: WahaTransport, fake_waha: FakeWaha) -> None:
        path = "/api/acct-7/chats/4915112345678%40c.us/messages"
        fake_waha.on(
            "GET",
            path,
            [
                message_payload(),
                message_payload(id=f"true_{CONTACT}_3EB0DD", fromMe=True, body="Yes it is", source="app"),
                {"id": 12},  # unreadable entries are skipped, not fatal
                message_payload(id="false_status@broadcast_3EB0EE", **{"from": "status@broadcast"}),
            ],
        )
        batch = await waha.history(
            "acct-7", "4915112345678@s.whatsapp.net", since=NOW - timedelta(hours=1), limit=4
        )
        params = fake_waha.last("GET", path).url.params
        assert params["filter.timestamp.gte"] == str(NOW_MS // 1000 - 3600)
        assert params["downloadMedia"] == "true" and params["limit"] == "4"
        assert [m.wa_message_id for m in batch.messages] == ["3EB0C767D26A1D7A4B3E", "3EB0DD"]
        assert all(m.origin is MessageOrigin.CATCHUP for m in batch.messages)
        assert batch.messages[1].from_me and not batch.messages[1].from_api
        assert batch.chat_key == "4915112345678@s.whatsapp.net"
        assert batch.next_offset == 4

    async def test_history_of_all_chats_last_page(self, waha: WahaTransport, fake_waha: FakeWaha) -> None:
        fake_waha.on("GET", "/api/acct-7/chats/all/messages", [message_payload()])
        batch = await waha.history("acct-7", None, since=None, limit=50, origin=MessageOrigin.HISTORY)
        assert batch.is_last and batch.chat_key is None
        assert batch.messages[0].origin is MessageOrigin.HISTORY
        assert (
            "filter.timestamp.gte" not in fake_waha.last("GET", "/api/acct-7/chats/all/messages").url.params
        )

    async def test_list_chats(self, waha: WahaTransport, fake_waha: FakeWaha) -> None:
        fake_waha.on(
            "GET",
            "/api/acct-7/chats",
            [
                {"id": CONTACT, "name": "Ana", "conversationTimestamp": NOW_MS // 1000},
                {"id": {"_serialized": GROUP}, "name": "Deal room", "timestamp": NOW_MS // 1000},
                {"id": "120363111111111111@newsletter", "name": "Channel"},
                {"id": None},
            ],
        )
        chats = await waha.list_chats("acct-7", limit=10)
        assert [(c.peer.chat_key, c.peer.is_group, c.peer.display_name) for c in chats] == [
            ("4915112345678@s.whatsapp.net", False, "Ana"),
            (GROUP, True, "Deal room"),
        ]
        assert chats[0].last_message_at == NOW
        assert fake_waha.last("GET", "/api/acct-7/chats").url.params["sortBy"] == "conversationTimestamp"

    async def test_group_info(self, waha: WahaTransport, fake_waha: FakeWaha) -> None:
        base = "/api/acct-7/groups/120363025246125486%40g.us"
        fake_waha.on("GET", base, {"id": GROUP, "subject": "Deal room", "description": "Q3 order"})
        fake_waha.on(
            "GET",
            f"{base}/participants/v2",
            [
                {"id": CONTACT, "role": "admin"},
                {"id": "254000825925805@lid", "pn": "4917612345678@c.us", "role": "participant"},
                {"id": "not-an-id"},
            ],
        )
        info = await waha.group_info("acct-7", GROUP)
        assert info.subject == "Deal room" and info.description == "Q3 order" and info.peer.is_group
        assert [(m.peer.chat_key, m.peer.lid, m.role) for m in info.members] == [
            ("4915112345678@s.whatsapp.net", None, "admin"),
            ("4917612345678@s.whatsapp.net", "254000825925805@lid", "participant"),
        ]
        with pytest.raises(InvalidInput):
            await waha.group_info("acct-7", CONTACT)

    async def test_resolve_lid(self, waha: WahaTransport, fake_waha: FakeWaha) -> None:
        fake_waha.on(
            "GET", "/api/acct-7/lids/254000825925805%40lid", {"lid": "254000825925805@lid", "pn": CONTACT}
        )
        peer = await waha.resolve_lid("acct-7", "254000825925805@lid")
        assert (peer.chat_key, peer.e164, peer.lid) == (
            "4915112345678@s.whatsapp.net",
            "+4915112345678",
            "254000825925805@lid",
        )

    async def test_resolve_unknown_lid(self, waha: WahaTransport, fake_waha: FakeWaha) -> None:
        fake_waha.on("GET", "/api/acct-7/lids/11111111%40lid", {"lid": "11111111@lid", "pn": None})
        peer = await waha.resolve_lid("acct-7", "11111111:3@lid")
        assert (peer.chat_key, peer.e164, peer.lid) == ("11111111@lid", None, "11111111@lid")
        assert (await waha.resolve_lid("acct-7", "22222222@lid")).e164 is None  # 404

    async def test_lid_for_phone(self, waha: WahaTransport, fake_waha: FakeWaha) -> None:
        fake_waha.on(
            "GET", "/api/acct-7/lids/pn/4915112345678%40c.us", {"lid": "254000825925805@lid", "pn": CONTACT}
        )
        assert await waha.lid_for_phone("acct-7", "+4915112345678") == "254000825925805@lid"
        assert await waha.lid_for_phone("acct-7", "+4917612345678") is None

    async def test_check_number_uses_the_returned_chat_id(
        self, waha: WahaTransport, fake_waha: FakeWaha
    ) -> None:
        # A Brazilian number registered before the ninth digit: WhatsApp's id lacks it.
        fake_waha.on(
            "GET", "/api/contacts/check-exists", {"numberExists": True, "chatId": "551187654321@c.us"}
        )
        peer = await waha.check_number("acct-7", "+5511987654321")
        assert peer.chat_key == "551187654321@s.whatsapp.net"
        assert peer.e164 == "+5511987654321"
        params = fake_waha.last("GET", "/api/contacts/check-exists").url.params
        assert (params["phone"], params["session"]) == ("5511987654321", "acct-7")

    async def test_check_number_not_on_whatsapp(self, waha: WahaTransport, fake_waha: FakeWaha) -> None:
        fake_waha.on("GET", "/api/contacts/check-exists", {"numberExists": False, "chatId": None})
        with pytest.raises(NumberNotOnWhatsApp) as caught:
            await waha.check_number("acct-7", "+4915112345678")
        assert caught.value.reason == "number_not_on_whatsapp"

    async def test_gateway_down(self, waha: WahaTransport, fake_waha: FakeWaha) -> None:
        fake_waha.on_call(
            "GET", "/api/acct-7/chats", lambda _r: httpx.Response(503, text="<html>down</html>")
        )
        with pytest.raises(GatewayUnavailable) as caught:
            await waha.list_chats("acct-7")
        assert not caught.value.maybe_sent and caught.value.reason == "gateway_unavailable"

    async def test_non_json_answer(self, waha: WahaTransport, fake_waha: FakeWaha) -> None:
        fake_waha.on_call("GET", "/api/acct-7/chats", lambda _r: httpx.Response(200, text="<html>"))
        with pytest.raises(GatewayUnavailable) as caught:
            await waha.list_chats("acct-7")
        assert caught.value.reason == "gateway_bad_response"
