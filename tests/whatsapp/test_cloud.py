from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from server.domain.errors import (
    GatewayUnavailable,
    InvalidInput,
    MediaExpired,
    MediaOriginRefused,
    MediaTooLarge,
    OutsideMessagingWindow,
    Permanent,
    Transient,
    Unauthorized,
    UnsupportedByTransport,
)
from server.domain.ports.whatsapp import WhatsAppTransport
from server.domain.whatsapp import (
    MediaKind,
    MediaRef,
    OutboundMedia,
    OutboundMessage,
    SessionStatus,
    Template,
)
from server.whatsapp.cloud import CloudTransport
from tests.whatsapp.cloud_standin import PHONE_NUMBER_ID, TOKEN, CloudStandIn
from tests.whatsapp.conftest import NOW

CUSTOMER = "4915112345678"


@pytest.fixture
def standin() -> CloudStandIn:
    cloud = CloudStandIn(now=NOW)
    cloud.last_inbound[CUSTOMER] = NOW - timedelta(hours=2)
    return cloud


@pytest.fixture
async def cloud_http(standin: CloudStandIn) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(standin.handle)) as http:
        yield http


def make_cloud(http: httpx.AsyncClient, **overrides: object) -> CloudTransport:
    options: dict[str, object] = {
        "access_token": TOKEN,
        "app_secret": "app-secret",
        "verify_token": "verify-me",
        "clock": lambda: NOW,
        "max_media_bytes": 4096,
    }
    options.update(overrides)
    return CloudTransport(http, **options)  # type: ignore[arg-type]


@pytest.fixture
def cloud(cloud_http: httpx.AsyncClient) -> CloudTransport:
    return make_cloud(cloud_http)


def text(to: str = f"+{CUSTOMER}", body: str = "Hello Ana") -> OutboundMessage:
    return OutboundMessage(client_ref="outbox-9", to=to, text=body)


def test_satisfies_the_port(cloud: CloudTransport) -> None:
    transport: WhatsAppTransport = cloud
    assert transport.kind == "cloud"
    assert transport.capabilities.window_24h and transport.capabilities.templates
    assert not transport.capabilities.history_sync and not transport.capabilities.reads_own_phone_messages


async def test_session_operations(cloud: CloudTransport) -> None:
    assert await cloud.connect(PHONE_NUMBER_ID) is SessionStatus.CONNECTED
    assert await cloud.status(PHONE_NUMBER_ID) is SessionStatus.CONNECTED
    me = await cloud.me(PHONE_NUMBER_ID)
    assert me is not None and me.e164 == "+49301234567" and me.display_name == "Acme"
    assert await cloud.pairing_qr(PHONE_NUMBER_ID) is None
    assert await cloud.pairing_code(PHONE_NUMBER_ID, "+4930123456") is None
    await cloud.disconnect(PHONE_NUMBER_ID, logout=True)


async def test_a_bad_token_is_unauthorized(cloud_http: httpx.AsyncClient) -> None:
    with pytest.raises(Unauthorized):
        await make_cloud(cloud_http, access_token="expired").connect(PHONE_NUMBER_ID)


async def test_account_id_must_be_a_phone_number_id(cloud: CloudTransport) -> None:
    with pytest.raises(InvalidInput):
        await cloud.send("../me", text())


