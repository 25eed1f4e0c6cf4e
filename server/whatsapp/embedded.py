"""``WhatsAppTransport`` for WhatsApp Web sessions that run inside WaPipe (``WAPIPE_WHATSAPP=embedded``).

Each linked number's session runs in the one worker that holds its lease (``server.jobs.session_host``,
``server.whatsapp.embedded_connection``). This transport is the same object in every process, and answers
from what every process shares or from the session when it runs here:

- linking (``connect``, ``status``, ``pairing_qr``, ``pairing_code``, ``disconnect``) goes through the
  session's row in the database (``server.storage.embedded_sessions``): the web process asks, the
  worker that runs the session does it and writes the answer back;
- what needs the live session (``send``, ``fetch_media``, ``check_number``, ``group_info``, LIDs) is done by
  the session when this process runs it (``LiveSessions``), else relayed to the worker that runs it
  (``server.whatsapp.embedded_remote``, on Redis); without a relay (no Redis: one process runs every
  session) a call for a session not running here fails with the transient ``session_elsewhere``;
- history is not read on demand: whatsmeow brings the history on link and what was missed on reconnect as
  events of their own, so catch-up has nothing to ask (``history_sync`` is off).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from server.domain.clock import Clock
from server.domain.errors import (
    GatewayUnavailable,
    InvalidInput,
    MediaTooLarge,
    NumberNotOnWhatsApp,
    Permanent,
    SessionDisconnected,
    Transient,
    WaPipeError,
)
from server.domain.jids import JidKind, jid_or_none, parse_jid
from server.domain.text import Text
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
from server.whatsapp.embedded_bodies import events_from_embedded_body
from server.whatsapp.embedded_connection import EmbeddedConnection, SessionCodesView
from server.whatsapp.embedded_groups import group_info_of
from server.whatsapp.embedded_media import parse_locator
from server.whatsapp.embedded_remote import RemoteClient, SessionCalls, SessionRelay, sent_of
from server.whatsapp.qr import qr_png
from server.whatsapp.waha_payloads import peer_for

T = TypeVar("T")
EMBEDDED_CAPABILITIES = Capabilities(
    qr_pairing=True,
    pair_code=True,
    groups=True,
    history_sync=False,
    reads_own_phone_messages=True,
    number_check=True,
    lid_resolution=True,
    window_24h=False,
    templates=False,
)
MAX_MEDIA_BYTES = 100 * 1024 * 1024
CODE_REUSED_FOR = timedelta(seconds=20)  # a pairing code this fresh is shown again, not replaced
CODE_AWAITED_FOR = timedelta(seconds=30)  # how long an asked pairing code may take before it is asked again
CHUNK = 64 * 1024


class SessionRows(Protocol):
    """The sessions' shared rows (``server.storage.embedded_sessions.SqlEmbeddedSessions``)."""

    async def register(self, session_name: str) -> None: ...

    async def status(self, session_name: str) -> tuple[str, str] | None: ...

    async def codes(self, session_name: str) -> SessionCodesView: ...

    async def ask_pairing_code(self, session_name: str, phone_digits: str) -> None: ...

    async def ask_logout(self, session_name: str) -> None: ...


class LiveSessions:
    """The embedded sessions running in this process, by session name (the session host adds and removes
    them as it starts and stops their connections)."""

    def __init__(self) -> None:
        self._running: dict[str, EmbeddedConnection] = {}

    def add(self, connection: EmbeddedConnection) -> None:
        self._running[connection.session_name] = connection

    def remove(self, connection: EmbeddedConnection) -> None:
        if self._running.get(connection.session_name) is connection:
            del self._running[connection.session_name]

    def get(self, session_name: str) -> EmbeddedConnection | None:
        return self._running.get(session_name)

    def names(self) -> list[str]:
        return list(self._running)


