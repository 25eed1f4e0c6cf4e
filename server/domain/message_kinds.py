"""Messages that are neither text nor a file: a shared location, shared contacts (vCards), a call, a poll
and each vote on it as it comes, and view-once media (logged as such, never fetched: it is meant to be
seen once, on the phone).

Each transport reads its own shape into these values (``InboundMessage.details``); the inbox stores them
as one JSON text (``encode`` / ``decode``) and every view (the Pipedrive transcript, the panel, the chat
view) shows them through ``describe``: a label, a line of text and, for a location, an https link to a
map built from the coordinates alone. What people typed (place names, contact names, numbers) stays
untrusted: ``describe`` returns it as plain text for the caller to escape.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from server.domain.text import Text, ptext

if TYPE_CHECKING:
    from server.domain.contact_cards import CardView

MAPS_URL = "https://www.google.com/maps/search/?api=1&query={latitude:.6f},{longitude:.6f}"
_TEXT_LIMIT = 200  # a place name, an address, a contact's name
_PHONE_LIMIT = 40
_MAX_CARDS = 20  # WhatsApp lets a person share up to 257 contacts at once; the rest is counted
_MAX_PHONES = 5
UNNAMED = "Unnamed contact"  # a card with neither a name nor a number (views show it translated)


@dataclass(frozen=True, slots=True)
class Location:
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None
    live: bool = False  # a live location: only its first position is kept

    @property
    def map_url(self) -> str:
        """An https link to a map at the coordinates: nothing typed by a person goes into it."""
        return MAPS_URL.format(latitude=self.latitude, longitude=self.longitude)


@dataclass(frozen=True, slots=True)
class ContactCard:
    name: str
    phones: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SharedContacts:
    cards: tuple[ContactCard, ...]
    more: int = 0  # cards shared beyond the ones kept


@dataclass(frozen=True, slots=True)
class Call:
    video: bool = False
    missed: bool = True  # an answered call has ``missed=False``
    duration_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class ViewOnce:
    """A photo, video or voice note sent to be opened once: its file is never fetched or kept."""

    media: str = "image"  # image | video | voice


# What a view says of view-once media, by the media it was (whole sentences, to translate as such).
VIEW_ONCE_MEDIA = {
    "image": Text("a photo, not saved: it can be opened only on the phone"),
    "video": Text("a video, not saved: it can be opened only on the phone"),
    "voice": Text("a voice note, not saved: it can be opened only on the phone"),
}


@dataclass(frozen=True, slots=True)
class Poll:
    question: str
    options: tuple[str, ...]
    multiple: bool = False  # more than one answer may be chosen


@dataclass(frozen=True, slots=True)
class PollVote:
    """A vote as it came: the options now chosen (none when the vote was taken back)."""

    options: tuple[str, ...] = ()


_MAX_OPTIONS = 12  # WhatsApp allows 12 options per poll

MessageDetails = Location | SharedContacts | Call | ViewOnce | Poll | PollVote


def poll(question: str | None, options: list[str], *, multiple: bool = False) -> Poll | None:
    kept = [o for o in (_clip(option) for option in options[:_MAX_OPTIONS]) if o]
    name = _clip(question)
    return Poll(name, tuple(kept), multiple) if name else None


def poll_vote(options: list[str]) -> PollVote:
    return PollVote(tuple(o for o in (_clip(option) for option in options[:_MAX_OPTIONS]) if o))


@dataclass(frozen=True, slots=True)
class KindView:
    """How a view shows a message's details: ``label: text``, linked to ``url`` when there is one."""

    kind: str
    label: str | Text
    text: str | Text
    url: str | None = None
    cards: tuple[CardView, ...] = ()  # shared contacts: each card's numbers with what the view offers
    more: int = 0  # shared contacts: cards shared beyond those kept


def location(
    latitude: object,
    longitude: object,
    *,
    name: str | None = None,
    address: str | None = None,
    live: bool = False,
) -> Location | None:
    """A location from coordinates given as numbers or decimal strings; ``None`` when either is not a
    finite number in range (latitude −90…90, longitude −180…180)."""
    lat, lng = _coordinate(latitude, 90.0), _coordinate(longitude, 180.0)
    if lat is None or lng is None:
        return None
    return Location(lat, lng, _clip(name), _clip(address), live)


def contacts(cards: list[ContactCard]) -> SharedContacts | None:
    if not cards:
        return None
    return SharedContacts(tuple(cards[:_MAX_CARDS]), max(0, len(cards) - _MAX_CARDS))


def card(name: str | None, phones: list[str]) -> ContactCard:
    kept = [p for p in (_clip(phone, _PHONE_LIMIT) for phone in phones) if p]
    return ContactCard(_clip(name) or (kept[0] if kept else UNNAMED), tuple(kept[:_MAX_PHONES]))


def card_from_vcard(vcard: str) -> ContactCard:
    """The name (``FN``, else ``N``) and numbers (``TEL``) of one vCard (2.1, 3.0 or 4.0)."""
    name: str | None = None
    structured: str | None = None
    phones: list[str] = []
    for line in _unfolded(vcard):
        head, sep, value = line.partition(":")
        if not sep:
            continue
        prop = head.split(";", 1)[0].split(".")[-1].strip().upper()
        value = _unescape(value)
        if prop == "FN" and name is None:
            name = value
        elif prop == "N" and structured is None:
            parts = [p.strip() for p in value.split(";")]
            structured = " ".join(p for p in (parts[1:2] + parts[0:1]) if p) or None
        elif prop == "TEL":
            phones.append(value.removeprefix("tel:"))
    return card(name or structured, phones)