class TestSend:
    async def test_text_inside_the_window(self, cloud: CloudTransport, standin: CloudStandIn) -> None:
        result = await cloud.send(PHONE_NUMBER_ID, text())
        assert standin.sent == [
            {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": CUSTOMER,
                "biz_opaque_callback_data": "outbox-9",
                "type": "text",
                "text": {"body": "Hello Ana", "preview_url": False},
            }
        ]
        assert result.wa_message_id == "wamid.HBgL0001" and result.transport_id == result.wa_message_id
        assert result.chat_key == "4915112345678@s.whatsapp.net" and result.client_ref == "outbox-9"
        assert result.key == f"{PHONE_NUMBER_ID}/out/wamid.HBgL0001"

    async def test_reply_by_chat_key(self, cloud: CloudTransport, standin: CloudStandIn) -> None:
        message = OutboundMessage(client_ref="r", to="4915112345678@c.us", text="yes", reply_to="wamid.PREV")
        await cloud.send(PHONE_NUMBER_ID, message)
        assert standin.sent[0]["context"] == {"message_id": "wamid.PREV"}

    async def test_outside_the_24h_window(self, cloud: CloudTransport, standin: CloudStandIn) -> None:
        standin.last_inbound[CUSTOMER] = NOW - timedelta(hours=25)
        with pytest.raises(OutsideMessagingWindow) as caught:
            await cloud.send(PHONE_NUMBER_ID, text())
        assert caught.value.reason == "outside_24h_window"
        assert caught.value.message == "outside the 24-hour window: use a template"
        assert isinstance(caught.value.__cause__, httpx.HTTPStatusError)

    async def test_a_template_is_allowed_outside_the_window(
        self, cloud: CloudTransport, standin: CloudStandIn
    ) -> None:
        standin.last_inbound.clear()
        message = OutboundMessage(
            client_ref="r", to=f"+{CUSTOMER}", template=Template("follow_up", "de", ("Ana",))
        )
        await cloud.send(PHONE_NUMBER_ID, message)
        assert standin.sent[0]["template"] == {
            "name": "follow_up",
            "language": {"code": "de"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}],
        }

    async def test_media_is_uploaded_then_sent_by_id(
        self, cloud: CloudTransport, standin: CloudStandIn
    ) -> None:
        media = OutboundMedia(
            kind=MediaKind.DOCUMENT, mime="application/pdf", filename="offer.pdf", data=b"%PDF-1.7"
        )
        await cloud.send(
            PHONE_NUMBER_ID, OutboundMessage(client_ref="r", to=f"+{CUSTOMER}", text="offer", media=media)
        )
        (media_id,) = standin.media
        assert standin.media[media_id].data == b"%PDF-1.7" and standin.media[media_id].filename == "offer.pdf"
        assert standin.sent[0]["type"] == "document"
        assert standin.sent[0]["document"] == {"id": media_id, "caption": "offer", "filename": "offer.pdf"}

    async def test_voice_note(self, cloud: CloudTransport, standin: CloudStandIn) -> None:
        media = OutboundMedia(kind=MediaKind.VOICE, mime="audio/ogg", data=b"OggS")
        await cloud.send(PHONE_NUMBER_ID, OutboundMessage(client_ref="r", to=f"+{CUSTOMER}", media=media))
        assert standin.sent[0]["type"] == "audio"
        assert standin.sent[0]["audio"] == {"id": next(iter(standin.media)), "voice": True}

    async def test_image_by_link(self, cloud: CloudTransport, standin: CloudStandIn) -> None:
        media = OutboundMedia(kind=MediaKind.IMAGE, mime="image/jpeg", url="https://cdn.example/p.jpg")
        await cloud.send(
            PHONE_NUMBER_ID, OutboundMessage(client_ref="r", to=f"+{CUSTOMER}", text="pic", media=media)
        )
        assert standin.sent[0]["image"] == {"link": "https://cdn.example/p.jpg", "caption": "pic"}
        assert standin.media == {}

    async def test_groups_and_lids_cannot_be_addressed(self, cloud: CloudTransport) -> None:
        with pytest.raises(UnsupportedByTransport):
            await cloud.send(PHONE_NUMBER_ID, text(to="120363025246125486@g.us"))
        with pytest.raises(UnsupportedByTransport):
            await cloud.send(PHONE_NUMBER_ID, text(to="254000825925805@lid"))

    async def test_server_error_may_have_sent(self, cloud: CloudTransport, standin: CloudStandIn) -> None:
        standin.fail_next_send_with = 500
        with pytest.raises(GatewayUnavailable) as caught:
            await cloud.send(PHONE_NUMBER_ID, text())
        assert caught.value.maybe_sent
        assert await cloud.find_sent(PHONE_NUMBER_ID, text(), since=NOW) is None  # statuses carry client_ref

    async def test_rate_limit_is_transient(self, cloud_http: httpx.AsyncClient) -> None:
        def limited(_request: httpx.Request) -> httpx.Response:
            return httpx.Response(400, json={"error": {"message": "Rate limit hit", "code": 130429}})

        async with httpx.AsyncClient(transport=httpx.MockTransport(limited)) as http:
            with pytest.raises(Transient) as caught:
                await make_cloud(http).send(PHONE_NUMBER_ID, text())
        assert caught.value.reason == "rate_limited"
        assert caught.value.retry_after == 60.0


