"""A WAHA message's location, shared contacts, poll, view-once media or GIF → ``message_kinds`` values.
Pure.

WAHA reports a location in ``location`` (``WALocation``: coordinates as decimal strings, ``name``,
``address``, ``live``) and shared contacts as ``vCards`` (one vCard text each); an engine that leaves them
out still carries whatsmeow's raw ``locationMessage`` / ``liveLocationMessage`` / ``contactMessage`` /
``contactsArrayMessage`` in ``_data.Message``. For such messages ``body`` is no text a person typed (WEBJS
puts the map thumbnail or the vCard there), so the message keeps no text.

View-once media is flagged by whatsmeow (``_data.IsViewOnce``, ``IsViewOnceV2``, ``IsViewOnceV2Extension``,
a ``viewOnceMessage…`` wrapper or ``viewOnce`` on the media) or by WEBJS (``_data.isViewOnce``): it is
logged as such and its file is never fetched. A GIF is a video with ``gifPlayback`` (WEBJS: ``isGif``).
"""

from __future__ import annotations

from dataclasses import replace

from server.domain.message_kinds import (
    ContactCard,
    MessageDetails,
    ViewOnce,
    card_from_vcard,
    contacts,
    location,
    poll,
)
from server.domain.whatsapp import MediaKind, MediaRef
from server.whatsapp.untrusted_input import (
    JsonObject,
    get_bool,
    get_int,
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
    if found is None:
        found = _poll(get_object(payload, "_data"), raw)
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


_POLL_KEYS = ("pollCreationMessageV3", "pollCreationMessageV2", "pollCreationMessage")


def _poll(data: JsonObject | None, raw: JsonObject | None) -> MessageDetails | None:
    """A poll: whatsmeow's ``pollCreationMessage…`` (``name``, ``options[].optionName``,
    ``selectableOptionsCount``, 0 meaning any number) or WEBJS's ``pollName`` / ``pollOptions[].name``."""
    for key in _POLL_KEYS:
        proto = get_object(raw, key)
        if proto is not None:
            names = [get_str(o, "optionName") for o in objects_in(get_list(proto, "options"))]
            count = get_int(proto, "selectableOptionsCount")
            return poll(get_str(proto, "name"), [n for n in names if n], multiple=count != 1)
    question = get_str(data, "pollName")
    if question is not None:
        names = [get_str(o, "name") for o in objects_in(get_list(data, "pollOptions"))]
        count = get_int(data, "pollSelectableOptionsCount")
        return poll(question, [n for n in names if n], multiple=count != 1)
    return None


def _cards(payload: JsonObject, raw: JsonObject | None) -> list[ContactCard]:
    vcards = [v for v in get_list(payload, "vCards") if isinstance(v, str)]
    if not vcards:
        single = get_str(get_object(raw, "contactMessage"), "vcard")
        array = objects_in(get_list(get_object(raw, "contactsArrayMessage"), "contacts"))
        vcards = [single] if single else [v for v in (get_str(c, "vcard") for c in array) if v]
    return [card_from_vcard(v[:_MAX_VCARD_CHARS]) for v in vcards if v.strip()]


_VIEW_ONCE_FLAGS = ("IsViewOnce", "IsViewOnceV2", "IsViewOnceV2Extension", "isViewOnce")
_VIEW_ONCE_WRAPPERS = ("viewOnceMessage", "viewOnceMessageV2", "viewOnceMessageV2Extension")
_RAW_MEDIA = {"imageMessage": "image", "videoMessage": "video", "audioMessage": "voice"}
_VIEW_ONCE_KINDS = {MediaKind.VIDEO: "video", MediaKind.GIF: "video", MediaKind.AUDIO: "voice"}


def media_details(
    payload: JsonObject, media: MediaRef | None, details: MessageDetails | None
) -> tuple[MediaRef | None, MessageDetails | None]:
    """The media to fetch and the details to keep: view-once media becomes details without a file."""
    data = get_object(payload, "_data")
    raw = get_object(data, "Message")
    for wrapper in _VIEW_ONCE_WRAPPERS:
        wrapped = get_object(get_object(raw, wrapper), "message")
        if wrapped is not None:
            return None, ViewOnce(_raw_media(wrapped) or _kind_of(media))
    flagged = any(get_bool(data, flag) is True for flag in _VIEW_ONCE_FLAGS)
    marked = next(
        (what for key, what in _RAW_MEDIA.items() if get_bool(get_object(raw, key), "viewOnce")), None
    )
    if flagged or marked is not None:
        return None, ViewOnce(marked or _raw_media(raw) or _kind_of(media))
    gif = get_bool(get_object(raw, "videoMessage"), "gifPlayback") is True or get_bool(data, "isGif") is True
    if media is not None and gif:
        return replace(media, kind=MediaKind.GIF), details
    return media, details


def _raw_media(raw: JsonObject | None) -> str | None:
    return next((what for key, what in _RAW_MEDIA.items() if get_object(raw, key) is not None), None)


def _kind_of(media: MediaRef | None) -> str:
    if media is None:
        return "image"
    return _VIEW_ONCE_KINDS.get(media.kind, "voice" if media.kind is MediaKind.VOICE else "image")
