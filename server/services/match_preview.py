"""The settings page's matching preview: which Person each pasted number would be linked to, and by which
rule, without writing anything: no Person is created, the stored phone index is read and never refreshed
or saved. A number the stored index does not know is looked up with Pipedrive's phone searches, which
find what the engine's refresh of the index would (a Person added or changed since the last refresh)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from server.domain.matching import PersonPhones, PhoneIndex, match_search_hits, plan_searches
from server.domain.phones import is_international, region_of, to_e164
from server.domain.sync import CrmPerson

MAX_PREVIEW_LINES = 20


class PersonSearch(Protocol):
    async def search_persons(self, term: str, *, exact: bool, field: str = "phone") -> list[CrmPerson]: ...


class IndexReader(Protocol):
    async def persons(self, company_id: int) -> list[PersonPhones]: ...

    async def person_name(self, company_id: int, person_id: int) -> str | None: ...


@dataclass(frozen=True, slots=True)
class PreviewRow:
    typed: str
    e164: str | None = None
    person_id: int | None = None
    person_name: str = ""
    rule: str = ""  # a MatchRule value; "" when nothing matched
    source: str = ""  # "index" | "search"
    reason: str = ""  # a named refusal of the typed line
    message: str = ""
    alternatives: tuple[int, ...] = ()


async def preview_matches(
    lines: Sequence[str],
    *,
    company_id: int,
    index_store: IndexReader,
    crm: PersonSearch | None,
    region: str | None,
) -> list[PreviewRow]:
    """One row per non-empty line (at most ``MAX_PREVIEW_LINES``)."""
    index = PhoneIndex(region)
    index.apply(await index_store.persons(company_id))
    rows: list[PreviewRow] = []
    for raw in [line.strip() for line in lines if line.strip()][:MAX_PREVIEW_LINES]:
        typed = raw[:64]
        if not is_international(typed) and region is None:
            rows.append(
                PreviewRow(
                    typed,
                    reason="country_code_needed",
                    message="Write the number with its country code (+…)",
                )
            )
            continue
        e164 = to_e164(typed, default_region=region)
        if e164 is None:
            rows.append(PreviewRow(typed, reason="number_invalid", message="Not a valid phone number"))
            continue
        rows.append(await _one(typed, e164, company_id, index, index_store, crm, region))
    return rows


async def _one(
    typed: str,
    e164: str,
    company_id: int,
    index: PhoneIndex,
    index_store: IndexReader,
    crm: PersonSearch | None,
    region: str | None,
) -> PreviewRow:
    found = index.match(e164)
    if found is not None:
        name = await index_store.person_name(company_id, found.person_id) or ""
        return PreviewRow(
            typed, e164, found.person_id, name, found.rule.value, "index", alternatives=found.alternatives
        )
    if crm is None:
        return PreviewRow(
            typed,
            e164,
            reason="pipedrive_unavailable",
            message="Not in the local index; Pipedrive could not be searched",
        )
    number_region = region_of(e164) or region
    for step in plan_searches(e164):
        hits = await crm.search_persons(step.term, exact=step.exact_match)
        phones = [PersonPhones(hit.id, hit.phones) for hit in hits]
        result = match_search_hits(e164, phones, default_region=number_region)
        if result is not None:
            name = next((hit.name for hit in hits if hit.id == result.person_id), "")
            return PreviewRow(
                typed,
                e164,
                result.person_id,
                name,
                result.rule.value,
                "search",
                alternatives=result.alternatives,
            )
    return PreviewRow(typed, e164)