class TestMedia:
    async def fetch(self, cloud: CloudTransport, media_id: str | None, sha256: str | None = None) -> bytes:
        ref = MediaRef(kind=MediaKind.IMAGE, locator=media_id, sha256=sha256)
        return b"".join([chunk async for chunk in cloud.fetch_media(PHONE_NUMBER_ID, ref)])

    async def test_id_to_url_to_bytes_with_the_token(
        self, cloud: CloudTransport, standin: CloudStandIn
    ) -> None:
        media_id = standin.add_inbound_media(b"jpeg-bytes", "image/jpeg")
        assert await self.fetch(cloud, media_id) == b"jpeg-bytes"
        lookup, download = standin.requests
        assert lookup.url.params["phone_number_id"] == PHONE_NUMBER_ID
        assert download.url.host == "lookaside.fbsbx.com"
        assert download.headers["authorization"] == f"Bearer {TOKEN}"

    async def test_an_expired_url_is_resolved_again(
        self, cloud: CloudTransport, standin: CloudStandIn
    ) -> None:
        media_id = standin.add_inbound_media(b"jpeg-bytes", "image/jpeg")
        standin.expired_urls_to_issue = 1
        assert await self.fetch(cloud, media_id) == b"jpeg-bytes"
        assert len(standin.issued_urls) == 2

    async def test_urls_that_keep_expiring(self, cloud: CloudTransport, standin: CloudStandIn) -> None:
        media_id = standin.add_inbound_media(b"jpeg-bytes", "image/jpeg")
        standin.expired_urls_to_issue = 2
        with pytest.raises(MediaExpired):
            await self.fetch(cloud, media_id)

    async def test_unknown_media_id_has_expired(self, cloud: CloudTransport) -> None:
        with pytest.raises(MediaExpired):
            await self.fetch(cloud, "123456")
        with pytest.raises(MediaExpired):
            await self.fetch(cloud, None)

    async def test_size_cap(self, cloud: CloudTransport, standin: CloudStandIn) -> None:
        media_id = standin.add_inbound_media(b"x" * 5000, "image/jpeg")
        with pytest.raises(MediaTooLarge):
            await self.fetch(cloud, media_id)
        assert len(standin.requests) == 1  # refused from the reported file_size, before downloading

    async def test_checksum_mismatch(self, cloud: CloudTransport, standin: CloudStandIn) -> None:
        media_id = standin.add_inbound_media(b"jpeg-bytes", "image/jpeg")
        standin.wrong_checksums = True
        with pytest.raises(Permanent) as caught:
            await self.fetch(cloud, media_id)
        assert caught.value.reason == "media_corrupt"

    async def test_download_host_must_be_meta(
        self, cloud_http: httpx.AsyncClient, standin: CloudStandIn
    ) -> None:
        media_id = standin.add_inbound_media(b"jpeg-bytes", "image/jpeg")
        cloud = make_cloud(cloud_http, media_hosts={"media.example"})
        with pytest.raises(MediaOriginRefused):
            await self.fetch(cloud, media_id)

    @pytest.mark.parametrize(
        "base",
        [
            "http://lookaside.fbsbx.com",  # plain http: the token would travel in the clear
            "https://user:secret@lookaside.fbsbx.com",  # credentials in the URL
            "https://user@lookaside.fbsbx.com",
        ],
    )
    async def test_download_url_must_be_https_without_credentials(
        self, cloud: CloudTransport, standin: CloudStandIn, base: str
    ) -> None:
        media_id = standin.add_inbound_media(b"jpeg-bytes", "image/jpeg")
        standin.media_url_base = base
        with pytest.raises(MediaOriginRefused):
            await self.fetch(cloud, media_id)
        [lookup] = standin.requests  # nothing was downloaded, and the token went nowhere else
        assert lookup.url.host == "graph.facebook.com"


async def test_what_the_cloud_api_cannot_do(cloud: CloudTransport) -> None:
    for call in (
        cloud.list_chats(PHONE_NUMBER_ID),
        cloud.history(PHONE_NUMBER_ID, None, since=None),
        cloud.group_info(PHONE_NUMBER_ID, "120363025246125486@g.us"),
        cloud.resolve_lid(PHONE_NUMBER_ID, "254000825925805@lid"),
        cloud.lid_for_phone(PHONE_NUMBER_ID, "+4915112345678"),
        cloud.check_number(PHONE_NUMBER_ID, "+4915112345678"),
    ):
        with pytest.raises(UnsupportedByTransport) as caught:
            await call
        assert caught.value.reason == "not_supported_by_transport"
