"""Request bodies the client sends, typed so mypy holds callers to v2's rules (numbers as numbers)."""

from __future__ import annotations

from typing import Any, Literal, TypedDict


class ContactInput(TypedDict, total=False):
    value: str
    primary: bool
    label: str


class PersonInput(TypedDict, total=False):
    """Body of ``POST``/``PATCH /api/v2/persons``; arrays replace the whole list on PATCH."""

    name: str
    owner_id: int
    org_id: int
    phones: list[ContactInput]
    emails: list[ContactInput]
    visible_to: int
    label_ids: list[int]
    custom_fields: dict[str, Any]


class DealInput(TypedDict, total=False):
    """Body of ``POST``/``PATCH /api/v2/deals`` (``title`` is required on create)."""

    title: str
    owner_id: int
    person_id: int
    org_id: int
    pipeline_id: int
    stage_id: int
    value: float
    currency: str
    status: str
    visible_to: int
    expected_close_date: str
    label_ids: list[int]
    custom_fields: dict[str, Any]


class LeadValue(TypedDict):
    amount: float
    currency: str


class LeadInput(TypedDict, total=False):
    """Body of ``POST /api/v1/leads``: ``title`` plus ``person_id`` or ``organization_id``."""

    title: str
    person_id: int
    organization_id: int
    owner_id: int
    label_ids: list[str]
    value: LeadValue
    expected_close_date: str
    visible_to: Literal["1", "3", "5", "7"]


class ParticipantInput(TypedDict):
    person_id: int
    primary: bool


class ActivityInput(TypedDict, total=False):
    """Body of ``POST``/``PATCH /api/v2/activities``.

    There is deliberately no ``person_id``: it is read-only in v2; link people through ``participants``.
    """

    subject: str
    type: str
    owner_id: int
    deal_id: int
    lead_id: str
    org_id: int
    due_date: str
    due_time: str
    duration: str
    busy: bool
    done: bool
    note: str
    public_description: str
    participants: list[ParticipantInput]
