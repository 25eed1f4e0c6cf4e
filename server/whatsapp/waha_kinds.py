"""A WAHA message's location or shared contacts → ``message_kinds`` values. Pure.

WAHA reports a location in ``location`` (``WALocation``: coordinates as decimal strings, ``name``,
``address``, ``live``) and shared contacts as ``vCards`` (one vCard text each); an engine that leaves them
out still carries whatsmeow's raw ``locationMessage`` / ``liveLocationMessage`` / ``contactMessage`` /
``contactsArrayMessage`` in ``_data.Message``. For such messages ``body`` is no text a person typed (WEBJS
puts the map thumbnail or the vCard there), so the message keeps no text.
"""

from __future__ import annotations

from server.domain.message_kinds import (
    ContactCard,
    MessageDetails,
    card_from_vcard,
    contacts,
    location,
)
from server.whatsapp.untrusted_input import (
    JsonObject,
    get_bool,
    get_list,
    get_object,
    get_str,
    objects_in,
)

_MAX_VCARD_CHARS = 20_000


def message_details(payload: JsonObject, text: str | None) -> tuple[MessageDetails | None, str | None]:
    """The message's details and the text to keep with them (``text`` itself when it has none)."""
    raw = get_object(get_object(payload, "_data"), "Message")
    found = _location(payload, raw)
    if found is None:
        found = contacts(_cards(payload, raw))
    return (found, None) if found is not None else (None, text)


def _location(payload: JsonObject, raw: JsonObject | None) -> MessageDetails | None:
    given = get_object(payload, "location")
    if given is not None:
        return location(
            given.get("latitude"),
            given.get("longitude"),
            name=get_str(given, "name"),
            address=get_str(given, "address"),
            live=get_bool(given, "live") is True,
        )
    for key, live in (("locationMessage", False), ("liveLocationMessage", True)):
        proto = get_object(raw, key)
        if proto is not None:
            return location(
                proto.get("degreesLatitude"),
                proto.get("degreesLongitude"),
                name=get_str(proto, "name"),
                address=get_str(proto, "address"),
                live=live,
            )
    return None


def _cards(payload: JsonObject, raw: JsonObject | None) -> list[ContactCard]:
    vcards = [v for v in get_list(payload, "vCards") if isinstance(v, str)]
    if not vcards:
        single = get_str(get_object(raw, "contactMessage"), "vcard")
        array = objects_in(get_list(get_object(raw, "contactsArrayMessage"), "contacts"))
        vcards = [single] if single else [v for v in (get_str(c, "vcard") for c in array) if v]
    return [card_from_vcard(v[:_MAX_VCARD_CHARS]) for v in vcards if v.strip()]
