"""The embedded transport's one contact with neonize: ``SessionClient`` is what a running session asks of
whatsmeow, and ``NeonizeClient`` answers it with neonize's ``NewAClient``. Everything WaPipe decides
(what to store, which status to show, when to try again) lives in ``server.whatsapp.embedded_connection``,
which tests run on a stand-in client; this module only turns those requests into neonize's calls and
neonize's failures into named ones.

whatsmeow keeps the session's keys in a SQLite file (its device store) at ``store_path``; the connection
restores that file from WaPipe's database before the client opens it and saves it back
(``server.whatsapp.embedded_device``).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol

from server.domain.whatsapp import MediaKind, OutboundMessage
from server.whatsapp.embedded_media import EmbeddedMedia
from server.whatsapp.embedded_proto import jid_spelling

EventHandler = Callable[[object], Awaitable[None]]
# The names of the neonize events a session listens to (their protobuf names, as the translators read them).
LISTENED = (
    "neonize.QR",
    "neonize.PairStatus",
    "neonize.Connected",
    "neonize.KeepAliveTimeout",
    "neonize.KeepAliveRestored",
    "neonize.LoggedOut",
    "neonize.StreamReplaced",
    "neonize.TemporaryBan",
    "neonize.ConnectFailure",
    "neonize.ClientOutdated",
    "neonize.Disconnected",
    "neonize.HistorySync",
    "neonize.Message",
    "neonize.Receipt",
    "neonize.JoinedGroup",
    "neonize.GroupInfoEvent",
)
# whatsmeow's words when the network, not the account, is the problem: DNS, refused or reset connections,
# timeouts, a proxy that does not answer.
_NETWORK = re.compile(
    r"dial|lookup|no such host|connection refused|connection reset|i/o timeout|network is unreachable|"
    r"proxy|websocket",
    re.IGNORECASE,
)


class Unreachable(Exception):
    """WhatsApp's servers could not be reached (whatsmeow's own words are the message)."""


class SessionFailed(Exception):
    """whatsmeow refused to run the session for another reason (its words are the message)."""


def failure_of(error: Exception) -> Exception:
    """A neonize failure as ``Unreachable`` when the network is the problem, else ``SessionFailed``."""
    words = str(error) or type(error).__name__
    return Unreachable(words) if _NETWORK.search(words) else SessionFailed(words)


class SessionClient(Protocol):
    """What a running session asks of whatsmeow."""

    def listen(self, handler: EventHandler) -> None:
        """Send every listened event (``LISTENED``) and every QR value to ``handler``, before ``run``."""
        ...

    async def run(self) -> None:
        """Connect and stay connected until ``disconnect``; ``Unreachable`` or ``SessionFailed`` when it
        cannot connect (whatsmeow reconnects by itself once it was connected)."""
        ...

    async def disconnect(self) -> None: ...

    async def logout(self) -> None: ...

    async def pair_phone(self, phone_digits: str) -> str:
        """The code to type on the phone (Linked devices → Link with phone number)."""
        ...

    def own_jid(self) -> str | None:
        """Our own chat id once WhatsApp told it."""
        ...

    async def send(self, to_jid: str, message: OutboundMessage) -> tuple[str, datetime | None]:
        """Upload any media, send; WhatsApp's message id and the time it gave."""
        ...

    async def on_whatsapp(self, phone_digits: str) -> str | None:
        """The chat id of a number on WhatsApp, ``None`` when it is not."""
        ...

    async def group_info(self, group_jid: str) -> object:
        """whatsmeow's ``GroupInfo`` of a group we are in."""
        ...

    async def download(self, media: EmbeddedMedia) -> bytes: ...

    async def lid_for_phone(self, phone_jid: str) -> str | None: ...

    async def phone_for_lid(self, lid_jid: str) -> str | None: ...


