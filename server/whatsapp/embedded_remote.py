"""An embedded session that runs in another process, reached through a ``SessionRelay`` (on Redis:
``server.jobs.session_calls_redis``): ``RemoteClient`` is the caller's side of the session-bound calls,
``answer_call`` the side of the worker that runs the session. Both speak JSON: chat ids as text, bytes as
base64, whatsmeow's group info as its protobuf bytes."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any, Protocol

from server.domain.errors import InvalidInput, SessionDisconnected
from server.domain.text import Text
from server.domain.whatsapp import MediaKind, OutboundMedia, OutboundMessage
from server.whatsapp.embedded_client import SessionClient
from server.whatsapp.embedded_media import EmbeddedMedia, parse_locator


class SessionCalls(Protocol):
    """What the transport asks of a live session, here or in another worker."""

    async def send(self, to_jid: str, message: OutboundMessage) -> tuple[str, datetime | None]: ...

    async def on_whatsapp(self, phone_digits: str) -> str | None: ...

    async def group_info(self, group_jid: str) -> object: ...

    async def download(self, media: EmbeddedMedia) -> bytes: ...

    async def lid_for_phone(self, phone_jid: str) -> str | None: ...

    async def phone_for_lid(self, lid_jid: str) -> str | None: ...


class SessionRelay(Protocol):
    async def call(self, session: str, method: str, args: dict[str, Any]) -> dict[str, Any]: ...

    async def sent(self, session: str, client_ref: str) -> dict[str, Any] | None:
        """The answer the session's worker gave to the relayed send of ``client_ref``, if it made one."""
        ...


class RunningSessions(Protocol):
    def get(self, session_name: str) -> _Running | None: ...


class _Running(Protocol):
    @property
    def connected(self) -> bool: ...

    @property
    def client(self) -> SessionClient: ...


class RemoteClient:
    """The session-bound calls of ``SessionClient``, answered by the worker that runs the session."""

    def __init__(self, relay: SessionRelay, session: str) -> None:
        self._relay = relay
        self._session = session

    async def send(self, to_jid: str, message: OutboundMessage) -> tuple[str, datetime | None]:
        answer = await self._relay.call(
            self._session, "send", {"to": to_jid, "message": encode_message(message)}
        )
        return sent_of(answer)

    async def on_whatsapp(self, phone_digits: str) -> str | None:
        return _text(
            (await self._relay.call(self._session, "on_whatsapp", {"digits": phone_digits})).get("jid")
        )

    async def group_info(self, group_jid: str) -> object:
        from neonize.proto.Neonize_pb2 import GroupInfo

        answer = await self._relay.call(self._session, "group_info", {"jid": group_jid})
        return GroupInfo.FromString(base64.b64decode(str(answer["info"])))

    async def download(self, media: EmbeddedMedia) -> bytes:
        answer = await self._relay.call(self._session, "download", {"locator": media.locator})
        return base64.b64decode(str(answer["data"]))

    async def lid_for_phone(self, phone_jid: str) -> str | None:
        return _text((await self._relay.call(self._session, "lid_for_phone", {"jid": phone_jid})).get("jid"))

    async def phone_for_lid(self, lid_jid: str) -> str | None:
        return _text((await self._relay.call(self._session, "phone_for_lid", {"jid": lid_jid})).get("jid"))


async def answer_call(
    live: RunningSessions, session: str, method: str, args: dict[str, Any]
) -> dict[str, Any]:
    """Run a relayed call on the session this process runs; the named refusals of a local call."""
    running = live.get(session)
    if running is None:
        raise SessionDisconnected(Text("This number's WhatsApp session no longer runs here"))
    if not running.connected:
        raise SessionDisconnected(Text("This number is not connected to WhatsApp"))
    client = running.client
    if method == "send":
        wa_id, at = await client.send(str(args["to"]), decode_message(args["message"]))
        return {"id": wa_id, "at": at.isoformat() if at is not None else None}
    if method == "on_whatsapp":
        return {"jid": await client.on_whatsapp(str(args["digits"]))}
    if method == "group_info":
        info: Any = await client.group_info(str(args["jid"]))
        return {"info": base64.b64encode(info.SerializeToString()).decode()}
    if method == "download":
        data = await client.download(parse_locator(str(args["locator"])))
        return {"data": base64.b64encode(data).decode()}
    if method == "lid_for_phone":
        return {"jid": await client.lid_for_phone(str(args["jid"]))}
    if method == "phone_for_lid":
        return {"jid": await client.phone_for_lid(str(args["jid"]))}
    raise InvalidInput(Text("No session call %(method)s", method=method[:40]), reason="unknown_session_call")


def sent_of(answer: dict[str, Any]) -> tuple[str, datetime | None]:
    """A relayed send's answer: WhatsApp's message id and when it was accepted."""
    at = answer.get("at")
    return str(answer["id"]), datetime.fromisoformat(at) if isinstance(at, str) else None


def encode_message(message: OutboundMessage) -> dict[str, Any]:
    media = message.media
    return {
        "client_ref": message.client_ref,
        "to": message.to,
        "text": message.text,
        "reply_to": message.reply_to,
        "media": None
        if media is None
        else {
            "kind": media.kind.value,
            "mime": media.mime,
            "filename": media.filename,
            "data": base64.b64encode(media.data or b"").decode(),
        },
    }


def decode_message(value: Any) -> OutboundMessage:
    media = value.get("media")
    return OutboundMessage(
        client_ref=str(value["client_ref"]),
        to=str(value["to"]),
        text=_text(value.get("text")),
        reply_to=_text(value.get("reply_to")),
        media=None
        if media is None
        else OutboundMedia(
            kind=MediaKind(media["kind"]),
            mime=str(media["mime"]),
            filename=_text(media.get("filename")),
            data=base64.b64decode(str(media["data"])),
        ),
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
