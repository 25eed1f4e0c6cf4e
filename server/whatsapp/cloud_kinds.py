"""A Cloud API message's location or shared contacts → ``message_kinds`` values; a message the Cloud API
does not deliver → the line that says so. Pure.

``type: "location"`` carries ``location: {latitude, longitude, name?, address?, url?}`` (numbers);
``type: "contacts"`` carries ``contacts: [{name: {formatted_name, first_name, …}, phones: [{phone,
wa_id?, type}], …}]``.

A message of a kind the Cloud API does not support comes as ``type: "unsupported"`` with ``errors:
[{code, title, message, error_data: {details}}]`` (131051 "Message type unknown"; 131060 "This message
is currently unavailable" for a first message to a number also used in the WhatsApp Business app) and
``unsupported: {type}``, which Meta's reference lists as one of ``errors``, ``gif``, ``group_invite``,
``hsm``, ``image``, ``interactive``, ``keep_in_chat``, ``link_preview``, ``list``, ``location``,
``media_placeholder``, ``order``, ``pin``, ``poll_creation``, ``poll_update``, ``product``, ``reaction``.
So a GIF is never delivered as a video: it is ``unsupported`` of type ``gif``, with no file to fetch. The
reference names no type for view-once media either; whatever the type, the message is logged as one
the phone shows and WaPipe cannot (never dropped unseen).
"""

from __future__ import annotations

from server.domain.message_kinds import MessageDetails, card, contacts, location
from server.whatsapp.untrusted_input import JsonObject, get_int, get_list, get_object, get_str, objects_in

UNSUPPORTED_LABELS = {  # Meta's unsupported types a person would call by name
    "gif": "GIF",
    "image": "Photo",
    "location": "Location",
    "poll_creation": "Poll",
    "poll_update": "Poll vote",
    "group_invite": "Group invitation",
    "order": "Order",
    "product": "Product",
    "pin": "Pinned message",
    "keep_in_chat": "Kept message",
}


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


def unsupported_text(raw: JsonObject) -> str:
    """The line for a message the Cloud API did not deliver: what it was, when Meta names it, and where to
    see it ("GIF: not delivered by the WhatsApp Cloud API (Message type unknown); open it on the phone")."""
    kind = get_str(get_object(raw, "unsupported"), "type")
    label = UNSUPPORTED_LABELS.get(kind or "", "Message")
    errors = objects_in(get_list(raw, "errors"))
    first = errors[0] if errors else None
    title = get_str(first, "title") or get_str(first, "message")
    code = get_int(first, "code")
    why = f" ({title[:80]})" if title else f" (error {code})" if code is not None else ""
    return f"{label}: not delivered by the WhatsApp Cloud API{why}; open it on the phone"
