"""Pipedrive's webhook deliveries about Persons (payload version 2.0), and the credentials they carry.

A delivery is ``{"meta": {...}, "data": <the Person now, or null>, "previous": <changed fields or null>}``.
``meta`` names the action (``create``, ``change``, ``delete``), the entity and its id, Pipedrive's company
id and the delivery's own id (the same on every retry). A merge arrives as the merged-away Person's
``delete`` carrying ``merged_to_id`` (the surviving Person), plus a ``change`` of the survivor.

Pipedrive sends the HTTP Basic credentials given when the webhook was created. WaPipe stores none: the
password of a company is derived from a server secret (``webhook_password``), so it can be checked again
for every delivery and given again when the webhook is created anew.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from server.domain.bounds import id_from_json, id_from_text
from server.domain.errors import MalformedWebhook
from server.domain.sync import CrmPerson

WEBHOOK_USER = "wapipe"
ACTIONS = frozenset({"create", "change", "delete"})


def webhook_password(secret: str, pipedrive_company_id: int) -> str:
    """The Basic password of a company's Pipedrive webhook: hex HMAC-SHA256 keyed with ``secret``."""
    message = f"pipedrive-webhook:{pipedrive_company_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class PersonEvent:
    """One Person delivery as WaPipe uses it."""

    delivery_id: str  # meta.id: the same on every retry of the delivery
    company_id: int  # Pipedrive's company id
    action: str  # create | change | delete
    person_id: int
    merged_to_id: int | None = None  # a delete caused by a merge: the Person that survives
    person: CrmPerson | None = None  # the Person as ``data`` has it (create, change)

    @property
    def is_merge(self) -> bool:
        return self.action == "delete" and self.merged_to_id is not None


def _object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise MalformedWebhook("The Pipedrive webhook body is not JSON", reason="invalid_json") from error
    if not isinstance(body, dict):
        raise MalformedWebhook("The Pipedrive webhook body must be a JSON object", reason="invalid_body")
    return body


def _meta(body: dict[str, Any]) -> dict[str, Any]:
    meta = body.get("meta")
    if not isinstance(meta, dict):
        raise MalformedWebhook("The Pipedrive webhook has no meta object", reason="missing_meta")
    return meta


def _id(value: Any) -> int | None:
    """An id given as a JSON integer or its plain digits (``domain.bounds``); ``None`` otherwise."""
    return id_from_text(value) if isinstance(value, str) else id_from_json(value)


def company_of(raw: bytes) -> int | None:
    """Pipedrive's company id in ``meta.company_id``, or ``None`` when the body does not say (read before
    the credentials are checked, so nothing else of the body is trusted)."""
    try:
        return _id(_meta(_object(raw)).get("company_id"))
    except MalformedWebhook:
        return None


def entity_of(raw: bytes) -> str:
    """``meta.entity`` (``person``, ``deal``, ...); ``MalformedWebhook`` when there is none."""
    entity = _meta(_object(raw)).get("entity")
    if not isinstance(entity, str) or not entity:
        raise MalformedWebhook("The Pipedrive webhook's meta names no entity", reason="missing_entity")
    return entity


def delivery_id(raw: bytes) -> str:
    """``meta.id``, which a retry of the delivery repeats; ``MalformedWebhook`` when missing."""
    value = _meta(_object(raw)).get("id")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        raise MalformedWebhook(
            "The Pipedrive webhook's meta has no delivery id", reason="missing_delivery_id"
        )
    return value.strip()


def parse_person_event(raw: bytes) -> PersonEvent:
    """The Person delivery in ``raw``; ``MalformedWebhook`` with a named reason when it is not one."""
    body = _object(raw)
    meta = _meta(body)
    if meta.get("entity") != "person":
        raise MalformedWebhook("The Pipedrive webhook is not about a Person", reason="not_a_person_event")
    action = meta.get("action")
    if action not in ACTIONS:
        raise MalformedWebhook(
            f"The Pipedrive webhook's action must be one of {', '.join(sorted(ACTIONS))}",
            reason="unknown_action",
        )
    company_id = _id(meta.get("company_id"))
    if company_id is None:
        raise MalformedWebhook("The Pipedrive webhook names no company", reason="missing_company_id")
    person_id = _id(meta.get("entity_id"))
    data = body.get("data")
    if person_id is None and isinstance(data, dict):
        person_id = _id(data.get("id"))
    if person_id is None:
        raise MalformedWebhook("The Pipedrive webhook names no Person", reason="missing_entity_id")
    merged_raw = meta.get("merged_to_id")
    merged_to_id = _id(merged_raw)
    if merged_raw is not None and merged_to_id is None:
        raise MalformedWebhook("merged_to_id must be a Person id", reason="invalid_merged_to_id")
    if merged_to_id == person_id:
        merged_to_id = None
    person = _person(person_id, data) if action != "delete" and isinstance(data, dict) else None
    return PersonEvent(delivery_id(raw), company_id, str(action), person_id, merged_to_id, person)


def _person(person_id: int, data: dict[str, Any]) -> CrmPerson:
    phones: list[str] = []
    raw_phones = data.get("phones", data.get("phone"))
    for item in raw_phones if isinstance(raw_phones, list) else []:
        value = item.get("value") if isinstance(item, dict) else item
        if isinstance(value, str) and value.strip():
            phones.append(value.strip())
    name = data.get("name")
    return CrmPerson(
        id=person_id,
        name=name[:255] if isinstance(name, str) else "",
        phones=tuple(phones),
        update_time=pipedrive_time(data.get("update_time")),
        is_deleted=data.get("is_deleted") is True,
    )


def pipedrive_time(value: Any) -> datetime | None:
    """A Pipedrive time stamp ("2026-03-02 08:00:00", ISO with Z or an offset) as an aware UTC time;
    ``None`` for anything else."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
