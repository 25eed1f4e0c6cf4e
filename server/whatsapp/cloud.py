"""The WhatsApp Cloud API transport (Meta's official API for business numbers).

    cloud = CloudTransport(http, access_token=token, app_secret=secret, verify_token=verify)
    await cloud.send("1234567890", OutboundMessage(client_ref="outbox-42", to="+4915112345678", text="Hi"))

``account_id`` is the business phone number id. The Cloud API cannot list chats, read history, look up
LIDs or check numbers (``UnsupportedByTransport``; see ``capabilities``), and free-form messages fail
outside the 24-hour customer service window (``OutsideMessagingWindow``). Sends carry ``client_ref`` as
``biz_opaque_callback_data``, which Meta echoes on every status: that is how an interrupted send is
recognised (``StatusChanged.client_ref``), so ``find_sent`` has nothing to look up.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from server.domain.errors import (
    GatewayUnavailable,
    InvalidInput,
    MediaExpired,
    MediaOriginRefused,
    MediaTooLarge,
    NotFound,
    Permanent,
    UnsupportedByTransport,
)
from server.domain.jids import JidKind, parse_jid, wa_user_from_e164
from server.domain.whatsapp import (
    Capabilities,
    ChatSummary,
    GroupInfo,
    HistoryBatch,
    MediaKind,
    MediaRef,
    MessageOrigin,
    OutboundMedia,
    OutboundMessage,
    Peer,
    SendResult,
    SessionStatus,
    Template,
    TransportEvent,
)
from server.whatsapp.cloud_errors import graph_json
from server.whatsapp.cloud_webhook import parse_cloud_webhook, verify_subscription
from server.whatsapp.media_stream import DEFAULT_MAX_MEDIA_BYTES, stream_capped
from server.whatsapp.untrusted_input import JsonObject, get_int, get_list, get_str, objects_in

GRAPH_URL = "https://graph.facebook.com/v25.0"
MEDIA_HOSTS = frozenset({"lookaside.fbsbx.com"})
_PHONE_NUMBER_ID = re.compile(r"[0-9]{1,32}")
_CALLBACK_DATA_LIMIT = 512


class CloudTransport:
    """``WhatsAppTransport`` over the Graph API and Meta's signed webhooks."""

    kind = "cloud"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        access_token: str,
        app_secret: str,
        verify_token: str,
        graph_url: str = GRAPH_URL,
        media_hosts: Collection[str] = MEDIA_HOSTS,
        max_media_bytes: int = DEFAULT_MAX_MEDIA_BYTES,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        coexistence: bool = False,
        business_account_id: str = "",
    ) -> None:
        self.http = http
        self.business_account_id = business_account_id  # whose approved templates the numbers may send
        self.access_token = access_token
        self.app_secret = app_secret
        self.verify_token = verify_token
        self.graph_url = graph_url.rstrip("/")
        self.media_hosts = frozenset(media_hosts)
        self.max_media_bytes = max_media_bytes
        self.clock = clock
        self.capabilities = Capabilities(
            qr_pairing=False,
            pair_code=False,
            groups=False,
            history_sync=False,
            reads_own_phone_messages=coexistence,  # Business-app numbers echo what the owner types
            number_check=False,
            lid_resolution=False,
            window_24h=True,
            templates=True,
        )

    # ---- session (a Cloud number is always "connected" while the token and the number are valid) ----

    async def check_ready(self) -> None:
        """Nothing to check before linking: each number is checked against Meta when it is linked."""

    async def connect(self, account_id: str) -> SessionStatus:
        await self.me(account_id)
        return SessionStatus.CONNECTED

    async def status(self, account_id: str) -> SessionStatus:
        return await self.connect(account_id)

    async def pairing_qr(self, account_id: str) -> str | None:
        return None

    async def pairing_code(self, account_id: str, e164: str) -> str | None:
        return None

    async def disconnect(self, account_id: str, *, logout: bool = False) -> None:
        return None

    async def me(self, account_id: str) -> Peer | None:
        params = {"fields": "display_phone_number,verified_name"}
        info = await self._json("GET", _number(account_id), params=params)
        digits = "".join(
            ch for ch in get_str(info, "display_phone_number") or "" if ch.isascii() and ch.isdigit()
        )
        if not digits:
            return None
        jid = parse_jid(digits)
        return Peer(chat_key=jid.chat_key, e164=jid.e164, display_name=get_str(info, "verified_name"))

    # ---- sending --------------------------------------------------------------------------------------

    async def send(self, account_id: str, message: OutboundMessage) -> SendResult:
        number = _number(account_id)
        to = _recipient(message.to)
        body: dict[str, object] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "biz_opaque_callback_data": message.client_ref[:_CALLBACK_DATA_LIMIT],
        }
        if message.reply_to:
            body["context"] = {"message_id": message.reply_to}
        if message.template is not None:
            body["type"] = "template"
            body["template"] = _template(message.template)
        elif message.media is None:
            body["type"] = "text"
            body["text"] = {"body": message.text, "preview_url": False}
        else:
            kind, content = await self._media_content(number, message.media, message.text)
            body["type"] = kind
            body[kind] = content
        answer = await self._json("POST", f"{number}/messages", json=body, maybe_sent=True)
        wamid = next((get_str(m, "id") for m in objects_in(get_list(answer, "messages"))), None)
        if wamid is None:
            raise GatewayUnavailable(
                "The Cloud API accepted the message but returned no id",
                reason="gateway_bad_response",
                maybe_sent=True,
            )
        return SendResult(
            account_id=account_id,
            client_ref=message.client_ref,
            wa_message_id=wamid,
            chat_key=parse_jid(to).chat_key,
            accepted_at=self.clock(),
            transport_id=wamid,
        )

    async def upload_media(self, account_id: str, media: OutboundMedia) -> str:
        """``POST /{phone_number_id}/media`` → the media id to send (valid 30 days)."""
        if media.data is None:
            raise InvalidInput("Only media bytes can be uploaded", reason="invalid_outbound_message")
        files = {"file": (media.filename or "file", media.data, media.mime)}
        data = {"messaging_product": "whatsapp", "type": media.mime}
        answer = await self._json("POST", f"{_number(account_id)}/media", data=data, files=files)
        media_id = get_str(answer, "id")
        if media_id is None:
            raise GatewayUnavailable(
                "The Cloud API stored the media but returned no id", reason="gateway_bad_response"
            )
        return media_id

    async def _media_content(
        self, number: str, media: OutboundMedia, caption: str | None
    ) -> tuple[str, dict[str, object]]:
        content: dict[str, object] = (
            {"id": await self.upload_media(number, media)} if media.data is not None else {"link": media.url}
        )
        kind = "audio" if media.kind in (MediaKind.AUDIO, MediaKind.VOICE) else media.kind.value
        if media.kind is MediaKind.VOICE:
            content["voice"] = True
        if caption and kind in ("image", "video", "document"):
            content["caption"] = caption
        elif caption:
            raise InvalidInput("Audio and voice messages carry no caption", reason="invalid_outbound_message")
        if kind == "document" and media.filename:
            content["filename"] = media.filename
        return kind, content

    async def find_sent(
        self, account_id: str, message: OutboundMessage, *, since: datetime, exclude: Collection[str] = ()
    ) -> SendResult | None:
        """Always ``None``: statuses echo ``client_ref`` instead (see the module docstring)."""
        return None

    # ---- media ----------------------------------------------------------------------------------------

    async def fetch_media(self, account_id: str, media: MediaRef) -> AsyncIterator[bytes]:
        """Media id → short-lived URL (5 minutes) → bytes, with the bearer token; re-resolved once if the
        URL expired before the download started. The sha256 Meta reports is checked at the end."""
        if media.locator is None:
            raise MediaExpired("The Cloud API sent no media id for this message")
        for attempt in (1, 2):
            url, expected_sha = await self._media_url(account_id, media.locator)
            digest = hashlib.sha256()
            started = False
            try:
                async for chunk in stream_capped(
                    self.http,
                    url,
                    max_bytes=self.max_media_bytes,
                    headers=self._auth(),
                    follow_redirects=True,
                    what="Cloud API media",
                ):
                    started = True
                    digest.update(chunk)
                    yield chunk
            except MediaExpired:
                if started or attempt == 2:
                    raise
                continue
            _check_sha256(expected_sha or media.sha256, digest.digest())
            return

    async def _media_url(self, account_id: str, media_id: str) -> tuple[str, str | None]:
        if not re.fullmatch(r"[0-9A-Za-z_-]{1,64}", media_id):
            raise InvalidInput("Not a Cloud API media id", reason="invalid_media_id")
        try:
            info = await self._json("GET", media_id, params={"phone_number_id": _number(account_id)})
        except NotFound as error:
            raise MediaExpired("The Cloud API no longer has this media (ids expire after 7 days)") from error
        size = get_int(info, "file_size")
        if size is not None and size > self.max_media_bytes:
            raise MediaTooLarge(f"The media is {size} bytes; the limit is {self.max_media_bytes}")
        url = get_str(info, "url")
        if url is None:
            raise MediaExpired("The Cloud API returned no download URL for this media")
        parsed = httpx.URL(url)
        if parsed.scheme != "https" or parsed.host not in self.media_hosts or parsed.userinfo:
            raise MediaOriginRefused(f"Refusing to download Cloud API media from {parsed.host!r}")
        return url, get_str(info, "sha256")

    # ---- what WhatsApp Web can do and the Cloud API cannot ---------------------------------------------

    async def list_chats(
        self, account_id: str, *, limit: int = 100, offset: int = 0
    ) -> Sequence[ChatSummary]:
        raise UnsupportedByTransport("The Cloud API cannot list chats")

    async def history(
        self,
        account_id: str,
        chat_key: str | None,
        *,
        since: datetime | None,
        limit: int = 100,
        offset: int = 0,
        origin: MessageOrigin = MessageOrigin.CATCHUP,
    ) -> HistoryBatch:
        raise UnsupportedByTransport("The Cloud API cannot read chat history")

    async def group_info(self, account_id: str, group_key: str) -> GroupInfo:
        raise UnsupportedByTransport("The Cloud API does not read WhatsApp groups")

    async def resolve_lid(self, account_id: str, lid: str) -> Peer:
        raise UnsupportedByTransport("The Cloud API does not use LIDs")

    async def lid_for_phone(self, account_id: str, e164: str) -> str | None:
        raise UnsupportedByTransport("The Cloud API does not use LIDs")

    async def check_number(self, account_id: str, e164: str) -> Peer:
        raise UnsupportedByTransport("The Cloud API cannot check whether a number is on WhatsApp")

    # ---- webhooks -------------------------------------------------------------------------------------

    def parse_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> Sequence[TransportEvent]:
        return parse_cloud_webhook(headers, raw_body, app_secret=self.app_secret, received_at=self.clock())

    def verify_subscription(self, params: Mapping[str, str]) -> str:
        return verify_subscription(params, verify_token=self.verify_token)

    # ---- plumbing -------------------------------------------------------------------------------------

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    async def _json(self, method: str, path: str, *, maybe_sent: bool = False, **kwargs: Any) -> JsonObject:
        url = f"{self.graph_url}/{path}"
        return await graph_json(
            self.http,
            method,
            url,
            what=f"{method} {path}",
            maybe_sent=maybe_sent,
            headers=self._auth(),
            **kwargs,
        )


