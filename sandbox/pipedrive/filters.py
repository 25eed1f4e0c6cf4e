"""Saved filters: how the sandbox stores them and decides which Persons, Deals and Organizations match.

A filter is kept in Pipedrive's own shape (``GET /v1/filters/{id}``): ``type`` ``people``, ``deals`` or
``org``, and ``conditions`` ``{"glue": "and", "conditions": [group, ...]}`` where each group is
``{"glue": "and"|"or", "conditions": [{"object", "field_id", "operator", "value", "extra_value"}]}``. The
top level joins its groups with AND; a group joins its conditions with its glue; an empty group matches.

The evaluator is small on purpose, and honest about what it does:

- ``object`` is the record itself (``person`` on a people filter, ``deal`` on a deals filter,
  ``organization`` on an org filter) or a record it points at: a Person's or a Deal's Organization, a
  Deal's Person. Other combinations (a people filter on deal fields, products, activities) are refused
  when the filter is created.
- ``field_id`` is the field's id (as ``GET /v1/personFields`` numbers it), standard or custom; the value
  compared is the record's value under the field's key (a custom field's under ``custom_fields``). Phones,
  emails and labels are lists: a condition holds when one item does (``!=`` and ``NOT LIKE`` when none
  matches), so "phone starts with +49" finds every Person with a German number stored that way (the text as
  stored: Pipedrive does not normalise phones for filters either).
- operators: ``=`` and ``!=`` (text compared without case), ``LIKE '$%'`` (starts with), ``LIKE '%$%'``
  (contains), ``NOT LIKE '$%'``, ``IS NULL``, ``IS NOT NULL``, and ``<``, ``>``, ``<=``, ``>=`` on numbers.
  An option field (``enum``, ``set``) compares the option's id, given as text, as Pipedrive's filters do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.pipedrive.state import CompanyData, Record, SandboxState

FILTER_TYPES = {"people": "person", "deals": "deal", "org": "organization"}
# Which records a condition's ``object`` may name, for each kind of filter.
RELATED = {
    "person": ("person", "organization"),
    "deal": ("deal", "person", "organization"),
    "organization": ("organization",),
}
TEXT_OPERATORS = ("=", "!=", "LIKE '$%'", "LIKE '%$%'", "NOT LIKE '$%'", "IS NULL", "IS NOT NULL")
NUMBER_OPERATORS = ("<", ">", "<=", ">=")
OPERATORS = TEXT_OPERATORS + NUMBER_OPERATORS
MAX_CONDITIONS = 16  # Pipedrive: "a maximum of 16 conditions is allowed per filter"
CONTACT_KEYS = {"phone": "phones", "email": "emails"}


class FilterProblem(ValueError):
    """A filter the sandbox cannot store: the message says what is wrong, in Pipedrive's words."""


def field_store(data: CompanyData, entity: str) -> dict[int, Record]:
    return {
        "person": data.person_fields,
        "deal": data.deal_fields,
        "organization": data.organization_fields,
    }[entity]


def field_id_for(data: CompanyData, entity: str, key: str) -> int:
    """The id of ``entity``'s field with ``key`` (``name``, ``phone``, a custom field's 40-hex key)."""
    for record in field_store(data, entity).values():
        if record["key"] == key and record["active"]:
            return int(record["id"])
    raise FilterProblem(f"{entity} has no field {key!r}")


def check_conditions(data: CompanyData, kind: str, conditions: Any) -> dict[str, Any]:
    """``conditions`` as stored, after checking them against Pipedrive's shape and what the sandbox can
    evaluate; ``FilterProblem`` otherwise."""
    if not isinstance(conditions, dict) or conditions.get("glue") != "and":
        raise FilterProblem('conditions: the top-level glue must be "and"')
    groups = conditions.get("conditions")
    if not isinstance(groups, list):
        raise FilterProblem("conditions: expected a list of condition groups")
    count = 0
    checked_groups = []
    for group in groups:
        if not isinstance(group, dict) or group.get("glue") not in ("and", "or"):
            raise FilterProblem('conditions: each group needs a glue of "and" or "or"')
        items = group.get("conditions")
        if not isinstance(items, list):
            raise FilterProblem("conditions: each group needs a list of conditions")
        checked_groups.append({"glue": group["glue"], "conditions": [_check(data, kind, c) for c in items]})
        count += len(items)
    if count > MAX_CONDITIONS:
        raise FilterProblem(f"conditions: at most {MAX_CONDITIONS} conditions are allowed per filter")
    return {"glue": "and", "conditions": checked_groups}


