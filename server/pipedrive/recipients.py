"""A company's Pipedrive as campaigns read it: saved filters, the records a filter or a selection names, and
the "WhatsApp opt-out" Person field (``RecipientSource`` and ``OptOutMarker`` of
``server.domain.ports.recipients``).

    recipients = await recipients_for(connector, company_id)   # the admin installation's client
    people = await recipients.by_filter(ListKind.PERSON, 7, needs=frozenset({"org"}))

What a read costs (requests, each metered and rate-limited like every call): one per field list it needs
(``personFields``; ``dealFields`` when ``deal`` is needed; ``organizationFields`` when ``org`` is), one
``GET /v1/users`` for the owners' names, then

- Persons by filter: one ``GET /api/v2/persons`` per 500; by id: one per 100 ids;
- Deals by filter: one ``GET /api/v2/deals`` per 500 (by id: per 100), then their Persons one call per 100
  distinct Persons, and the stages (one call) when ``deal`` is needed;
- Organizations (only when ``org`` is needed): one call per 100 distinct Organizations.

5,000 Persons by filter are a dozen requests; 5,000 Deals with their Persons and Organizations about 115.
Nothing is read per recipient.

A Deal without a Person, or whose Person is deleted, gives no recipient; a Person on several of the Deals
is a recipient once per Deal (``deal_id`` tells them apart; the campaign keeps one). A filter Pipedrive
does not know (deleted, private to another user, or of the other list) is ``NotFound``.

The opt-out field (type date) is found by name and created once when missing, as the chat-link field is
(``company_records``); its key is kept for the object's life. A Person's opt-out, whoever set it, reads as
the placeholder value ``person.whatsapp_opt_out`` (``RecipientRecord.opted_out``), and every campaign skips
that Person.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from server.domain.errors import InvalidInput, NotFound, Permanent
from server.domain.ports.pipedrive import PipedriveForCompany
from server.domain.ports.recipients import OPT_OUT_FIELD_NAME, ListKind, RecipientRecord, SavedFilter
from server.domain.text import Text
from server.pipedrive.client import PipedriveClient
from server.pipedrive.fields import ensure_field
from server.pipedrive.lists import FilterType, Listed, Lists, Record
from server.pipedrive.models import as_int, as_str
from server.pipedrive.recipient_values import (
    FieldNames,
    contact_values,
    deal_values,
    org_values,
    person_values,
)

FILTER_TYPES: dict[ListKind, FilterType] = {ListKind.PERSON: "people", ListKind.DEAL: "deals"}
OBJECTS = frozenset({"deal", "org"})
LISTED: dict[ListKind, Listed] = {ListKind.PERSON: "persons", ListKind.DEAL: "deals"}


class PipedriveRecipients:
    """One company's lists and opt-out field, through the admin installation's client."""

    def __init__(self, client: PipedriveClient) -> None:
        self.client = client
        self._lists = Lists(client.api)
        self._opt_out_key: str | None = None  # the opt-out field's key, once read

    async def filters(self, kind: ListKind) -> list[SavedFilter]:
        found = []
        for raw in await self._lists.saved_filters(FILTER_TYPES[kind]):
            filter_id, name = as_int(raw.get("id")), as_str(raw.get("name"))
            if filter_id is not None and name and raw.get("active_flag", True) is not False:
                found.append(SavedFilter(id=filter_id, name=name, kind=kind))
        return found

    async def by_filter(
        self, kind: ListKind, filter_id: int, *, needs: frozenset[str]
    ) -> list[RecipientRecord]:
        _check_needs(needs)
        listed = LISTED[kind]
        try:
            records = await self._lists.by_filter(listed, filter_id)
        except (NotFound, Permanent) as error:
            if isinstance(error, NotFound) or error.reason == "bad_request":
                raise NotFound(
                    Text(
                        "Pipedrive has no filter %(id)s for this list (it was deleted, is private to "
                        "someone else, or filters the other list); choose another filter",
                        id=filter_id,
                    )
                ) from error
            raise
        return await self._records(kind, records, needs)

    async def by_ids(self, kind: ListKind, ids: list[int], *, needs: frozenset[str]) -> list[RecipientRecord]:
        _check_needs(needs)
        if any(isinstance(i, bool) or not isinstance(i, int) or i <= 0 for i in ids):
            raise InvalidInput(Text("A selected record id is not a Pipedrive id"), reason="invalid_id")
        listed = LISTED[kind]
        found = await self._lists.by_ids(listed, ids)
        ordered = [found[i] for i in dict.fromkeys(ids) if i in found]
        return await self._records(kind, ordered, needs)

    async def _records(
        self, kind: ListKind, records: Sequence[Record], needs: frozenset[str]
    ) -> list[RecipientRecord]:
        persons: Mapping[int, Record]
        rows: list[tuple[int, Record | None]]
        if kind is ListKind.PERSON:
            persons = {id_: r for r in records if (id_ := as_int(r.get("id"))) is not None}
            rows = [(person_id, None) for person_id in persons]
        else:
            deals = [d for d in records if as_int(d.get("person_id")) is not None]
            wanted = [as_int(d.get("person_id")) or 0 for d in deals]
            persons = await self._lists.by_ids("persons", wanted) if wanted else {}
            rows = [(as_int(d.get("person_id")) or 0, d) for d in deals]
        if not persons:
            return []
        person_names = FieldNames(await self._lists.fields("person"))
        owners = await self._owner_names()
        deal_names, stages = FieldNames([]), dict[int, str]()
        if "deal" in needs and kind is ListKind.DEAL:
            deal_names = FieldNames(await self._lists.fields("deal"))
            stages = {stage.id: stage.name for stage in await self.client.deals.stages()}
        organizations: Mapping[int, Record] = {}
        org_names = FieldNames([])
        if "org" in needs:
            org_ids = [i for person_id, deal in rows if (i := _org_of(persons, person_id, deal)) is not None]
            if org_ids:
                organizations = await self._lists.by_ids("organizations", org_ids)
                org_names = FieldNames(await self._lists.fields("organization"))
        result = []
        for person_id, deal in rows:
            person = persons.get(person_id)
            if person is None or person.get("is_deleted") is True:
                continue
            values: dict[str, Mapping[str, str]] = {"person": person_values(person, person_names, owners)}
            if deal is not None and "deal" in needs:
                values["deal"] = deal_values(deal, deal_names, stages)
            org_id = _org_of(persons, person_id, deal)
            if "org" in needs and org_id is not None and org_id in organizations:
                values["org"] = org_values(organizations[org_id], org_names)
            result.append(
                RecipientRecord(
                    person_id=person_id,
                    name=as_str(person.get("name")) or "",
                    phones=contact_values(person, "phones"),
                    owner_id=as_int(person.get("owner_id")),
                    deal_id=as_int(deal.get("id")) if deal is not None else None,
                    values=values,
                )
            )
        return result

    async def _owner_names(self) -> dict[int, str]:
        """The users' names for ``person.owner``; none when the installation may not list users (the
        value is a nicety, not worth failing a campaign for)."""
        try:
            return await self._lists.user_names()
        except Permanent as error:
            if error.reason in ("scope_missing", "forbidden"):
                return {}
            raise

    async def mark_opted_out(self, person_id: int, when: str) -> None:
        try:
            date.fromisoformat(when)
        except (TypeError, ValueError) as error:
            refused = Text("An opt-out date is a day like 2026-03-02, not %(when)s", when=str(when)[:40])
            raise InvalidInput(refused, reason="invalid_date") from error
        if isinstance(person_id, bool) or not isinstance(person_id, int) or person_id <= 0:
            raise InvalidInput(Text("A selected record id is not a Pipedrive id"), reason="invalid_id")
        key = await self._opt_out_field()
        try:
            await self._set_opt_out(person_id, key, when)
        except Permanent as error:
            if error.reason != "bad_request":
                raise
            # Someone deleted the field since its key was read: find or create it again, once.
            self._opt_out_key = None
            await self._set_opt_out(person_id, await self._opt_out_field(), when)

    async def _set_opt_out(self, person_id: int, key: str, when: str) -> None:
        await self.client.persons.update(person_id, {"custom_fields": {key: when}})

    async def _opt_out_field(self) -> str:
        """The key of the Person field "WhatsApp opt-out": kept, else found by name, else created."""
        if self._opt_out_key:
            return self._opt_out_key
        self._opt_out_key = await ensure_field(self.client.fields, "person", OPT_OUT_FIELD_NAME, "date")
        return self._opt_out_key


def _org_of(persons: Mapping[int, Record], person_id: int, deal: Record | None) -> int | None:
    """The Organization of a recipient: the Deal's when there is one, else the Person's."""
    if deal is not None and as_int(deal.get("org_id")) is not None:
        return as_int(deal.get("org_id"))
    person = persons.get(person_id)
    return as_int(person.get("org_id")) if person is not None else None


def _check_needs(needs: Any) -> None:
    unknown = set(needs) - OBJECTS
    if unknown:
        raise InvalidInput(
            Text("A campaign can read deal and org values, not %(names)s", names=", ".join(sorted(unknown))),
            reason="unknown_template_field",
        )


async def recipients_for(
    connector: PipedriveForCompany[PipedriveClient], company_id: int
) -> PipedriveRecipients:
    """The company's ``RecipientSource`` and ``OptOutMarker`` over its admin installation (``NotInstalled``
    or ``NeedsReauth`` when it has none that works)."""
    return PipedriveRecipients(await connector.for_company(company_id))
