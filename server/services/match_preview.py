"""The settings page's matching preview: which Person each pasted number would be linked to, and by which
rule, without writing anything: no Person is created, the stored phone index is read and never refreshed
or saved. A number the stored index does not know is looked up with Pipedrive's phone searches, which
find what the engine's refresh of the index would (a Person added or changed since the last refresh).
Each row says in plain words (``domain.match_words``) which phone of which Person matched and how, the
other candidates with theirs, or what a chat from the number would create under the current settings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from server.domain.match_words import (
    candidate_sentence,
    matched_sentence,
    no_match_sentence,
    person_label,
    phone_match,
)
from server.domain.matching import (
    MatchResult,
    MatchRule,
    PersonPhones,
    PhoneIndex,
    match_search_hits,
    plan_searches,
)
from server.domain.phone_numbers import is_international, to_e164
from server.domain.ports.pipedrive import PersonSearch
from server.domain.ports.sync_store import PhoneIndexReader
from server.domain.sync import SyncSettings
from server.domain.text import Text

MAX_PREVIEW_LINES = 20
MAX_OTHERS_SHOWN = 5


@dataclass(frozen=True, slots=True)
class PreviewRow:
    typed: str
    e164: str | None = None
    person_id: int | None = None
    person_name: str = ""
    rule: str = ""  # a MatchRule value; "" when nothing matched
    source: str = ""  # "index" | "search"
    reason: str = ""  # a named refusal of the typed line
    message: str | Text = ""
    alternatives: tuple[int, ...] = ()
    sentence: str | Text = ""  # what matched, or what a chat from the number would create, in plain words
    others: tuple[Text, ...] = ()  # the other candidates, best first, each with how it matched
    more_others: int = 0  # candidates beyond those in ``others``


async def preview_matches(
    lines: Sequence[str],
    *,
    company_id: int,
    index_store: PhoneIndexReader,
    crm: PersonSearch | None,
    region: str | None,
    settings: SyncSettings | None = None,
    pipeline: str | None = None,
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
                    message=Text("Write the number with its country code (+…)"),
                )
            )
            continue
        e164 = to_e164(typed, default_region=region)
        if e164 is None:
            rows.append(PreviewRow(typed, reason="number_invalid", message=Text("Not a valid phone number")))
            continue
        row = await _one(typed, e164, company_id, index, index_store, crm, region)
        if row.person_id is None and not row.reason and settings is not None:
            row = replace(row, sentence=no_match_sentence(e164, settings, pipeline=pipeline))
        rows.append(row)
    return rows


async def _one(
    typed: str,
    e164: str,
    company_id: int,
    index: PhoneIndex,
    index_store: PhoneIndexReader,
    crm: PersonSearch | None,
    region: str | None,
) -> PreviewRow:
    found = index.match(e164)
    if found is not None:
        names = {}
        for person_id in (found.person_id, *found.alternatives[:MAX_OTHERS_SHOWN]):
            names[person_id] = await index_store.person_name(company_id, person_id) or ""
        return _matched(typed, e164, found, names, "index")
    if crm is None:
        return PreviewRow(
            typed,
            e164,
            reason="pipedrive_unavailable",
            message=Text("Not in the local index; Pipedrive could not be searched"),
        )
    # Pipedrive's hits are read as the index reads its phones: national numbers in the company's country,
    # never in the chat's (where "0151 1234 5678" would be no number, free to match by its last digits).
    for step in plan_searches(e164):
        hits = await crm.search_persons(step.term, exact=step.exact_match)
        phones = [PersonPhones(hit.id, hit.phones) for hit in hits]
        result = match_search_hits(e164, phones, default_region=region)
        if result is not None:
            return _matched(typed, e164, result, {hit.id: hit.name for hit in hits}, "search")
    return PreviewRow(typed, e164)


def _matched(typed: str, e164: str, found: MatchResult, names: dict[int, str], source: str) -> PreviewRow:
    """The row for a match: how the chosen Person matched and how each other candidate did, best first."""

    def said(
        person_id: int, rule: MatchRule, phone: str | None, digits: int | None, code: bool | None
    ) -> Text:
        name = names.get(person_id, "")
        match = phone_match(rule, phone, digits, code)
        if match is None:  # the result does not say which phone: name the rule alone
            return Text("%(person)s (%(rule)s)", person=person_label(name, person_id), rule=rule.value)
        if person_id == found.person_id:
            return matched_sentence(e164, match, name, person_id)
        return candidate_sentence(e164, match, name, person_id)

    others = found.alternative_matches[:MAX_OTHERS_SHOWN]
    return PreviewRow(
        typed,
        e164,
        found.person_id,
        names.get(found.person_id, ""),
        found.rule.value,
        source,
        alternatives=found.alternatives,
        sentence=said(found.person_id, found.rule, found.phone, found.suffix_length, found.had_country_code),
        others=tuple(said(o.person_id, o.rule, o.phone, o.suffix_length, o.had_country_code) for o in others),
        more_others=len(found.alternatives) - len(others),
    )
