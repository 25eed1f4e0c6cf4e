"""Typed reads of the protobuf values neonize hands over (whatsmeow's events and messages). Pure.

WaPipe never imports neonize here: a value is recognised by its protobuf type name
(``DESCRIPTOR.full_name``, e.g. ``neonize.Message``) and read field by field. Every accessor returns
``None`` (or an empty list) for a field that is unset, blank or of another type, so the translators
decide explicitly what is required and never fail with ``AttributeError`` or ``TypeError``.
"""

from __future__ import annotations

import base64


def type_name(value: object) -> str | None:
    """The protobuf type's full name (``neonize.Receipt``); ``None`` for anything that is not one."""
    descriptor = getattr(type(value), "DESCRIPTOR", None)
    name = getattr(descriptor, "full_name", None)
    return name if isinstance(name, str) else None


def _has(message: object, name: str) -> bool:
    has_field = getattr(message, "HasField", None)
    if has_field is None:
        return False
    try:
        return bool(has_field(name))
    except ValueError:  # a repeated field, or a field the message does not have
        return False


def sub(message: object, name: str) -> object | None:
    """A set sub-message; ``None`` when it is unset (protobuf would hand back an empty default)."""
    if message is None or not _has(message, name):
        return None
    value = getattr(message, name, None)
    return value if type_name(value) is not None else None


def text(message: object, name: str) -> str | None:
    """A non-blank string field."""
    value = getattr(message, name, None) if message is not None else None
    return value if isinstance(value, str) and value.strip() else None


def number(message: object, name: str) -> int | None:
    """An integer field that is set (0 counts as unset: whatsmeow leaves absent numbers at 0)."""
    value = getattr(message, name, None) if message is not None else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value != 0 else None


def real(message: object, name: str) -> float | None:
    """A float/double field as it is set, 0.0 included (a coordinate may be 0)."""
    if message is None or not _has(message, name):
        return None
    value = getattr(message, name, None)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def flag(message: object, name: str) -> bool:
    value = getattr(message, name, None) if message is not None else None
    return value is True


def blob(message: object, name: str) -> bytes | None:
    value = getattr(message, name, None) if message is not None else None
    return bytes(value) if isinstance(value, bytes) and value else None


def items(message: object, name: str) -> list[object]:
    """A repeated field's values; ``[]`` for anything else."""
    value = getattr(message, name, None) if message is not None else None
    if value is None or isinstance(value, str | bytes) or not hasattr(value, "__len__"):
        return []
    try:
        return list(value)
    except TypeError:
        return []


def enum_name(message: object, name: str) -> str | None:
    """The symbolic name of an enum field's value (``READ``); ``None`` when unset or unknown."""
    if message is None or not _has(message, name):
        return None
    value = getattr(message, name, None)
    descriptor = getattr(type(message), "DESCRIPTOR", None)
    field = getattr(descriptor, "fields_by_name", {}).get(name)
    enum = getattr(field, "enum_type", None)
    found = enum.values_by_number.get(value) if enum is not None and isinstance(value, int) else None
    return found.name if found is not None else None


def jid_spelling(jid: object) -> str | None:
    """``user@server`` of neonize's ``JID`` (device and agent dropped); ``None`` for an empty JID."""
    if jid is None or type_name(jid) != "neonize.JID" or flag(jid, "IsEmpty"):
        return None
    user, server = text(jid, "User"), text(jid, "Server")
    if user is None or server is None:
        return None
    return f"{user}@{server}"


def hex_digest(data: bytes | None) -> str | None:
    return data.hex() if data else None


def b64(data: bytes | None) -> str | None:
    return base64.urlsafe_b64encode(data).decode("ascii") if data else None
