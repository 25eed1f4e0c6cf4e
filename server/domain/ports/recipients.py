"""Ports between campaigns and the company's Pipedrive: who a campaign is for, and marking an opt-out.

``server.pipedrive.recipients`` implements them over the admin installation's client; the campaign
services (``server.services.campaigns``) use them. Reading recipients is paged (500 records a page, Persons
by id 100 a call), so a campaign costs a few list requests, never one per recipient.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from server.domain.templates import field_key

OPT_OUT_FIELD_NAME = (
    "WhatsApp opt-out"  # the Person field (a date) that says a Person asked not to be written to
)
OPT_OUT_VALUE = field_key(OPT_OUT_FIELD_NAME)  # its placeholder key in ``RecipientRecord.values["person"]``


class ListKind(StrEnum):
    """The Pipedrive list a campaign's recipients come from."""

    PERSON = "person"
    DEAL = "deal"


@dataclass(frozen=True, slots=True)
class SavedFilter:
    """One of the company's saved Pipedrive filters (``GET /v1/filters?type=people|deals``)."""

    id: int
    name: str
    kind: ListKind


@dataclass(frozen=True, slots=True)
class RecipientRecord:
    """One Person a campaign may write to, as read from Pipedrive.

    ``phones`` are as stored in Pipedrive, the primary one first. ``deal_id`` is the Deal the Person was
    selected through (deal lists), else ``None``. ``values`` are the placeholder values
    (``server.domain.templates``): ``values["person"|"deal"|"org"][field_key] = text``, standard fields by
    their key and custom fields by their name's key; ``org`` and ``deal`` are filled only when asked for.
    """

    person_id: int
    name: str
    phones: tuple[str, ...]
    owner_id: int | None = None
    deal_id: int | None = None
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def opted_out(self) -> bool:
        """Whether the Person's "WhatsApp opt-out" field had a value when it was read: WaPipe sets it for a
        stop word, and anyone in the company may set it by hand."""
        return bool(self.values.get("person", {}).get(OPT_OUT_VALUE, "").strip())


class RecipientSource(Protocol):
    """The company's Pipedrive lists, read for a campaign. Errors are the domain's (``Transient``,
    ``BudgetExhausted``, ``NeedsReauth``, ``NotFound`` for an unknown filter)."""

    async def filters(self, kind: ListKind) -> list[SavedFilter]:
        """The company's saved filters for Persons or Deals (one request)."""
        ...

    async def by_filter(
        self, kind: ListKind, filter_id: int, *, needs: frozenset[str]
    ) -> list[RecipientRecord]:
        """Every record the filter matches, in Pipedrive's order (a Person once per Deal it is on for deal
        lists). ``needs`` names the placeholder objects to fill besides ``person`` (``deal``, ``org``)."""
        ...

    async def by_ids(self, kind: ListKind, ids: list[int], *, needs: frozenset[str]) -> list[RecipientRecord]:
        """The selected records, in the order given; ids Pipedrive does not know are left out."""
        ...


class OptOutMarker(Protocol):
    """Records in Pipedrive that a Person asked not to be messaged (a Person field the team can see)."""

    async def mark_opted_out(self, person_id: int, when: str) -> None:
        """Sets the Person's "WhatsApp opt-out" field to ``when`` (an ISO date); idempotent."""
        ...
