"""WAHA's call events → one logged line per call. Pure.

``call.received`` (the phone rings), ``call.accepted`` and ``call.rejected`` carry ``CallData``: ``{id,
from, timestamp, isVideo, isGroup}``. Each becomes a message of the caller's chat keyed by the call's id,
so the three events of one call are one line: missed until an ``call.accepted`` says it was answered
(``server.storage.call_lines`` keeps the answered one whatever order they arrive in). WAHA reports no
duration, and nothing for calls the salesperson makes from the phone.
"""

from __future__ import annotations

from datetime import datetime

from server.domain.errors import InvalidChatId, MalformedWebhook
from server.domain.jids import JidKind, parse_jid
from server.domain.message_kinds import Call
from server.domain.whatsapp import InboundMessage, MessageOrigin, MessageReceived
from server.whatsapp.untrusted_input import JsonObject, datetime_from_epoch, get_bool, get_int, get_str
from server.whatsapp.waha_payloads import peer_for

CALL_EVENTS = frozenset({"call.received", "call.accepted", "call.rejected"})
CALL_ID_PREFIX = "call:"  # call ids and message ids are different series: keep their keys apart


def call_events(event: str, payload: JsonObject, *, account_id: str, at: datetime) -> list[MessageReceived]:
    call_id = get_str(payload, "id")
    caller = get_str(payload, "from")
    if call_id is None or caller is None:
        raise MalformedWebhook(f"A WAHA {event} event needs the call's id and caller", reason="invalid_call")
    try:
        jid = parse_jid(caller)
    except InvalidChatId as error:
        raise MalformedWebhook(f"A WAHA {event} names an unreadable caller: {error.message}") from error
    if jid.kind is JidKind.OTHER:
        return []
    peer = peer_for(jid)
    message = InboundMessage(
        account_id=account_id,
        wa_message_id=CALL_ID_PREFIX + call_id[:200],
        chat=peer,
        sender=peer,
        from_me=False,
        sent_at=datetime_from_epoch(get_int(payload, "timestamp")) or at,
        origin=MessageOrigin.LIVE,
        transport_id=CALL_ID_PREFIX + call_id[:200],
        details=Call(video=get_bool(payload, "isVideo") is True, missed=event != "call.accepted"),
    )
    return [MessageReceived(message)]