class NeonizeClient:
    """``SessionClient`` on neonize's ``NewAClient`` (imported only here, when a session starts)."""

    def __init__(self, store_path: str, *, proxy: str = "") -> None:
        from neonize.aioze.client import NewAClient

        self._client: Any = NewAClient(store_path)
        self._proxy = proxy

    def listen(self, handler: EventHandler) -> None:
        from neonize.events import EVENT_TO_INT
        from neonize.proto.Neonize_pb2 import QR

        async def forward(_client: object, event: object) -> None:
            await handler(event)

        async def qr_value(_client: object, data: bytes) -> None:
            await handler(QR(Codes=[data.decode(errors="replace")]))

        for event_type in EVENT_TO_INT:
            if event_type.DESCRIPTOR.full_name in LISTENED:
                self._client.event(event_type)(forward)
        self._client.qr(qr_value)

    async def run(self) -> None:
        from neonize._binder import ProxySettings

        proxy = ProxySettings(proxy_address=self._proxy) if self._proxy else None
        try:
            task = await self._client.connect(proxy)
            await task
        except Exception as error:
            raise failure_of(error) from error

    async def disconnect(self) -> None:
        await self._client.disconnect()
        await self._client.stop()

    async def logout(self) -> None:
        await self._client.logout()

    async def pair_phone(self, phone_digits: str) -> str:
        return str(await self._client.PairPhone(phone_digits, True))

    def own_jid(self) -> str | None:
        device = self._client.me
        return jid_spelling(getattr(device, "JID", None)) if device is not None else None

    async def send(self, to_jid: str, message: OutboundMessage) -> tuple[str, datetime | None]:
        to = _jid(to_jid)
        content: Any = message.text or ""
        media = message.media
        if media is not None and media.data is not None:
            content = await self._media_message(
                media.kind, media.data, media.mime, media.filename, message.text
            )
        response = await self._client.send_message(to, content)
        timestamp = getattr(response, "Timestamp", None)
        sent_at = datetime.fromtimestamp(timestamp) if isinstance(timestamp, int) and timestamp > 0 else None
        return str(response.ID), sent_at

    async def _media_message(
        self, kind: MediaKind, data: bytes, mime: str, filename: str | None, caption: str | None
    ) -> object:
        if kind is MediaKind.IMAGE:
            return await self._client.build_image_message(data, caption=caption)
        if kind is MediaKind.VIDEO:
            return await self._client.build_video_message(data, caption=caption)
        if kind in (MediaKind.AUDIO, MediaKind.VOICE):
            return await self._client.build_audio_message(data, ptt=kind is MediaKind.VOICE)
        return await self._client.build_document_message(
            data, caption=caption, title=filename, filename=filename, mimetype=mime
        )

    async def on_whatsapp(self, phone_digits: str) -> str | None:
        found = await self._client.is_on_whatsapp(phone_digits)
        for answer in found:
            if getattr(answer, "IsIn", False):
                return jid_spelling(getattr(answer, "JID", None))
        return None

    async def group_info(self, group_jid: str) -> object:
        return await self._client.get_group_info(_jid(group_jid))

    async def download(self, media: EmbeddedMedia) -> bytes:
        from neonize.utils.enum import MediaType, MediaTypeToMMS

        kinds = {
            "image": (MediaType.MediaImage, MediaTypeToMMS.MediaImage),
            "video": (MediaType.MediaVideo, MediaTypeToMMS.MediaVideo),
            "audio": (MediaType.MediaAudio, MediaTypeToMMS.MediaAudio),
            "document": (MediaType.MediaDocument, MediaTypeToMMS.MediaDocument),
            "sticker": (MediaType.MediaImage, MediaTypeToMMS.MediaImage),
        }
        media_type, mms_type = kinds[media.media_type]
        data = await self._client.download_media_with_path(
            media.direct_path,
            media.file_enc_sha256 or b"",
            media.file_sha256 or b"",
            media.media_key,
            media.file_length or 0,
            media_type,
            mms_type,
        )
        return bytes(data)

    async def lid_for_phone(self, phone_jid: str) -> str | None:
        return jid_spelling(await self._client.get_lid_from_pn(_jid(phone_jid)))

    async def phone_for_lid(self, lid_jid: str) -> str | None:
        return jid_spelling(await self._client.get_pn_from_lid(_jid(lid_jid)))


def _jid(spelling: str) -> object:
    from neonize.proto.Neonize_pb2 import JID

    user, _, server = spelling.partition("@")
    return JID(User=user, Server=server, Device=0, RawAgent=0, Integrator=0, IsEmpty=False)
