"""Locations, shared contacts, stickers, GIFs and view-once media, as WAHA (GOWS) reports them.

A message of kind ``location`` or ``contact`` carries ``Message.content``: ``{"latitude", "longitude",
"name", "address"}`` or ``{"vcards": [...]}``. Its webhook payload has an empty ``body`` and WAHA's
``location`` (``WALocation``: coordinates as decimal strings) or ``vCards`` (one vCard text per contact);
``_data.Message`` holds whatsmeow's ``locationMessage`` / ``contactMessage`` / ``contactsArrayMessage``.

A sticker is ``stickerMessage`` (``image/webp``), a GIF a ``videoMessage`` with ``gifPlayback``. Media
sent to be viewed once (``content={"viewOnce": True}``) carries whatsmeow's ``IsViewOnce`` in ``_data``
and ``viewOnce`` on the media; WAHA cannot download it, so ``media`` holds an error and no URL.
"""

from __future__ import annotations

import math
from typing import Any

from sandbox.waha.models import Message, SandboxError

KINDS = ("location", "contact", "poll")
SAMPLES = {  # what a simulated sticker or GIF contains when the caller gives no bytes
    "sticker": b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00"
    + b"\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00",
    "gif": b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(16),
}


def view_once(message: Message) -> bool:
    return bool(message.content and message.content.get("viewOnce"))


def engine_flags(message: Message) -> dict[str, Any]:
    """whatsmeow's flags on the raw event: ``IsViewOnce`` for media sent to be viewed once."""
    return {"IsViewOnce": True} if view_once(message) else {}


def content_from_request(kind: str, body: dict[str, Any]) -> dict[str, Any] | None:
    """The content of a location or contact a control request asks for (or ``viewOnce`` for a photo,
    video or voice note sent to be viewed once); 400 when it is unusable."""
    if body.get("viewOnce") is True:
        if kind not in ("image", "video", "voice"):
            raise SandboxError(400, "only a photo, a video or a voice note can be sent to be viewed once")
        return {"viewOnce": True}
    if kind == "location":
        latitude = _coordinate(body.get("latitude"), 90, "latitude")
        longitude = _coordinate(body.get("longitude"), 180, "longitude")
        name = body.get("title") or body.get("name") or ""
        return {
            "latitude": latitude,
            "longitude": longitude,
            "name": str(name),
            "address": str(body.get("address") or ""),
        }
    if kind == "poll":
        given = body.get("poll")
        poll: dict[str, Any] = given if isinstance(given, dict) else {}
        name, options = poll.get("name"), poll.get("options")
        if not isinstance(name, str) or not name.strip():
            raise SandboxError(400, "'poll' needs a 'name' (the question)")
        if (
            not isinstance(options, list)
            or not 2 <= len(options) <= 12
            or not all(isinstance(o, str) for o in options)
        ):
            raise SandboxError(400, "'poll.options' must list 2 to 12 answers")
        return {"name": name, "options": list(options), "multiple": poll.get("multipleAnswers") is True}
    if kind == "contact":
        contacts = body.get("contacts")
        if not isinstance(contacts, list) or not contacts:
            raise SandboxError(400, "'contacts' must be a non-empty list of {name, phone} or {vcard}")
        return {"vcards": [_vcard(contact) for contact in contacts]}
    return None


def vcard(name: str, phone: str) -> str:
    """A vCard 3.0 as WhatsApp writes one: ``waid`` is the number's digits."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    tel = f"TEL;type=CELL;type=VOICE;waid={digits}:{phone}"
    return f"BEGIN:VCARD\nVERSION:3.0\nN:;{name};;;\nFN:{name}\n{tel}\nEND:VCARD"


def payload_fields(message: Message) -> dict[str, Any]:
    """What a location or contact adds to the webhook payload (``vCards`` is always there, maybe empty)."""
    content = message.content or {}
    if message.kind == "location":
        location = {
            "latitude": _decimal(content["latitude"]),
            "longitude": _decimal(content["longitude"]),
            "live": False,
        }
        for key in ("name", "address"):
            if content.get(key):
                location[key] = content[key]
        return {"location": location, "vCards": []}
    return {"vCards": list(content.get("vcards") or [])}


def engine_content(message: Message) -> dict[str, Any] | None:
    """whatsmeow's raw message for a location or contact; ``None`` for other kinds."""
    content = message.content or {}
    if message.kind == "location":
        raw = {"degreesLatitude": content["latitude"], "degreesLongitude": content["longitude"]}
        raw.update({key: content[key] for key in ("name", "address") if content.get(key)})
        return {"locationMessage": raw}
    if message.kind == "poll":
        options = [{"optionName": option} for option in content["options"]]
        count = 0 if content.get("multiple") else 1  # 0: any number of answers
        return {
            "pollCreationMessageV3": {
                "name": content["name"],
                "options": options,
                "selectableOptionsCount": count,
            }
        }
    if message.kind == "contact":
        cards = [{"displayName": _display_name(v), "vcard": v} for v in content.get("vcards") or []]
        if len(cards) == 1:
            return {"contactMessage": cards[0]}
        return {"contactsArrayMessage": {"displayName": f"{len(cards)} contacts", "contacts": cards}}
    return None


def preview(message: Message) -> str:
    """What the phone page shows for the message."""
    content = message.content or {}
    if message.kind == "location":
        return "📍 " + (content.get("name") or f"{content['latitude']}, {content['longitude']}")
    if message.kind == "poll":
        return f"📊 {content['name']}: " + " / ".join(content["options"])
    return "👤 " + ", ".join(_display_name(v) for v in content.get("vcards") or [])


def _coordinate(value: object, bound: int, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise SandboxError(400, f"'{name}' must be a number")
    try:
        number = float(value)
    except ValueError:
        raise SandboxError(400, f"'{name}' must be a number") from None
    if not math.isfinite(number) or abs(number) > bound:
        raise SandboxError(400, f"'{name}' must lie between -{bound} and {bound}")
    return number


def _decimal(value: float) -> str:
    return repr(float(value))


def _vcard(contact: object) -> str:
    if isinstance(contact, dict) and isinstance(contact.get("vcard"), str):
        return str(contact["vcard"])
    if (
        isinstance(contact, dict)
        and isinstance(contact.get("name"), str)
        and isinstance(contact.get("phone"), str)
    ):
        return vcard(contact["name"], contact["phone"])
    raise SandboxError(400, "each contact needs a 'vcard', or a 'name' and a 'phone'")


def _display_name(vcard_text: str) -> str:
    for line in vcard_text.splitlines():
        if line.upper().startswith("FN:"):
            return line[3:].strip()
    return "Contact"
