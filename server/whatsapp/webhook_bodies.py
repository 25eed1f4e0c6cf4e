"""Webhook bodies after their signature was checked: the key a delivery is stored under, and its events.

The web route verifies and stores the raw body under ``delivery_key``; a job later turns the stored body
into events with ``events_from_body``. Redeliveries share a key, so they are stored once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from server.domain.errors import MalformedWebhook
from server.domain.whatsapp import TransportEvent
from server.whatsapp.cloud_webhook import events_from_cloud_body
from server.whatsapp.embedded_bodies import EMBEDDED, events_from_embedded_body
from server.whatsapp.untrusted_input import get_str, parse_json_object
from server.whatsapp.waha_webhook import events_from_envelope

WAHA = "waha"
CLOUD = "cloud"


@dataclass(frozen=True, slots=True)
class DeliveryKey:
    event_key: str  # unique per logical delivery
    session_name: str  # the WAHA session; "" for the Cloud API (a body may name several numbers)


def delivery_key(transport: str, raw_body: bytes) -> DeliveryKey:
    """``MalformedWebhook`` when a signed body is not the transport's envelope."""
    if transport == WAHA:
        envelope = parse_json_object(raw_body, what="WAHA webhook body")
        event_id, session, event = (
            get_str(envelope, "id"),
            get_str(envelope, "session"),
            get_str(envelope, "event"),
        )
        if not event_id or not session or not event:
            raise MalformedWebhook("A WAHA webhook needs an id, an event and a session")
        return DeliveryKey(f"waha:{session}:{event_id}"[:200], session)
    if transport == CLOUD:
        parse_json_object(raw_body, what="Cloud API webhook body")
        return DeliveryKey(f"cloud:sha256:{hashlib.sha256(raw_body).hexdigest()}", "")
    raise ValueError(f"unknown transport {transport!r}")


def rejected_key(transport: str, raw_body: bytes) -> str:
    """Where a signed but malformed body is kept for inspection."""
    return f"{transport}:rejected:{hashlib.sha256(raw_body).hexdigest()}"


def events_from_body(transport: str, raw_body: bytes, *, received_at: datetime) -> list[TransportEvent]:
    if transport == WAHA:
        envelope = parse_json_object(raw_body, what="WAHA webhook body")
        return events_from_envelope(envelope, received_at=received_at)
    if transport == CLOUD:
        return events_from_cloud_body(raw_body, received_at=received_at)
    if transport == EMBEDDED:
        return events_from_embedded_body(raw_body, received_at=received_at)
    raise ValueError(f"unknown transport {transport!r}")
