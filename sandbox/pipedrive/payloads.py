"""Request-body checks: strict for v2 (JSON types exactly, no unknown or read-only keys), lenient for v1."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sandbox.pipedrive.gateway import ApiError, bad_request

HH_MM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$")


def _type_error(name: str, expected: str, value: Any) -> ApiError:
    got = "null" if value is None else type(value).__name__
    got = {"str": "string", "int": "number", "float": "number", "bool": "boolean", "dict": "object"}.get(
        got, got
    )
    return bad_request(f"Validation failed: {name}: Expected {expected}, received {got}")


class V2Body:
    """A v2 JSON body. Constructing it rejects read-only and unknown keys with 400 ERR_BAD_REQUEST."""

    def __init__(
        self, raw: dict[str, Any], *, writable: Iterable[str], readonly: dict[str, str] | None = None
    ) -> None:
        allowed = set(writable)
        for key in raw:
            if readonly and key in readonly:
                raise bad_request(f"'{key}' is a read-only field. {readonly[key]}".strip())
            if key not in allowed:
                raise bad_request(f"Validation failed: '{key}' is not an allowed field")
        self.raw = raw

    def has(self, name: str) -> bool:
        return name in self.raw

    def integer(self, name: str, *, required: bool = False, nullable: bool = False) -> int | None:
        value = self.raw.get(name)
        if value is None:
            if required:
                raise bad_request(f"Validation failed: {name}: Required")
            if name in self.raw and not nullable:
                raise _type_error(name, "number", value)
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise _type_error(name, "number", value)
        return value

    def number(self, name: str) -> float | None:
        value = self.raw.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _type_error(name, "number", value)
        return float(value)

    def string(self, name: str, *, required: bool = False, nullable: bool = True) -> str | None:
        value = self.raw.get(name)
        if value is None:
            if required:
                raise bad_request(f"Validation failed: {name}: Required")
            if name in self.raw and not nullable:
                raise _type_error(name, "string", value)
            return None
        if not isinstance(value, str):
            raise _type_error(name, "string", value)
        return value

    def boolean(self, name: str) -> bool | None:
        value = self.raw.get(name)
        if value is None:
            return None
        if not isinstance(value, bool):
            raise _type_error(name, "boolean", value)
        return value

    def int_list(self, name: str) -> list[int] | None:
        value = self.raw.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, int) for v in value):
            raise _type_error(name, "array of numbers", value)
        return list(value)

    def objects(self, name: str) -> list[dict[str, Any]] | None:
        value = self.raw.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise _type_error(name, "array of objects", value)
        return list(value)

    def obj(self, name: str) -> dict[str, Any] | None:
        value = self.raw.get(name)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise _type_error(name, "object", value)
        return dict(value)

    def date(self, name: str) -> str | None:
        value = self.string(name)
        if value is None:
            return None
        try:
            date.fromisoformat(value)
        except ValueError as exc:
            raise bad_request(f"Validation failed: {name}: Invalid date, expected YYYY-MM-DD") from exc
        return value

    def time(self, name: str) -> str | None:
        value = self.string(name)
        if value is None:
            return None
        if not HH_MM.match(value):
            raise bad_request(f"Validation failed: {name}: '{value}' is not a valid time (HH:MM)")
        return value[:5]

    def rfc3339(self, name: str) -> str | None:
        value = self.string(name)
        if value is None:
            return None
        parse_rfc3339(value, name)
        return value


def parse_rfc3339(value: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise bad_request(f"Validation failed: {name}: Invalid date-time, expected RFC 3339") from exc
    if parsed.tzinfo is None:
        raise bad_request(f"Validation failed: {name}: RFC 3339 date-time needs a time zone")
    return parsed


def contact_items(body: V2Body, name: str) -> list[dict[str, Any]] | None:
    """`emails` / `phones` items `{value, primary, label}`, strictly typed; first one primary by default"""
    items = body.objects(name)
    if items is None:
        return None
    result: list[dict[str, Any]] = []
    for item in items:
        sub = V2Body(item, writable=("value", "primary", "label"))
        value = sub.string("value", required=True)
        primary = sub.boolean("primary")
        result.append({"value": value, "primary": bool(primary), "label": sub.string("label") or "work"})
    if result and not any(i["primary"] for i in result):
        result[0]["primary"] = True
    return result


def v1_int(value: Any, name: str) -> int | None:
    """v1 is lenient: numbers may come as strings (form bodies, query strings)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ApiError(400, f"Invalid input: {name} - must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise ApiError(400, f"Invalid input: {name} - must be an integer")


def query_int(raw: str | None, name: str, *, strict: bool = True) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.lstrip("-").isdigit():
        if strict:
            raise bad_request(f"Validation failed: {name}: Expected number, received string")
        raise ApiError(400, f"Invalid input: {name} - must be an integer")
    return int(raw)


def query_bool(raw: str | None, name: str) -> bool | None:
    if raw is None or raw == "":
        return None
    if raw not in ("true", "false"):
        raise bad_request(f"Validation failed: {name}: Expected boolean, received string")
    return raw == "true"