def encode(details: MessageDetails | None) -> str:
    """The stored text of ``details`` (``""`` for none)."""
    if details is None:
        return ""
    if isinstance(details, Location):
        data: dict[str, object] = {
            "kind": "location",
            "latitude": details.latitude,
            "longitude": details.longitude,
            "name": details.name,
            "address": details.address,
            "live": details.live,
        }
    elif isinstance(details, SharedContacts):
        cards = [{"name": c.name, "phones": list(c.phones)} for c in details.cards]
        data = {"kind": "contacts", "cards": cards, "more": details.more}
    elif isinstance(details, ViewOnce):
        data = {"kind": "view_once", "media": details.media}
    elif isinstance(details, Poll):
        data = {"kind": "poll", "question": details.question, "options": list(details.options)}
        data["multiple"] = details.multiple
    elif isinstance(details, PollVote):
        data = {"kind": "poll_vote", "options": list(details.options)}
    else:
        data = {
            "kind": "call",
            "video": details.video,
            "missed": details.missed,
            "duration": details.duration_seconds,
        }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def decode(stored: str | None) -> MessageDetails | None:
    """The details stored by ``encode``; ``None`` for none or for text this version cannot read."""
    if not stored:
        return None
    try:
        data = json.loads(stored)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    kind = data.get("kind")
    if kind == "location":
        return location(
            data.get("latitude"),
            data.get("longitude"),
            name=_str(data.get("name")),
            address=_str(data.get("address")),
            live=data.get("live") is True,
        )
    if kind == "contacts":
        raw = data.get("cards")
        cards = [
            card(_str(c.get("name")), [p for p in c.get("phones") or [] if isinstance(p, str)])
            for c in (raw if isinstance(raw, list) else [])
            if isinstance(c, dict)
        ]
        found = contacts(cards)
        more = data.get("more")
        return (
            SharedContacts(found.cards, more if isinstance(more, int) and more > 0 else 0) if found else None
        )
    if kind in ("poll", "poll_vote"):
        raw_options = data.get("options")
        options = [o for o in raw_options if isinstance(o, str)] if isinstance(raw_options, list) else []
        if kind == "poll_vote":
            return poll_vote(options)
        return poll(_str(data.get("question")), options, multiple=data.get("multiple") is True)
    if kind == "view_once":
        media = data.get("media")
        return ViewOnce(media if isinstance(media, str) and media in VIEW_ONCE_MEDIA else "image")
    if kind == "call":
        duration = data.get("duration")
        return Call(
            video=data.get("video") is True,
            missed=data.get("missed") is not False,
            duration_seconds=duration if isinstance(duration, int) and duration >= 0 else None,
        )
    return None


def describe(details: MessageDetails) -> KindView:
    """The label, text and link every view shows for ``details``; the text is untrusted, unescaped. Words
    are ``Text`` (a view shows them in its reader's language, ``str()`` is the English)."""
    if isinstance(details, Location):
        place = ", ".join(p for p in (details.name, details.address) if p)
        coordinates = f"{details.latitude:.6f}, {details.longitude:.6f}"
        label = Text("Live location") if details.live else Text("Location")
        return KindView("location", label, place or coordinates, details.map_url)
    if isinstance(details, SharedContacts):
        shown = "; ".join(c.name + (f" ({', '.join(c.phones)})" if c.phones else "") for c in details.cards)
        one = len(details.cards) == 1 and not details.more
        label = ptext("shared contact", "Contact") if one else Text("Contacts")
        text: str | Text = shown
        if details.more:
            text = Text("%(cards)s; and %(more)s more", cards=shown, more=details.more)
        return KindView("contacts", label, text, more=details.more)
    if isinstance(details, Poll):
        label = Text("Poll (several answers)") if details.multiple else Text("Poll")
        return KindView("poll", label, f"{details.question}: " + " / ".join(details.options))
    if isinstance(details, PollVote):
        return KindView("poll_vote", Text("Poll vote"), ", ".join(details.options) or Text("vote taken back"))
    if isinstance(details, ViewOnce):
        what = VIEW_ONCE_MEDIA.get(details.media, VIEW_ONCE_MEDIA["image"])
        return KindView("view_once", Text("View once"), what)
    return KindView("call", Text("Call"), _call_text(details))


def _call_text(call: Call) -> Text:
    if call.missed:
        return Text("Missed video call") if call.video else Text("Missed voice call")
    if call.duration_seconds is None:
        return Text("Video call") if call.video else Text("Voice call")
    duration = _duration(call.duration_seconds)
    if call.video:
        return Text("Video call (%(duration)s)", duration=duration)
    return Text("Voice call (%(duration)s)", duration=duration)


def kind_view(stored: str | None) -> KindView | None:
    """What a view shows for stored details; ``None`` for a message without any."""
    details = decode(stored)
    return describe(details) if details is not None else None


def _coordinate(value: object, bound: float) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip()) if len(value) <= 40 else None
        except ValueError:
            return None
    if not isinstance(value, int | float) or not math.isfinite(value) or abs(value) > bound:
        return None
    return float(value)


def _clip(text: str | None, limit: int = _TEXT_LIMIT) -> str | None:
    if text is None:
        return None
    cleaned = " ".join(text.split())
    if not cleaned:
        return None
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _unfolded(vcard: str) -> list[str]:
    """vCard lines with folded continuations (a line starting with a space or tab) joined back."""
    lines: list[str] = []
    for raw in vcard.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] += raw[1:]
        else:
            lines.append(raw)
    return lines


def _unescape(value: str) -> str:
    return value.replace("\\n", " ").replace("\\N", " ").replace("\\,", ",").replace("\\;", ";").strip()


def _duration(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