class EmbeddedTransport:
    kind = "embedded"
    capabilities = EMBEDDED_CAPABILITIES

    def __init__(
        self, rows: SessionRows, live: LiveSessions, clock: Clock, *, relay: SessionRelay | None = None
    ) -> None:
        self._rows = rows
        self.live = live
        self._clock = clock
        self._relay = relay  # reaches sessions that run in another worker (with Redis)

    async def check_ready(self) -> None:
        return None  # nothing outside WaPipe to set up

    async def connect(self, account_id: str) -> SessionStatus:
        await self._rows.register(account_id)
        return await self.status(account_id)

    async def status(self, account_id: str) -> SessionStatus:
        stored = await self._rows.status(account_id)
        if stored is None:
            return SessionStatus.STOPPED
        try:
            status = SessionStatus(stored[0])
        except ValueError:
            return SessionStatus.STOPPED  # unlinked: not a session status
        return SessionStatus.STARTING if status is SessionStatus.STOPPED else status

    async def pairing_qr(self, account_id: str) -> str | None:
        return (await self._rows.codes(account_id)).qr or None

    async def pairing_qr_image(self, account_id: str) -> bytes | None:
        """The QR code to scan, drawn from the value the session's worker stored (``None``: none yet)."""
        value = await self.pairing_qr(account_id)
        return qr_png(value) if value else None

    async def pairing_code(self, account_id: str, e164: str) -> str | None:
        """The code once the session's worker got it from WhatsApp; ``None`` until then (ask again with
        the same number). A code got in the last ``CODE_REUSED_FOR`` is the answer (a form sent twice);
        an older one, or an ask nobody answered within ``CODE_AWAITED_FOR``, is asked for again."""
        digits = e164.lstrip("+")
        if not digits.isdigit():
            raise InvalidInput(
                Text("%(number)s is not a phone number", number=e164[:40]), reason="invalid_phone"
            )
        codes = await self._rows.codes(account_id)
        if codes.pairing_phone == digits and codes.pairing_at is not None:
            age = self._clock.now() - codes.pairing_at
            if codes.pairing_code and age <= CODE_REUSED_FOR:
                return codes.pairing_code
            if not codes.pairing_code and age <= CODE_AWAITED_FOR:
                return None  # on its way
        await self._rows.ask_pairing_code(account_id, digits)
        return None

    async def disconnect(self, account_id: str, *, logout: bool = False) -> None:
        """A logout is done by the session's worker before it stops the session (its number is no longer
        watched once unlinked)."""
        if logout:
            await self._rows.ask_logout(account_id)

    async def me(self, account_id: str) -> Peer | None:
        connection = self.live.get(account_id)
        own = connection.client.own_jid() if connection is not None else None
        jid = jid_or_none(own)
        return peer_for(jid) if jid is not None else None

    async def send(self, account_id: str, message: OutboundMessage) -> SendResult:
        session = self._session(account_id)
        chat = parse_jid(message.to)
        if message.template is not None:
            raise InvalidInput(
                Text("WhatsApp Web numbers cannot send Cloud API templates"), reason="unsupported"
            )
        if message.media is not None and message.media.data is None:
            raise InvalidInput(
                Text("The embedded transport sends media from its bytes"), reason="unsupported"
            )
        try:
            wa_id, accepted = await session.send(chat.chat_key, message)
        except (Permanent, InvalidInput):
            raise  # refused before anything was sent (not connected, not running any more)
        except Transient as error:  # the session's worker did not answer in time: it may have sent it
            raise GatewayUnavailable(error.message, reason=error.reason, maybe_sent=True) from error
        except Exception as error:
            raise GatewayUnavailable(
                Text("WhatsApp did not confirm the message: %(error)s", error=str(error)[:200]),
                maybe_sent=True,
            ) from error
        return self._result(account_id, message, wa_id, accepted)

    def _result(
        self, account_id: str, message: OutboundMessage, wa_id: str, accepted: datetime | None
    ) -> SendResult:
        return SendResult(
            account_id=account_id,
            client_ref=message.client_ref,
            wa_message_id=wa_id,
            chat_key=parse_jid(message.to).chat_key,
            accepted_at=accepted or self._clock.now(),
            transport_id=wa_id,
        )

    async def find_sent(
        self, account_id: str, message: OutboundMessage, *, since: datetime
    ) -> SendResult | None:
        """A send relayed to the session's worker is recorded there before its answer goes, so one whose
        answer was lost is found. whatsmeow cannot be asked what it sent otherwise: a send cut off inside
        the session's own process (the worker killed as it sent) is not found, and is sent again."""
        if self._relay is None:
            return None
        answer = await self._relay.sent(account_id, message.client_ref)
        if answer is None:
            return None
        wa_id, accepted = sent_of(answer)
        return self._result(account_id, message, wa_id, accepted)

    async def fetch_media(self, account_id: str, media: MediaRef) -> AsyncIterator[bytes]:
        session = self._session(account_id)
        if media.locator is None:
            raise InvalidInput(Text("This media has no file to fetch"), reason="invalid_media_locator")
        if media.size is not None and media.size > MAX_MEDIA_BYTES:
            raise MediaTooLarge(Text("The file is larger than WaPipe keeps"))
        try:
            data = await session.download(parse_locator(media.locator))
        except WaPipeError:
            raise
        except Exception as error:
            raise GatewayUnavailable(
                Text("The file could not be downloaded from WhatsApp: %(error)s", error=str(error)[:200])
            ) from error
        for start in range(0, len(data), CHUNK):
            yield data[start : start + CHUNK]

    async def list_chats(
        self, account_id: str, *, limit: int = 100, offset: int = 0
    ) -> Sequence[ChatSummary]:
        return ()

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
        return HistoryBatch(account_id=account_id, chat_key=chat_key, messages=())

    async def group_info(self, account_id: str, group_key: str) -> GroupInfo:
        info = await self._call(self._session(account_id).group_info(group_key))
        return group_info_of(info, account_id=account_id)

    async def resolve_lid(self, account_id: str, lid: str) -> Peer:
        phone = jid_or_none(await self._call(self._session(account_id).phone_for_lid(lid)))
        lid_jid = parse_jid(lid)
        return peer_for(lid_jid, alt=phone)

    async def lid_for_phone(self, account_id: str, e164: str) -> str | None:
        phone = parse_jid(e164)
        lid = jid_or_none(await self._call(self._session(account_id).lid_for_phone(phone.chat_key)))
        return lid.chat_key if lid is not None and lid.kind is JidKind.LID else None

    async def check_number(self, account_id: str, e164: str) -> Peer:
        found = jid_or_none(await self._call(self._session(account_id).on_whatsapp(e164.lstrip("+"))))
        if found is None:
            raise NumberNotOnWhatsApp(Text("%(number)s is not on WhatsApp", number=e164))
        return peer_for(found)

    def parse_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> Sequence[TransportEvent]:
        return events_from_embedded_body(raw_body, received_at=self._clock.now())

    def _session(self, account_id: str) -> SessionCalls:
        """The session's calls: here when this process runs it, else through the relay to its worker."""
        connection = self.live.get(account_id)
        if connection is None:
            if self._relay is not None:
                return RemoteClient(self._relay, account_id)
            raise GatewayUnavailable(
                Text("This number's WhatsApp session runs in another worker"), reason="session_elsewhere"
            )
        if not connection.connected:
            raise SessionDisconnected(Text("This number is not connected to WhatsApp"))
        return connection.client

    @staticmethod
    async def _call(call: Awaitable[T]) -> T:
        try:
            return await call
        except WaPipeError:
            raise
        except Exception as error:
            raise GatewayUnavailable(
                Text("WhatsApp did not answer: %(error)s", error=str(error)[:200])
            ) from error
