"""A Cloud API message's location or shared contacts → ``message_kinds`` values. Pure.

``type: "location"`` carries ``location: {latitude, longitude, name?, address?, url?}`` (numbers);
``type: "contacts"`` carries ``contacts: [{name: {formatted_name, first_name, …}, phones: [{phone,
wa_id?, type}], …}]``.
"""

from __future__ import annotations

from server.domain.message_kinds import MessageDetails, card, contacts, location
from server.whatsapp.untrusted_input import JsonObject, get_list, get_object, get_str, objects_in


def message_details(raw: JsonObject, kind: str) -> MessageDetails | None:
    if kind == "location":
        given = get_object(raw, "location")
        if given is None:
            return None
        return location(
            given.get("latitude"),
            given.get("longitude"),
            name=get_str(given, "name"),
            address=get_str(given, "address"),
        )
    if kind == "contacts":
        cards = []
        for contact in objects_in(get_list(raw, "contacts")):
            name = get_object(contact, "name")
            full = get_str(name, "formatted_name") or " ".join(
                p for p in (get_str(name, "first_name"), get_str(name, "last_name")) if p
            )
            phones = [
                get_str(p, "phone") or get_str(p, "wa_id") for p in objects_in(get_list(contact, "phones"))
            ]
            cards.append(card(full or None, [p for p in phones if p]))
        return contacts(cards)
    return None
