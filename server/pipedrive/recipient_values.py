"""A campaign recipient's placeholder values, read from Pipedrive's Person, Deal and Organization JSON.

``values[object][key]`` as ``server.domain.templates`` renders them: standard fields by their key
(``person.first_name``, ``deal.title``, ``org.name``), custom fields by their name's key (a field named
"Preferred language" is ``person.preferred_language``), option fields as their labels (a multiple-option
field as "A, B"), money as "4800 EUR", an address as its text. Field names come from the field
definitions, read once per list (``FieldNames``); a value nobody can read (a user, a file) is left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from server.domain.templates import field_key
from server.pipedrive.models import as_dict, as_int, as_list, as_str

Record = Mapping[str, Any]
READABLE_TYPES = frozenset(
    {"varchar", "varchar_auto", "text", "double", "phone", "date", "enum", "set", "address", "monetary"}
)


@dataclass(frozen=True, slots=True)
class CustomField:
    key: str  # the placeholder key of the field's name
    field_type: str
    options: Mapping[int, str]


class FieldNames:
    """Custom fields of one entity: Pipedrive's 40-hex field code → what a template calls it."""

    def __init__(self, definitions: list[Record]) -> None:
        self._fields: dict[str, CustomField] = {}
        for definition in definitions:
            code = as_str(definition.get("field_code")) or ""
            name = as_str(definition.get("field_name")) or ""
            custom = definition.get("is_custom_field") is True
            field_type = as_str(definition.get("field_type")) or ""
            if not (custom and code and name.strip() and field_type in READABLE_TYPES):
                continue
            options = {
                option_id: label
                for option in as_list(definition.get("options"))
                if (option_id := as_int(as_dict(option).get("id"))) is not None
                and isinstance(label := as_dict(option).get("label"), str)
            }
            self._fields[code] = CustomField(field_key(name), field_type, options)

    def values(self, custom_fields: Any) -> dict[str, str]:
        """The record's readable custom values by their name's key (empty ones left out)."""
        found: dict[str, str] = {}
        for code, raw in as_dict(custom_fields).items():
            described = self._fields.get(code)
            text = _text(raw, described) if described is not None else ""
            if text and described is not None:
                found.setdefault(described.key, text)
        return found


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return as_str(value) or ""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _text(raw: Any, described: CustomField) -> str:
    if raw is None:
        return ""
    if described.field_type in ("enum", "set"):
        items = raw if isinstance(raw, list) else str(raw).split(",") if isinstance(raw, str) else [raw]
        labels = []
        for item in items:
            option = as_int(item)
            label = described.options.get(option) if option is not None else None
            if label:
                labels.append(label)
        return ", ".join(labels)
    if described.field_type == "monetary":
        money = as_dict(raw) if isinstance(raw, Mapping) else {"value": raw}
        currency = as_str(money.get("currency")) or ""
        return " ".join(p for p in (_number(money.get("value")), currency) if p)
    if isinstance(raw, Mapping):  # an address: {"value": "..."}; a date range: {"value", "until"}
        return as_str(raw.get("value")) or ""
    return _number(raw) if described.field_type == "double" else (as_str(raw) or "").strip()


def contact_values(record: Record, key: str) -> tuple[str, ...]:
    """A Person's phones or emails as stored, the primary one first."""
    items = [as_dict(item) for item in as_list(record.get(key))]
    ordered = sorted(items, key=lambda item: item.get("primary") is not True)
    return tuple(value for item in ordered if (value := (as_str(item.get("value")) or "").strip()))


def person_values(person: Record, names: FieldNames, owners: Mapping[int, str]) -> dict[str, str]:
    values = names.values(person.get("custom_fields"))
    phones, emails = contact_values(person, "phones"), contact_values(person, "emails")
    owner = owners.get(as_int(person.get("owner_id")) or 0, "")
    standard = {
        "name": as_str(person.get("name")) or "",
        "first_name": as_str(person.get("first_name")) or "",
        "last_name": as_str(person.get("last_name")) or "",
        "phone": phones[0] if phones else "",
        "email": emails[0] if emails else "",
        "owner": owner,
        "owner_name": owner,
    }
    values.update({key: value for key, value in standard.items() if value})
    return values


def deal_values(deal: Record, names: FieldNames, stages: Mapping[int, str]) -> dict[str, str]:
    values = names.values(deal.get("custom_fields"))
    amount = deal.get("value")
    standard = {
        "title": as_str(deal.get("title")) or "",
        "value": _number(amount) if amount not in (None, 0, 0.0) else "",
        "currency": as_str(deal.get("currency")) or "",
        "status": as_str(deal.get("status")) or "",
        "stage": stages.get(as_int(deal.get("stage_id")) or 0, ""),
    }
    values.update({key: value for key, value in standard.items() if value})
    return values


def org_values(organization: Record, names: FieldNames) -> dict[str, str]:
    values = names.values(organization.get("custom_fields"))
    address = as_dict(organization.get("address")).get("value") if organization.get("address") else None
    standard = {"name": as_str(organization.get("name")) or "", "address": as_str(address) or ""}
    values.update({key: value for key, value in standard.items() if value})
    return values
