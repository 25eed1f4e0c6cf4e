"""The WAHA transport: WhatsApp-Web sessions (linked devices) through a self-hosted WAHA gateway.

    http = httpx.AsyncClient(base_url=settings.waha_url, headers={"X-Api-Key": key}, timeout=30)
    waha = WahaTransport(http, webhook_url="https://wapipe.example/webhooks/waha", hmac_key=hmac_key)
    await waha.connect("acct-7")           # account_id is the WAHA session name

The ``httpx.AsyncClient`` (base URL, API key header, timeouts) belongs to the caller and is shared.

This module holds the sessions (pairing, status), sending and media; the requests themselves are in
``waha_http``, history and chat reads in ``waha_history``, group and number lookups in ``waha_lookups``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta

import httpx

from server.domain.errors import (
    ConfigurationError,
    GatewayUnavailable,
    MediaExpired,
    MediaTooLarge,
    NotFound,
    Permanent,
)
from server.domain.jids import legacy_chat_id, wa_user_from_e164
from server.domain.whatsapp import (
    Capabilities,
    ChatSummary,
    GroupInfo,
    HistoryBatch,
    MediaRef,
    MessageOrigin,
    OutboundMessage,
    Peer,
    SendResult,
    SessionStatus,
    TransportEvent,
)
from server.whatsapp.media_stream import DEFAULT_MAX_MEDIA_BYTES, gateway_file_url, stream_capped
from server.whatsapp.untrusted_input import as_object, get_str
from server.whatsapp.waha_errors import waha_error
from server.whatsapp.waha_history import find_sent, read_chats, read_messages
from server.whatsapp.waha_http import request_json, segment, session_name
from server.whatsapp.waha_lookups import check_number, lid_for_phone, read_group, resolve_lid
from server.whatsapp.waha_payloads import parse_me, session_status
from server.whatsapp.waha_send import build_send_request, send_result
from server.whatsapp.waha_server import WahaServer, read_server, server_problem
from server.whatsapp.waha_webhook import (
    RETRY_ATTEMPTS,
    RETRY_DELAY_SECONDS,
    RETRY_POLICY,
    parse_waha_webhook,
    retry_horizon,
)

WEBHOOK_EVENTS = (  # not "message": it would arrive twice
    "message.any",
    "message.ack",
    "message.edited",
    "message.revoked",
    "message.reaction",
    "session.status",
    "call.received",
    "call.accepted",
    "call.rejected",
    "poll.vote",
)

WAHA_CAPABILITIES = Capabilities(
    qr_pairing=True,
    pair_code=True,
    groups=True,
    history_sync=True,
    reads_own_phone_messages=True,
    number_check=True,
    lid_resolution=True,
    window_24h=False,
    templates=False,
)


class WahaTransport:
    """``WhatsAppTransport`` over WAHA's REST API and signed webhooks."""

    kind = "waha"
    capabilities = WAHA_CAPABILITIES

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        webhook_url: str,
        hmac_key: str,
        webhook_events: Sequence[str] = WEBHOOK_EVENTS,
        webhook_attempts: int = RETRY_ATTEMPTS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_media_bytes: int = DEFAULT_MAX_MEDIA_BYTES,
        webhook_horizon: timedelta | None = None,
    ) -> None:
        if not http.base_url.scheme or not http.base_url.host:
            raise ConfigurationError("The WAHA client needs an absolute base URL (WAPIPE_WAHA_URL)")
        if not hmac_key:
            raise ConfigurationError("WAHA webhooks must be signed: set WAPIPE_WAHA_WEBHOOK_HMAC_KEY")
        self.http = http
        self.webhook_url = webhook_url
        self.hmac_key = hmac_key
        self.webhook_events = tuple(webhook_events)
        self.webhook_attempts = webhook_attempts
        self.clock = clock
        self.max_media_bytes = max_media_bytes
        # How old a signed delivery's event may be: by default as long as WAHA retries it.
        self.webhook_horizon = retry_horizon(webhook_attempts) if webhook_horizon is None else webhook_horizon

    # ---- sessions -----------------------------------------------------------------------------------

    def session_config(self, account_id: str) -> dict[str, object]:
        """``config`` for ``POST/PUT /api/sessions``: our signed webhook with retries, and our account id."""
        return {
            "webhooks": [
                {
                    "url": self.webhook_url,
                    "events": list(self.webhook_events),
                    "hmac": {"key": self.hmac_key},
                    "retries": {
                        "policy": RETRY_POLICY,
                        "delaySeconds": RETRY_DELAY_SECONDS,
                        "attempts": self.webhook_attempts,
                    },
                    "customHeaders": [],
                }
            ],
            "metadata": {"wapipe.account": account_id},
            # NOWEB keeps chats and history only with its store on; other engines ignore this.
            "noweb": {"markOnline": True, "store": {"enabled": True, "fullSync": False}},
        }

    async def server(self) -> WahaServer:
        """The WAHA server's version, engine and tier."""
        return read_server(await self._json("GET", "/api/server/version"))

    async def check_server(self) -> WahaServer:
        """The server, or the named ``ConfigurationError`` saying why WaPipe cannot work with it."""
        server = await self.server()
        problem = server_problem(server)
        if problem is not None:
            raise problem
        return server

    async def check_ready(self) -> None:
        await self.check_server()

    async def connect(self, account_id: str) -> SessionStatus:
        session = session_name(account_id)
        try:
            info = await self._json("GET", f"/api/sessions/{segment(session)}")
        except NotFound:
            await self.check_server()
            body = {"name": session, "start": True, "config": self.session_config(account_id)}
            try:
                created = await self._json("POST", "/api/sessions", json=body)
                return session_status(get_str(as_object(created), "status") or "STARTING")
            except Permanent as error:
                if error.reason != "gateway_rejected":
                    raise
                refused = error  # or created meanwhile by another worker: then it exists now
            try:
                info = await self._json("GET", f"/api/sessions/{segment(session)}")
            except NotFound:
                raise refused from None
        status = get_str(as_object(info), "status")
        if status in ("STOPPED", "FAILED"):
            started = await self._json("POST", f"/api/sessions/{segment(session)}/start")
            status = get_str(as_object(started), "status") or "STARTING"
        return session_status(status)

    async def update_config(self, account_id: str) -> None:
        """Rewrite the session's webhook config (after a key or URL change). WAHA restarts the session."""
        session = session_name(account_id)
        body = {"name": session, "config": self.session_config(account_id)}
        await self._json("PUT", f"/api/sessions/{segment(session)}", json=body)

    async def status(self, account_id: str) -> SessionStatus:
        try:
            info = await self._json("GET", f"/api/sessions/{segment(session_name(account_id))}")
        except NotFound:
            return SessionStatus.STOPPED
        return session_status(get_str(as_object(info), "status"))

    async def pairing_qr(self, account_id: str) -> str | None:
        answer = await self._json(
            "GET",
            f"/api/{segment(session_name(account_id))}/auth/qr",
            params={"format": "raw"},
            headers={"Accept": "application/json"},
        )
        return get_str(as_object(answer), "value")

    async def pairing_qr_image(self, account_id: str) -> bytes | None:
        """The QR code as WAHA renders it (PNG), to show as is; ``None`` when there is none to scan."""
        try:
            response = await self.http.get(
                f"/api/{segment(session_name(account_id))}/auth/qr", headers={"Accept": "image/png"}
            )
        except httpx.HTTPError as error:
            raise waha_error(error) from error
        if response.status_code in (400, 404, 422):
            return None
        if not response.is_success:
            raise waha_error(response)
        if not response.headers.get("content-type", "").startswith("image/png"):
            return None
        return response.content

    async def pairing_code(self, account_id: str, e164: str) -> str | None:
        body = {"phoneNumber": wa_user_from_e164(e164)}
        path = f"/api/{segment(session_name(account_id))}/auth/request-code"
        answer = await self._json("POST", path, json=body)
        return get_str(as_object(answer), "code")

    async def disconnect(self, account_id: str, *, logout: bool = False) -> None:
        action = "logout" if logout else "stop"
        await self._json("POST", f"/api/sessions/{segment(session_name(account_id))}/{action}")

    async def me(self, account_id: str) -> Peer | None:
        return parse_me(await self._json("GET", f"/api/sessions/{segment(session_name(account_id))}/me"))

    # ---- messages -----------------------------------------------------------------------------------

    async def send(self, account_id: str, message: OutboundMessage) -> SendResult:
        path, body = build_send_request(session_name(account_id), message)
        answer = await self._json("POST", path, json=body, maybe_sent=True)
        result = send_result(answer, account_id=account_id, message=message, at=self.clock())
        if result is None:
            raise GatewayUnavailable(
                "WAHA accepted the message but returned no message id",
                reason="gateway_bad_response",
                maybe_sent=True,
            )
        return result

    async def find_sent(
        self, account_id: str, message: OutboundMessage, *, since: datetime, exclude: Collection[str] = ()
    ) -> SendResult | None:
        """The oldest own message in the chat since ``since`` that matches ``message`` and is not in
        ``exclude``; see ``waha_history.find_sent``."""
        return await find_sent(self.http, account_id, message, since=since, exclude=exclude)

    async def fetch_media(self, account_id: str, media: MediaRef) -> AsyncIterator[bytes]:
        """Stream a file from the gateway's ``/api/files/…``; any other origin or path is refused (no SSRF,
        and the API key reaches no other endpoint)."""
        if media.locator is None:
            raise MediaExpired("The gateway kept no file for this media (download disabled or failed)")
        if media.size is not None and media.size > self.max_media_bytes:
            raise MediaTooLarge(f"The media is {media.size} bytes; the limit is {self.max_media_bytes}")
        url = gateway_file_url(media.locator, self.http.base_url)
        async for chunk in stream_capped(self.http, url, max_bytes=self.max_media_bytes, what="media file"):
            yield chunk

    # ---- chats, history, groups, identities -----------------------------------------------------------

    async def list_chats(
        self, account_id: str, *, limit: int = 100, offset: int = 0
    ) -> Sequence[ChatSummary]:
        return await read_chats(self.http, account_id, limit=limit, offset=offset)

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
        chat_id = legacy_chat_id(chat_key) if chat_key is not None else "all"
        return await read_messages(
            self.http,
            account_id,
            chat_id,
            since=since,
            limit=limit,
            offset=offset,
            origin=origin,
            extra={"downloadMedia": "true"},
        )

    async def group_info(self, account_id: str, group_key: str) -> GroupInfo:
        return await read_group(self.http, account_id, group_key)

    async def resolve_lid(self, account_id: str, lid: str) -> Peer:
        return await resolve_lid(self.http, account_id, lid)

    async def lid_for_phone(self, account_id: str, e164: str) -> str | None:
        return await lid_for_phone(self.http, account_id, e164)

    async def check_number(self, account_id: str, e164: str) -> Peer:
        return await check_number(self.http, account_id, e164)

    # ---- webhooks -----------------------------------------------------------------------------------

    def parse_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> Sequence[TransportEvent]:
        return parse_waha_webhook(
            headers, raw_body, hmac_key=self.hmac_key, clock=self.clock, horizon=self.webhook_horizon
        )

    # ---- plumbing -----------------------------------------------------------------------------------

    async def _json(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        maybe_sent: bool = False,
    ) -> object:
        return await request_json(
            self.http, method, path, json=json, params=params, headers=headers, maybe_sent=maybe_sent
        )
