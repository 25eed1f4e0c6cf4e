"""Merging and deleting Persons, the same whether an app calls the API or a user clicks in the web app.

Merge (`PUT /api/v1/persons/{id}/merge {merge_with_id}`; Pipedrive's tutorial "Merging two persons"):
the Person of `merge_with_id` survives with its id and wins every conflict; fields it leaves empty
(organization, picture, marketing status, custom fields) take the other Person's values. Phones and
emails, which hold several values, are combined: the survivor's first (its primary stays primary), then
the other's that are not already there (compared without spaces and case). Labels are combined too. All
related data moves to the survivor: activities (`person_id` and participants, a participant listed twice
kept once), deals, leads, notes and files. The Person of `{id}` is then deleted as a delete does it, and
afterwards answers as a deleted Person: `GET /api/v2/persons/{id}` shows it with `is_deleted: true`,
lists and searches leave it out, writes naming it answer "not found". Pipedrive sends the delete (meta
`merged_to_id`) and then the survivor's change (meta `merged_from_id`), with one correlation id.

Delete is soft, as Pipedrive documents for API v2 (permanent after 30 days, not modelled): the Person
keeps its data with `is_deleted: true`. Pipedrive documents nothing about what a Person's delete does to
its deals, leads, activities, notes and files; here they stay as they were, still naming the deleted
Person, and writes to them that do not name a Person again succeed (an activity whose participant was
deleted can still be patched). New links to a deleted Person are refused as for an unknown one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.pipedrive.person_events import person_changed, person_deleted, snapshot
from sandbox.pipedrive.state import Record, SandboxState
from sandbox.pipedrive.webhooks import webhooks_for

FILLED_FROM_MERGED = ("org_id", "picture_id", "marketing_status")


@dataclass
class MergeProblem(Exception):
    """Why a merge cannot be done: `status` and `message` as Pipedrive answers, `reason` for controls."""

    status: int
    message: str
    reason: str

    def __str__(self) -> str:
        return self.message


def _key(value: Any) -> str:
    return "".join(str(value).split()).casefold()


def combine_items(kept: list[dict[str, Any]], other: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`kept`'s phones or emails, then `other`'s not already among them; one primary, the kept one."""
    result = [dict(item) for item in kept]
    seen = {_key(item["value"]) for item in result}
    for item in other:
        if _key(item["value"]) not in seen:
            seen.add(_key(item["value"]))
            result.append({**item, "primary": False})
    if result and not any(item["primary"] for item in result):
        result[0]["primary"] = True
    return result


def live(state: SandboxState, company_id: int, person_id: int | None) -> Record | None:
    person = state.company_data(company_id).persons.get(person_id or 0)
    return None if person is None or person["is_deleted"] else person


def delete_person(state: SandboxState, company_id: int, person: Record, user_id: int, source: str) -> None:
    before = snapshot(state, person)
    person.update(is_deleted=True, update_time=state.clock.now())
    person_deleted(state, company_id, before, person["id"], user_id, source)


def merge_persons(
    state: SandboxState, company_id: int, merged_id: int, merge_with_id: int | None, user_id: int, source: str
) -> tuple[Record, Record]:
    """Merge Person `merged_id` into `merge_with_id`; return (survivor, merged). Raises MergeProblem."""
    merged = live(state, company_id, merged_id)
    if merged is None:
        raise MergeProblem(404, "Person not found", "unknown_person")
    if merge_with_id is None:
        raise MergeProblem(
            400, "Invalid input: merge_with_id - This field is required", "missing_merge_with_id"
        )
    if merge_with_id == merged_id:
        raise MergeProblem(400, "Cannot merge a person with itself", "same_person")
    survivor = live(state, company_id, merge_with_id)
    if survivor is None:
        raise MergeProblem(404, "Person to merge with not found", "unknown_merge_with_id")
    survivor_before, merged_before = snapshot(state, survivor), snapshot(state, merged)
    _combine(survivor, merged)
    _move_related(state, company_id, merged_id, survivor)
    now = state.clock.now()
    survivor["update_time"] = now
    merged.update(is_deleted=True, update_time=now, merged_to_id=survivor["id"])
    ids = webhooks_for(state).new_ids()
    person_deleted(
        state, company_id, merged_before, merged_id, user_id, source, ids=ids, merged_to_id=survivor["id"]
    )
    person_changed(
        state, company_id, survivor_before, survivor, user_id, source, ids=ids, merged_from_id=merged_id
    )
    return survivor, merged


def _combine(survivor: Record, merged: Record) -> None:
    for key in FILLED_FROM_MERGED:
        if survivor.get(key) in (None, "") and merged.get(key) not in (None, ""):
            survivor[key] = merged[key]
    survivor["phones"] = combine_items(survivor["phones"], merged["phones"])
    survivor["emails"] = combine_items(survivor["emails"], merged["emails"])
    survivor["label_ids"] = list(dict.fromkeys([*survivor["label_ids"], *merged["label_ids"]]))
    custom = dict(survivor["custom_fields"])
    for key, value in merged["custom_fields"].items():
        if custom.get(key) in (None, "", []):
            custom[key] = value
    survivor["custom_fields"] = custom


def _move_related(state: SandboxState, company_id: int, merged_id: int, survivor: Record) -> None:
    data = state.company_data(company_id)
    now, survivor_id = state.clock.now(), survivor["id"]
    for activity in data.activities.values():
        named = activity["person_id"] == merged_id
        listed = any(p["person_id"] == merged_id for p in activity["participants"])
        if not (named or listed):
            continue
        if named:
            activity["person_id"] = survivor_id
        participants: dict[int, dict[str, Any]] = {}
        for item in activity["participants"]:
            person_id = survivor_id if item["person_id"] == merged_id else item["person_id"]
            if person_id in participants:
                participants[person_id]["primary"] = participants[person_id]["primary"] or item["primary"]
            else:
                participants[person_id] = {**item, "person_id": person_id}
        activity["participants"] = list(participants.values())
        activity["update_time"] = now
    for record in [*data.deals.values(), *data.leads.values(), *data.notes.values()]:
        if record.get("person_id") == merged_id:
            record.update(person_id=survivor_id, update_time=now)
    for stored in data.files.values():
        if stored.record.get("person_id") == merged_id:
            stored.record.update(person_id=survivor_id, person_name=survivor["name"], update_time=now)