def _number(account_id: str) -> str:
    if not _PHONE_NUMBER_ID.fullmatch(account_id):
        raise InvalidInput(
            f"{account_id[:40]!r} is not a Cloud API phone number id", reason="invalid_account"
        )
    return account_id


def _recipient(to: str) -> str:
    """The ``to`` digits for a chat key, chat id or E.164 number; groups cannot be addressed."""
    if to.strip().startswith("+"):
        return wa_user_from_e164(to)
    jid = parse_jid(to)
    if jid.kind is not JidKind.PHONE:
        raise UnsupportedByTransport("The Cloud API sends only to phone numbers, not to groups or LIDs")
    return jid.user


def _template(template: Template) -> dict[str, object]:
    content: dict[str, object] = {"name": template.name, "language": {"code": template.language}}
    if template.body_parameters:
        parameters: list[dict[str, str]] = [
            {"type": "text", "text": value} for value in template.body_parameters
        ]
        for parameter, name in zip(parameters, template.parameter_names, strict=False):
            parameter["parameter_name"] = name
        content["components"] = [{"type": "body", "parameters": parameters}]
    return content


def _check_sha256(expected: str | None, raw: bytes) -> None:
    if not expected:
        return
    candidates = {raw.hex(), base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    if not any(hmac.compare_digest(expected.strip(), candidate) for candidate in candidates):
        raise Permanent("The downloaded media does not match its checksum", reason="media_corrupt")
