"""The embedded transport's events as stored deliveries: the worker that runs a session stores each neonize
event it receives as an inbound delivery (transport ``embedded``), as the web process stores a webhook, and
the inbound job reads it back into WaPipe's events with ``events_from_embedded_body``. So an event is kept
before anything is done with it, a redelivery is stored once, and the same jobs process every transport.

A body is JSON: ``{"session": …, "event": "neonize.Message", "me": "<our chat id>", "data": "<base64 of the
protobuf>"}``. Its key is the session and the SHA-256 of the event's type and bytes.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
from datetime import datetime
from typing import Any

from server.domain.errors import MalformedWebhook
from server.domain.jids import jid_or_none
from server.domain.whatsapp import TransportEvent
from server.whatsapp.embedded_events import translate
from server.whatsapp.embedded_proto import type_name
from server.whatsapp.untrusted_input import get_str, parse_json_object
from server.whatsapp.waha_payloads import peer_for

EMBEDDED = "embedded"
MAX_EVENT_BYTES = 64 * 1024 * 1024  # a history sync batch can be large; anything larger is not kept


def encode_event(session: str, event: object, *, me: str | None) -> tuple[str, bytes]:
    """The key and body a neonize event is stored under. ``ValueError`` for a value that is not one."""
    name = type_name(event)
    serialize = getattr(event, "SerializeToString", None)
    if name is None or serialize is None:
        raise ValueError(f"{type(event).__name__} is not a neonize event")
    data = serialize()
    digest = hashlib.sha256(name.encode() + b"\0" + data).hexdigest()
    body = {"session": session, "event": name, "me": me or "", "data": base64.b64encode(data).decode()}
    return f"{EMBEDDED}:{session}:{digest}"[:200], json.dumps(body).encode()


def events_from_embedded_body(raw_body: bytes, *, received_at: datetime) -> list[TransportEvent]:
    """WaPipe's events in a stored embedded delivery; ``MalformedWebhook`` when it is not one."""
    body = parse_json_object(raw_body, what="embedded transport event")
    session, name, data = get_str(body, "session"), get_str(body, "event"), get_str(body, "data")
    if not session or not name or data is None:
        raise MalformedWebhook("An embedded transport event needs a session, an event and its data")
    event_type = _event_types().get(name)
    if event_type is None:
        raise MalformedWebhook(f"The embedded transport has no event {name[:80]!r}")
    try:
        raw = base64.b64decode(data, validate=True)
        event = event_type.FromString(raw)
    except (binascii.Error, ValueError) as error:
        raise MalformedWebhook(f"The embedded transport's {name} event cannot be read") from error
    me_jid = jid_or_none(get_str(body, "me") or None)
    me = peer_for(me_jid) if me_jid is not None else None
    return list(translate(event, account_id=session, received_at=received_at, me=me).events)


@functools.cache
def _event_types() -> dict[str, Any]:
    """neonize's event types by their protobuf name (loading neonize only when an embedded event is read)."""
    from neonize.events import EVENT_TO_INT

    return {event.DESCRIPTOR.full_name: event for event in EVENT_TO_INT}
