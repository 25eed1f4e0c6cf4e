"""Typed reads of JSON and headers we did not write (webhooks, gateway answers).

Every accessor returns ``None`` (or an empty list) for a missing key or a value of the wrong type, so
parsers decide explicitly what is required and never fail with ``KeyError`` or ``TypeError``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime

from server.domain.bounds import int64_from_json
from server.domain.errors import MalformedWebhook

JsonObject = Mapping[str, object]

_DECIMAL = re.compile(r"-?[0-9]{1,20}")
# Plausible message times: WhatsApp did not exist before 2009; nothing is stamped past 2100.
_EARLIEST = 1_230_768_000
_LATEST = 4_102_444_800


def parse_json_object(raw_body: bytes, *, what: str = "webhook body") -> JsonObject:
    """The body as a JSON object; ``MalformedWebhook`` for anything else."""
    try:
        value = json.loads(raw_body)
    except (ValueError, RecursionError) as error:
        raise MalformedWebhook(f"The {what} is not JSON") from error
    if not isinstance(value, dict):
        raise MalformedWebhook(f"The {what} is not a JSON object")
    return value


def as_object(value: object) -> JsonObject | None:
    return value if isinstance(value, dict) else None


def get_object(obj: JsonObject | None, key: str) -> JsonObject | None:
    return as_object(obj.get(key)) if obj is not None else None


def get_str(obj: JsonObject | None, key: str) -> str | None:
    """A non-blank string value."""
    value = obj.get(key) if obj is not None else None
    return value if isinstance(value, str) and value.strip() else None


def get_bool(obj: JsonObject | None, key: str) -> bool | None:
    value = obj.get(key) if obj is not None else None
    return value if isinstance(value, bool) else None


def get_int(obj: JsonObject | None, key: str) -> int | None:
    """An integer within 64 bits, also from a decimal string (the Cloud API sends timestamps as strings);
    ``None`` for any other number, however it is written."""
    value = obj.get(key) if obj is not None else None
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        value = int(value)
    if isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        value = int(value.strip())
    return int64_from_json(value)


def get_list(obj: JsonObject | None, key: str) -> list[object]:
    value = obj.get(key) if obj is not None else None
    return value if isinstance(value, list) else []


def objects_in(values: list[object]) -> list[JsonObject]:
    """The JSON objects in a list, skipping anything else."""
    return [value for value in values if isinstance(value, dict)]


def datetime_from_epoch(value: int | None, *, millis: bool = False) -> datetime | None:
    """A UTC time from epoch seconds (or milliseconds); ``None`` when absent or implausible."""
    if value is None:
        return None
    scale = 1000 if millis else 1
    if not _EARLIEST * scale <= value <= _LATEST * scale:  # compared as integers: any size is safe
        return None
    return datetime.fromtimestamp(value / scale, UTC)


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers keyed by lower-case name, whatever mapping the web layer hands over."""
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        if isinstance(name, str) and isinstance(value, str):
            lowered[name.lower()] = value
    return lowered
