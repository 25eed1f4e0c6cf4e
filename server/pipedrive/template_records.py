"""What a message template reads from Pipedrive: the company's custom fields of Persons, Deals and
Organizations (by name, with their options' labels), and one Person's, Deal's or Organization's values as
plain text keyed the way placeholders name them (``first_name``, ``preferred_language``).

Each call is one request (a field list: its pages); nothing here is cached (the web layer caches the
field lists per company). A record or field list Pipedrive does not have (a deleted Organization, an
account without Organizations) reads as nothing rather than failing the template.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from server.domain.errors import NotFound
from server.domain.templates import field_key
from server.pipedrive.api import PipedriveApi, items_of
from server.pipedrive.models import Page, as_dict, as_list, as_str
from server.pipedrive.pagination import cursor_page, iterate_cursor

Entity = Literal["person", "deal", "org"]
ENTITIES: tuple[Entity, ...] = ("person", "deal", "org")
_FIELD_PATHS: dict[Entity, str] = {
    "person": "/api/v2/personFields",
    "deal": "/api/v2/dealFields",
    "org": "/api/v2/organizationFields",
}
_RECORD_PATHS: dict[Entity, str] = {
    "person": "/api/v2/persons",
    "deal": "/api/v2/deals",
    "org": "/api/v2/organizations",
}


@dataclass(frozen=True, slots=True)
class CustomField:
    """One custom field: its hash ``code`` under ``custom_fields``, its name, and option id → label."""

    code: str
    name: str
    options: Mapping[str, str] = field(default_factory=dict)


def _custom_field(raw: Mapping[str, Any]) -> CustomField | None:
    if not (raw.get("is_custom_field") or raw.get("edit_flag")):
        return None
    code = as_str(raw.get("field_code")) or as_str(raw.get("key")) or ""
    name = as_str(raw.get("field_name")) or as_str(raw.get("name")) or ""
    options = {
        str(as_dict(option).get("id")): as_str(as_dict(option).get("label")) or ""
        for option in as_list(raw.get("options"))
    }
    return CustomField(code, name, options) if code and name else None


async def custom_fields(api: PipedriveApi, entity: Entity) -> tuple[CustomField, ...]:
    """The company's custom fields of ``entity`` (every page); none where Pipedrive has no such list."""

    async def fetch(cursor: str | None) -> Page[CustomField]:
        data, more = await api.data("GET", _FIELD_PATHS[entity], params={"cursor": cursor, "limit": 500})
        found = [f for item in items_of(data) if (f := _custom_field(item)) is not None]
        return cursor_page(found, more)

    try:
        return tuple([found async for found in iterate_cursor(fetch)])
    except NotFound:
        return ()


async def record(api: PipedriveApi, entity: Entity, record_id: int) -> dict[str, Any] | None:
    """The record as Pipedrive sends it (v2), or ``None`` when it does not exist."""
    try:
        data, _ = await api.data("GET", f"{_RECORD_PATHS[entity]}/{record_id}")
    except NotFound:
        return None
    return data if isinstance(data, dict) else None


async def stage_name(api: PipedriveApi, stage_id: int) -> str:
    try:
        data, _ = await api.data("GET", f"/api/v2/stages/{stage_id}")
    except NotFound:
        return ""
    return as_str(as_dict(data).get("name")) or ""


def as_text(value: Any, options: Mapping[str, str] | None = None) -> str:
    """A field's value as a template prints it: numbers without a needless ``.0``, an option's label,
    a set's labels joined, an amount with its currency, an address as written."""
    if value is None or isinstance(value, bool):
        return "" if value is None else ("yes" if value else "no")
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, int):
        return (options or {}).get(str(value), str(value))
    if isinstance(value, str):
        return (options or {}).get(value, value) if options else value
    if isinstance(value, list):
        return ", ".join(text for item in value if (text := as_text(item, options)))
    if isinstance(value, Mapping):
        if "formatted_address" in value or "value" in value:
            shown = as_text(value.get("formatted_address") or value.get("value"), options)
            currency = as_str(value.get("currency"))
            return f"{shown} {currency}" if shown and currency else shown
        if "label" in value:
            return as_text(value.get("label"))
        if "name" in value:
            return as_text(value.get("name"))
    return ""


def _primary(entries: Any) -> str:
    values = [as_dict(entry) for entry in as_list(entries)]
    chosen = next((v for v in values if v.get("primary")), values[0] if values else {})
    return as_str(chosen.get("value")) or ""


def standard_values(entity: Entity, raw: Mapping[str, Any]) -> dict[str, str]:
    """The standard fields of a record (``domain.message_templates.STANDARD_FIELDS``), those that need
    another record (a Person's Organization name, a Deal's stage name) left to the caller."""
    if entity == "person":
        name = as_str(raw.get("name")) or ""
        first = as_str(raw.get("first_name")) or (name.split()[0] if name.split() else "")
        last = as_str(raw.get("last_name")) or " ".join(name.split()[1:])
        return {
            "name": name,
            "first_name": first,
            "last_name": last,
            "email": _primary(raw.get("emails")),
            "phone": _primary(raw.get("phones")),
        }
    if entity == "deal":
        return {
            "title": as_str(raw.get("title")) or "",
            "value": as_text(raw.get("value")),
            "currency": as_str(raw.get("currency")) or "",
            "status": as_str(raw.get("status")) or "",
        }
    return {"name": as_str(raw.get("name")) or "", "address": as_text(raw.get("address"))}


def custom_values(raw: Mapping[str, Any], fields: tuple[CustomField, ...]) -> dict[str, str]:
    """The record's custom fields keyed by their names (``Preferred language``: ``preferred_language``)."""
    stored = as_dict(raw.get("custom_fields"))
    return {field_key(f.name): as_text(stored.get(f.code), f.options) for f in fields}
