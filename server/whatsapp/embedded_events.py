"""neonize's events (whatsmeow's, as protobuf values) → WaPipe's transport events. Pure.

``translate`` is the one entry: the embedded transport hands it each event neonize reports and acts on
the ``Translated`` it gets back (events to store, group names to keep, linking codes to draw, parts left
out with their reason). A value that is not one of neonize's events, or one that lacks what it must
carry, raises ``MalformedEvent`` (``malformed_event``); an event WaPipe does not use is skipped with the
reason ``unhandled_event``. See docs/embedded.md for the whole mapping.
"""

from __future__ import annotations

from datetime import datetime

from server.domain.errors import MalformedEvent
from server.domain.jids import JidKind, jid_or_none
from server.domain.whatsapp import (
    Delivery,
    IdentityLearned,
    Peer,
    StatusChanged,
    TransportEvent,
)
from server.whatsapp.embedded_groups import GROUP_EVENTS, group_events
from server.whatsapp.embedded_history import history_events
from server.whatsapp.embedded_messages import live_envelope, message_events
from server.whatsapp.embedded_proto import (
    enum_name,
    items,
    jid_spelling,
    number,
    sub,
    type_name,
)
from server.whatsapp.embedded_results import Translated, event_time, skip, unique
from server.whatsapp.embedded_session import SESSION_EVENTS, session_events

# whatsmeow's receipt types → how far our message got. Its plain delivery receipt has no type of its own
# (neonize leaves the field unset or says DELIVERED).
RECEIPT_STATUS = {
    "DELIVERED": Delivery.DELIVERED,
    "READ": Delivery.READ,
    "PLAYED": Delivery.PLAYED,
    "SERVER_ERROR": Delivery.FAILED,
}
_MAX_IDS = 1000  # message ids in one receipt


def translate(event: object, *, account_id: str, received_at: datetime, me: Peer | None = None) -> Translated:
    """The WaPipe side of one neonize event. ``received_at`` stands in for times the event lacks."""
    name = type_name(event)
    if name is None:
        raise MalformedEvent(f"The embedded transport reported {type(event).__name__!s}, not a neonize event")
    if name == "neonize.Message":
        envelope = live_envelope(event, account_id=account_id, received_at=received_at)
        return message_events(envelope, sub(event, "Message"), me=me)
    if name == "neonize.Receipt":
        return receipt_events(event, account_id=account_id, received_at=received_at)
    if name == "neonize.HistorySync":
        return history_events(event, account_id=account_id, received_at=received_at, me=me)
    if name in GROUP_EVENTS:
        return group_events(event, account_id=account_id)
    if name in SESSION_EVENTS:
        return session_events(event, account_id=account_id, at=received_at, me=me)
    return skip("unhandled_event", f"neonize's {name} event is not used")


def receipt_events(event: object, *, account_id: str, received_at: datetime) -> Translated:
    """A receipt for our messages → one ``StatusChanged`` per message id it names."""
    kind = enum_name(event, "Type") or "DELIVERED"
    status = RECEIPT_STATUS.get(kind)
    if status is None:
        return skip("receipt_not_kept", f"A {kind} receipt says nothing about our messages' delivery")
    source = sub(event, "MessageSource")
    chat = jid_or_none(jid_spelling(sub(source, "Chat")))
    if chat is None:
        raise MalformedEvent("A receipt from the embedded transport names no chat")
    if chat.kind is JidKind.OTHER:
        return skip("not_a_chat", f"Receipts in {chat.server} chats are not logged")
    sender = jid_or_none(jid_spelling(sub(source, "Sender")))
    reader = sender if chat.is_group and sender is not None else chat
    ids = [i.strip()[:200] for i in items(event, "MessageIDs") if isinstance(i, str) and i.strip()]
    if not ids:
        raise MalformedEvent("A receipt from the embedded transport names no message")
    at = event_time(number(event, "Timestamp"), received_at)
    failed = status is Delivery.FAILED
    changes: list[TransportEvent] = [
        StatusChanged(
            account_id=account_id,
            wa_message_id=wa_id,
            status=status,
            at=at,
            from_me=True,
            recipient=reader.chat_key,
            reason="gateway_error" if failed else None,
            error="WhatsApp reported an error sending this message" if failed else None,
        )
        for wa_id in unique(ids[:_MAX_IDS])
    ]
    pair = IdentityLearned.of(account_id, sender, jid_or_none(jid_spelling(sub(source, "SenderAlt"))))
    if pair is not None:
        changes.append(pair)
    return Translated(events=tuple(changes))
