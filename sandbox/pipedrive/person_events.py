"""The webhook events a Person's create, change, delete and merge send (see `webhooks`).

`data` is the Person as API v2 shows it (null on delete); `previous` is null on create, the changed
fields with their old values on change, and the last state on delete, as Pipedrive's guide for webhooks
v2 lists them. `change_source` is "api" for API calls and "app" for what a user does in Pipedrive's web
app (the sandbox's controls play that user).
"""

from __future__ import annotations

from typing import Any

from sandbox.pipedrive.person_view import person_body, shaped
from sandbox.pipedrive.state import Record, SandboxState
from sandbox.pipedrive.webhooks import Event, webhooks_for


def snapshot(state: SandboxState, person: Record) -> dict[str, Any]:
    """The Person's v2 view now, to compare with after a change."""
    return shaped(state, person_body(state, person))


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {k: before.get(k) for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)}


def _emit(
    state: SandboxState,
    company_id: int,
    action: str,
    person_id: int,
    user_id: int,
    source: str,
    data: dict[str, Any] | None,
    previous: dict[str, Any] | None,
    *,
    ids: tuple[str, str] | None = None,
    merged_to_id: int | None = None,
    merged_from_id: int | None = None,
) -> None:
    dispatcher = webhooks_for(state)
    event_id, correlation_id = dispatcher.new_ids()
    if ids is not None:
        correlation_id = ids[1]
    dispatcher.emit(
        Event(
            company_id=company_id,
            entity="person",
            action=action,
            entity_id=person_id,
            user_id=user_id,
            change_source=source,
            data=data,
            previous=previous,
            event_id=event_id,
            correlation_id=correlation_id,
            timestamp=state.clock.now(),
            merged_to_id=merged_to_id,
            merged_from_id=merged_from_id,
        )
    )


def person_created(state: SandboxState, company_id: int, person: Record, user_id: int, source: str) -> None:
    _emit(state, company_id, "create", person["id"], user_id, source, snapshot(state, person), None)


def person_changed(
    state: SandboxState,
    company_id: int,
    before: dict[str, Any],
    person: Record,
    user_id: int,
    source: str,
    *,
    ids: tuple[str, str] | None = None,
    merged_from_id: int | None = None,
) -> None:
    after = snapshot(state, person)
    _emit(
        state,
        company_id,
        "change",
        person["id"],
        user_id,
        source,
        after,
        changed_fields(before, after),
        ids=ids,
        merged_from_id=merged_from_id,
    )


def person_deleted(
    state: SandboxState,
    company_id: int,
    before: dict[str, Any],
    person_id: int,
    user_id: int,
    source: str,
    *,
    ids: tuple[str, str] | None = None,
    merged_to_id: int | None = None,
) -> None:
    _emit(
        state,
        company_id,
        "delete",
        person_id,
        user_id,
        source,
        None,
        before,
        ids=ids,
        merged_to_id=merged_to_id,
    )
