"""Message templates: the placeholder grammar, checking a template's fields, and rendering it.

A placeholder is ``{{object.field}}`` or ``{{object.field|fallback}}``: ``object`` is ``person``, ``deal``,
``org`` or ``me`` (the sender); ``field`` is a standard field key (``first_name``, ``title``) or a custom
field's name as Pipedrive shows it (``Preferred language``). Fields are compared by their key: lower case,
spaces and hyphens read as underscores, so ``{{Person.First Name}}`` is ``{{person.first_name}}``. The
fallback is printed when the value is empty; without one an empty value prints nothing.

Rendering is plain text for WhatsApp: nothing is escaped here, and a value is never read as a placeholder
(values are substituted in one pass). A template is checked when it is saved: an unknown object or field
is refused by name (``unknown_template_field``), an unclosed ``{{`` by ``template_syntax``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from server.domain.errors import InvalidInput
from server.domain.text import Text
from server.domain.whatsapp import MAX_TEXT_LENGTH

OBJECTS = ("person", "deal", "org", "me")
MAX_FALLBACK = 200

_PLACEHOLDER = re.compile(
    r"\{\{\s*(?P<object>[A-Za-z]+)\s*\.\s*(?P<field>[^{}|]+?)\s*(?:\|(?P<fallback>[^{}]*))?\}\}"
)
_OPEN = re.compile(r"\{\{")


@dataclass(frozen=True, slots=True)
class Placeholder:
    """One ``{{object.field|fallback}}`` as written (``source``) and read (``object``, ``key``)."""

    source: str
    object: str
    field: str  # as written
    fallback: str | None

    @property
    def key(self) -> str:
        return field_key(self.field)


def field_key(name: str) -> str:
    """How a field is compared: ``First Name`` / ``first-name`` / ``first_name`` are one key."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def placeholders(text: str) -> list[Placeholder]:
    """Every placeholder in ``text``, in order (repeats included)."""
    return [
        Placeholder(
            source=match.group(0),
            object=match.group("object").lower(),
            field=match.group("field").strip(),
            fallback=match.group("fallback").strip() if match.group("fallback") is not None else None,
        )
        for match in _PLACEHOLDER.finditer(text)
    ]


def check_length(text: str) -> None:
    """``message_too_long`` when ``text`` is longer than one WhatsApp text message may be: a message typed
    in the panel, a campaign's, a saved template's."""
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidInput(
            Text(
                "WhatsApp messages are limited to %(limit)s characters; this one has %(used)s",
                limit=MAX_TEXT_LENGTH,
                used=len(text),
            ),
            reason="message_too_long",
        )


def checked_placeholders(text: str) -> list[Placeholder]:
    """``text``'s placeholders; ``template_syntax`` when a ``{{`` starts none (not closed, or not in the
    form ``{{object.field}}``)."""
    found = placeholders(text)
    if len(_OPEN.findall(text)) != len(found):
        raise InvalidInput(
            Text("A placeholder is not closed or not in the form {{person.first_name}}; check the braces"),
            reason="template_syntax",
        )
    return found


def check_template(text: str, known: Mapping[str, Iterable[str]]) -> list[Placeholder]:
    """The template's placeholders, or ``InvalidInput`` naming the first one that cannot be filled.

    ``known`` maps each object to the keys (or names) of the fields it has; a name is compared as a key.
    """
    check_length(text)
    found = checked_placeholders(text)
    keys = {name: {field_key(field) for field in fields} for name, fields in known.items()}
    for placeholder in found:
        if placeholder.object not in OBJECTS:
            raise InvalidInput(
                Text(
                    "%(placeholder)s: %(object)s is not something a template can read; use person, deal, "
                    "org or me",
                    placeholder=placeholder.source,
                    object=placeholder.object,
                ),
                reason="unknown_template_field",
            )
        if placeholder.key not in keys.get(placeholder.object, set()):
            raise InvalidInput(
                Text(
                    "%(placeholder)s: %(object)s has no field called “%(field)s”",
                    placeholder=placeholder.source,
                    object=placeholder.object,
                    field=placeholder.field,
                ),
                reason="unknown_template_field",
            )
        if placeholder.fallback is not None and len(placeholder.fallback) > MAX_FALLBACK:
            raise InvalidInput(
                Text("%(placeholder)s: the fallback is too long", placeholder=placeholder.source),
                reason="template_syntax",
            )
    return found


def render(text: str, values: Mapping[str, Mapping[str, str]]) -> str:
    """``text`` with each placeholder replaced by its value (``values[object][key]``), its fallback when the
    value is empty or missing, else nothing. Values are inserted as they are and never read again."""

    def fill(match: re.Match[str]) -> str:
        object_name = match.group("object").lower()
        value = values.get(object_name, {}).get(field_key(match.group("field")), "")
        value = value.strip() if isinstance(value, str) else ""
        if value:
            return value
        fallback = match.group("fallback")
        return fallback.strip() if fallback is not None else ""

    return _PLACEHOLDER.sub(fill, text)


def missing_values(text: str, values: Mapping[str, Mapping[str, str]]) -> list[Placeholder]:
    """Placeholders with no value and no fallback: a preview shows them, so nobody sends "Hi ,"."""
    return [
        placeholder
        for placeholder in placeholders(text)
        if placeholder.fallback is None
        and not values.get(placeholder.object, {}).get(placeholder.key, "").strip()
    ]