def _check(data: CompanyData, kind: str, condition: Any) -> dict[str, Any]:
    if not isinstance(condition, dict):
        raise FilterProblem("conditions: a condition must be an object")
    entity = condition.get("object")
    if entity not in RELATED[kind]:
        raise FilterProblem(f"conditions: the sandbox cannot filter {kind} records on {entity!r}")
    field_id = str(condition.get("field_id", ""))
    if not field_id.isdigit() or int(field_id) not in field_store(data, entity):
        raise FilterProblem(f"conditions: {entity} has no field with id {field_id!r}")
    operator = condition.get("operator")
    if operator not in OPERATORS:
        raise FilterProblem(f"conditions: unknown operator {operator!r}")
    value = condition.get("value")
    if value is not None and not isinstance(value, str | int | float):
        raise FilterProblem("conditions: a value is text")
    if operator not in ("IS NULL", "IS NOT NULL") and value in (None, ""):
        raise FilterProblem(f"conditions: {operator} needs a value")
    return {
        "object": entity,
        "field_id": field_id,
        "operator": operator,
        "value": None if value is None else str(value),
        "extra_value": None,
    }


def new_filter(
    state: SandboxState,
    company_id: int,
    name: str,
    filter_type: str,
    conditions: Any,
    *,
    user_id: int,
    visible_to: str = "3",
) -> Record:
    """A saved filter, checked and stored in the company's data."""
    if filter_type not in FILTER_TYPES:
        raise FilterProblem(f"type must be one of {', '.join(FILTER_TYPES)}")
    if not name.strip():
        raise FilterProblem("name is required")
    if visible_to not in ("1", "3", "5", "7"):
        raise FilterProblem("visible_to must be 1, 3, 5 or 7")
    data = state.company_data(company_id)
    checked = check_conditions(data, FILTER_TYPES[filter_type], conditions)
    now = state.clock.now()
    record: Record = {
        "id": state.next_id("filter", company_id),
        "name": name.strip(),
        "filter_code": None,
        "is_editable": True,
        "active_flag": True,
        "type": filter_type,
        "temporary_flag": None,
        "user_id": user_id,
        "add_time": now,
        "update_time": now,
        "visible_to": visible_to,
        "last_used_time": None,
        "custom_view_id": None,
        "conditions": checked,
    }
    data.filters[record["id"]] = record
    return record


def matcher(data: CompanyData, saved: Record) -> Callable[[Record], bool]:
    """Whether a record of the filter's kind matches ``saved``."""
    kind = FILTER_TYPES[saved["type"]]
    fields = {
        entity: {str(f["id"]): f for f in field_store(data, entity).values()} for entity in RELATED[kind]
    }

    def related(record: Record, entity: str) -> Record | None:
        if entity == kind:
            return record
        if entity == "organization":
            return data.organizations.get(record.get("org_id") or 0)
        return data.persons.get(record.get("person_id") or 0)

    def holds(record: Record, condition: dict[str, Any]) -> bool:
        target = related(record, condition["object"])
        definition = fields[condition["object"]].get(condition["field_id"])
        values = _values(target, definition) if target is not None and definition is not None else []
        return _compare(values, condition["operator"], condition["value"])

    def matches(record: Record) -> bool:
        for group in saved["conditions"]["conditions"]:
            results = [holds(record, c) for c in group["conditions"]]
            if results and not (all(results) if group["glue"] == "and" else any(results)):
                return False
        return True

    return matches


def _values(record: Record, definition: Record) -> list[Any]:
    key = definition["key"]
    if definition["is_custom"]:
        raw = record.get("custom_fields", {}).get(key)
    elif key in CONTACT_KEYS:
        raw = [item.get("value") for item in record.get(CONTACT_KEYS[key], [])]
    else:
        raw = record.get(key)
    if isinstance(raw, dict):  # monetary and address values carry the number or text under "value"
        raw = raw.get("value")
    items = raw if isinstance(raw, list) else [raw]
    return [item for item in items if item is not None and item != ""]


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).casefold()


def _compare(values: list[Any], operator: str, wanted: str | None) -> bool:
    if operator == "IS NULL":
        return not values
    if operator == "IS NOT NULL":
        return bool(values)
    target = (wanted or "").casefold()
    if operator in NUMBER_OPERATORS:
        limit = _number(wanted)
        numbers = [n for n in (_number(v) for v in values) if n is not None]
        if limit is None:
            return False
        compare: dict[str, Callable[[float], bool]] = {
            "<": lambda n: n < limit,
            ">": lambda n: n > limit,
            "<=": lambda n: n <= limit,
            ">=": lambda n: n >= limit,
        }
        return any(compare[operator](n) for n in numbers)
    texts = [_text(v) for v in values]
    if operator == "=":
        return target in texts
    if operator == "!=":
        return target not in texts
    if operator == "LIKE '$%'":
        return any(t.startswith(target) for t in texts)
    if operator == "NOT LIKE '$%'":
        return not any(t.startswith(target) for t in texts)
    return any(target in t for t in texts)  # LIKE '%$%'


def visible_filters(data: CompanyData, user_id: int, filter_type: str | None) -> list[Record]:
    """The filters a user sees: their own, and everyone's shared ones (``visible_to`` other than 1)."""
    return sorted(
        (
            f
            for f in data.filters.values()
            if f["active_flag"]
            and (filter_type is None or f["type"] == filter_type)
            and (f["visible_to"] != "1" or f["user_id"] == user_id)
        ),
        key=lambda f: f["id"],
    )
