"""Cloud API call webhooks (field ``calls``, the Calling API) → one logged line per call. Pure.

Only ``event: "terminate"`` is logged: it comes once per call, after it ended, with ``status``
(``COMPLETED`` or ``FAILED``) and, for a call that connected, ``duration`` in seconds. ``direction``
says who called: ``USER_INITIATED`` (the contact; ``from`` is their number) or ``BUSINESS_INITIATED``
(``to`` is the contact). ``connect`` and status events (ringing, accepted, rejected) are left out.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from server.domain.errors import MalformedWebhook
from server.domain.message_kinds import Call
from server.domain.whatsapp import InboundMessage, MessageOrigin, MessageReceived, Peer
from server.whatsapp.untrusted_input import (
    JsonObject,
    datetime_from_epoch,
    get_int,
    get_list,
    get_str,
    objects_in,
)

CALL_ID_PREFIX = "call:"  # call ids (wacid.…) and message ids (wamid.…) are different series


def call_events(
    value: JsonObject,
    *,
    account_id: str,
    business: Peer,
    peer: Callable[[str, str | None], Peer],
    names: dict[str, str],
    received_at: datetime,
) -> list[MessageReceived]:
    events: list[MessageReceived] = []
    for call in objects_in(get_list(value, "calls")):
        if (get_str(call, "event") or "").lower() != "terminate":
            continue
        call_id = get_str(call, "id")
        if call_id is None:
            raise MalformedWebhook("A Cloud API call has no id", reason="invalid_call")
        ours = (get_str(call, "direction") or "").upper() == "BUSINESS_INITIATED"
        other = get_str(call, "to" if ours else "from")
        if other is None:
            raise MalformedWebhook("A Cloud API call names no caller or callee", reason="invalid_call")
        chat = peer(other, names.get(other))
        duration = _seconds(call)
        completed = (get_str(call, "status") or "").upper() == "COMPLETED"
        message = InboundMessage(
            account_id=account_id,
            wa_message_id=CALL_ID_PREFIX + call_id[:200],
            chat=chat,
            sender=business if ours else chat,
            from_me=ours,
            sent_at=datetime_from_epoch(get_int(call, "start_time") or get_int(call, "timestamp"))
            or received_at,
            origin=MessageOrigin.LIVE,
            transport_id=CALL_ID_PREFIX + call_id[:200],
            details=Call(missed=not completed, duration_seconds=duration if completed else None),
        )
        events.append(MessageReceived(message))
    return events


def _seconds(call: JsonObject) -> int | None:
    duration = get_int(call, "duration")
    return duration if duration is not None and 0 <= duration < 7 * 24 * 3600 else None
