"""A Person as API v2 shows it: what `GET /api/v2/persons/{id}` answers and webhooks v2 carry as `data`."""

from __future__ import annotations

from typing import Any

from sandbox.pipedrive.state import Record, SandboxState


def person_body(state: SandboxState, person: Record, custom_keys: set[str] | None = None) -> dict[str, Any]:
    """Every v2 field of `person`, nulls included (the API drops them unless told to emit nulls)."""
    custom = person["custom_fields"]
    if custom_keys is not None:
        custom = {k: v for k, v in custom.items() if k in custom_keys}
    return {
        "id": person["id"],
        "name": person["name"],
        "first_name": person["first_name"],
        "last_name": person["last_name"],
        "owner_id": person["owner_id"],
        "org_id": person["org_id"],
        "add_time": state.rfc3339(person["add_time"]),
        "update_time": state.rfc3339(person["update_time"]),
        "emails": [dict(e) for e in person["emails"]],
        "phones": [dict(p) for p in person["phones"]],
        "is_deleted": person["is_deleted"],
        "visible_to": person["visible_to"],
        "label_ids": list(person["label_ids"]),
        "picture_id": person["picture_id"],
        "custom_fields": dict(custom),
    }


def shaped(state: SandboxState, body: dict[str, Any]) -> dict[str, Any]:
    """`body` without its nulls, as the API answers, unless the sandbox is told to emit them."""
    return dict(body) if state.emit_nulls else {k: v for k, v in body.items() if v is not None}
