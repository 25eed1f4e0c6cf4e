"""Ports on the WhatsApp side: a transport that reaches WhatsApp for connected numbers (``server.whatsapp``).

The values that cross it are in ``server.domain.whatsapp``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Protocol

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


class WhatsAppTransport(Protocol):
    """A way to reach WhatsApp for connected numbers (``account_id``: the WAHA session name, or the Cloud
    API phone number id).

    Errors are the domain's: ``SessionDisconnected``, ``NumberNotOnWhatsApp``, ``MediaExpired``,
    ``MediaTooLarge``, ``MediaOriginRefused``, ``OutsideMessagingWindow``, ``UnsupportedByTransport``
    (check ``capabilities`` first), ``GatewayUnavailable`` (transient; ``maybe_sent`` after a send),
    ``BadSignature`` / ``StaleWebhook`` / ``MalformedWebhook`` from ``parse_webhook``.

    Sending is at-least-once on the wire and exactly-once in the outbox: see ``server.domain.send_echoes``.
    """

    @property
    def kind(self) -> str: ...  # "waha" | "cloud"

    @property
    def capabilities(self) -> Capabilities: ...

    async def check_ready(self) -> None:
        """Raise a named ``ConfigurationError`` when numbers cannot be linked through this transport as it
        is set up (a WAHA too old or on an engine WaPipe cannot catch up on), saying what to change."""
        ...

    async def connect(self, account_id: str) -> SessionStatus:
        """Create/start the session if needed (idempotent) and report where it stands."""
        ...

    async def status(self, account_id: str) -> SessionStatus: ...

    async def pairing_qr(self, account_id: str) -> str | None:
        """The raw QR string to render, or ``None`` when the transport does not pair by QR."""
        ...

    async def pairing_code(self, account_id: str, e164: str) -> str | None:
        """The code to type on the phone (Linked devices → Link with phone number)."""
        ...

    async def disconnect(self, account_id: str, *, logout: bool = False) -> None: ...

    async def me(self, account_id: str) -> Peer | None:
        """Our own number on this session, when connected."""
        ...

    async def send(self, account_id: str, message: OutboundMessage) -> SendResult: ...

    async def find_sent(
        self, account_id: str, message: OutboundMessage, *, since: datetime
    ) -> SendResult | None:
        """After a send failed with ``maybe_sent``: the message if it did go out, else ``None``."""
        ...

    def fetch_media(self, account_id: str, media: MediaRef) -> AsyncIterator[bytes]:
        """Stream a received file in chunks (size-capped). Fetch at once: gateway files expire."""
        ...

    async def list_chats(
        self, account_id: str, *, limit: int = 100, offset: int = 0
    ) -> Sequence[ChatSummary]: ...

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
        """Messages since ``since`` (all chats when ``chat_key`` is ``None``), one page."""
        ...

    async def group_info(self, account_id: str, group_key: str) -> GroupInfo: ...

    async def resolve_lid(self, account_id: str, lid: str) -> Peer:
        """The peer for a LID, with ``e164`` when the mapping is known (else ``None``)."""
        ...

    async def lid_for_phone(self, account_id: str, e164: str) -> str | None: ...

    async def check_number(self, account_id: str, e164: str) -> Peer:
        """The chat to use for a number (WhatsApp's spelling may differ); ``NumberNotOnWhatsApp`` if none."""
        ...

    def parse_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> Sequence[TransportEvent]:
        """Verify and parse one webhook delivery. Pure: no I/O. Raises only the named webhook errors."""
        ...
