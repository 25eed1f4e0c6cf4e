"""Which Pipedrive Person a chat's number belongs to, and which rule said so.

The order (issue 5): the chat's stored link; the local ``PhoneIndex`` of the company's person phones
(no API cost); only then Pipedrive searches, cheapest-first, as planned by ``plan_searches``. Each stored
phone is compared with the chat's number by ``phones.compare_phone``, which never lets shared last
digits cross a border:

- **exact**: the stored phone is the same E.164 number and shows all of its national digits
  ("+49 89 6364 8018", "0049896364-8018", "(089) 63648018", "8963648018" for +498963648018);
- **country variant**: the same line in another spelling (``phones.equivalent_e164s``), e.g. a Brazilian
  mobile stored without its 9, an Argentine mobile without the 9 after +54 or in the "15" form, a
  Mexican mobile with the old 1;
- **fuzzy** (suffix): digits are dropped from the left of the chat's number until what remains ends the
  stored phone's digits; 7 remaining are too few, so at least 8 must agree. Only for a stored phone that
  is no whole number: a phone stored with a country code, or without one that reads as a valid number
  in the company's country ("0151 1234 5678" in a German company), is that number and matches only as
  it (exact or variant). A phone stored with a country code that is no valid number matches by suffix
  only a chat of that country.

Choosing among several Persons (``choose``) is deterministic, in this order: the better agreement
(exact > country variant > fuzzy); the longer matching suffix (for exact ones: more digits written); a
Person with an open deal, when the caller says which have one; the most recently updated; the lowest id.
Nothing is picked silently: every other candidate, fuzzy ones behind an exact match included, is kept in
``MatchResult.alternatives`` in the same order (the panel offers them to re-link), and
``MatchResult.alternative_matches`` says how each matched (rule, phone, digits, country code).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from server.domain.days import as_utc_or_none
from server.domain.phone_compare import (
    MIN_SUFFIX_DIGITS,
    Agreement,
    PhoneMatch,
    best_phone_match,
    common_suffix_length,
    international_number,
)
from server.domain.phone_numbers import calling_code_and_nsn, equivalent_e164s, read_stored

MAX_SEARCH_TERM_DIGITS = 9


class MatchRule(StrEnum):
    STORED_LINK = "stored_link"
    INDEX_EXACT = "index_exact"
    INDEX_FUZZY = "index_fuzzy"
    SEARCH_EXACT = "search_exact"
    SEARCH_FUZZY = "search_fuzzy"
    COUNTRY_VARIANT = "country_variant"
    CREATED = "created"
    MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class PersonPhones:
    """What matching needs of a Pipedrive Person: its phones as typed, and when it last changed."""

    person_id: int
    phones: tuple[str, ...]
    update_time: datetime | None = None
    is_deleted: bool = False


@dataclass(frozen=True, slots=True)
class Candidate:
    person_id: int
    match: PhoneMatch
    update_time: datetime | None = None
    has_open_deal: bool = False


@dataclass(frozen=True, slots=True)
class PersonMatch:
    """How one Person matched: the rule, its stored phone as typed, the digits that agree (for fuzzy: the
    trailing digits compared, at least 8; for exact and variant: the digits written of the number), and
    whether that phone was stored with a country code."""

    person_id: int
    rule: MatchRule
    phone: str
    suffix_length: int
    had_country_code: bool


@dataclass(frozen=True, slots=True)
class MatchResult:
    """The Person a chat is linked to, the rule that found it, and the other candidates (best first).

    ``phone``, ``suffix_length`` and ``had_country_code`` describe how the chosen Person matched (as in
    ``PersonMatch``; ``None`` for a stored link, a created or a manual one); ``alternative_matches`` the
    same for each of ``alternatives``, in the same order.
    """

    person_id: int
    rule: MatchRule
    alternatives: tuple[int, ...] = ()
    phone: str | None = None  # the stored phone that matched, as typed
    suffix_length: int | None = None
    had_country_code: bool | None = None
    alternative_matches: tuple[PersonMatch, ...] = ()


@dataclass(frozen=True, slots=True)
class SearchStep:
    """One ``GET /api/v2/persons/search?fields=phone`` call (20 tokens, 10 per 2 s)."""

    term: str
    exact_match: bool
    field: str = "phone"


def candidates_from(
    e164: str,
    persons: Iterable[PersonPhones],
    *,
    default_region: str | None = None,
    open_deal_person_ids: Collection[int] | None = None,
) -> list[Candidate]:
    """Every Person with a phone agreeing with ``e164`` (deleted Persons and duplicates left out)."""
    found: dict[int, Candidate] = {}
    for person in persons:
        if person.is_deleted:
            continue
        match = best_phone_match(e164, person.phones, default_region)
        if match is None:
            continue
        candidate = Candidate(
            person.person_id,
            match,
            person.update_time,
            has_open_deal=open_deal_person_ids is not None and person.person_id in open_deal_person_ids,
        )
        previous = found.get(person.person_id)
        if previous is None or _rank(candidate) < _rank(previous):
            found[person.person_id] = candidate
    return list(found.values())


def choose(candidates: Iterable[Candidate], *, from_search: bool) -> MatchResult | None:
    """The deterministic pick among candidates (see the module docstring), or ``None`` for none."""
    ordered = sorted(candidates, key=_rank)
    if not ordered:
        return None
    best = ordered[0]
    rules = _SEARCH_RULES if from_search else _INDEX_RULES
    others = tuple(_person_match(candidate, rules) for candidate in ordered[1:])
    return MatchResult(
        person_id=best.person_id,
        rule=rules[best.match.agreement],
        alternatives=tuple(other.person_id for other in others),
        phone=best.match.phone,
        suffix_length=best.match.suffix_length,
        had_country_code=best.match.has_country_code,
        alternative_matches=others,
    )


def _person_match(candidate: Candidate, rules: dict[Agreement, MatchRule]) -> PersonMatch:
    match = candidate.match
    return PersonMatch(
        candidate.person_id, rules[match.agreement], match.phone, match.suffix_length, match.has_country_code
    )


def plan_searches(e164: str) -> tuple[SearchStep, ...]:
    """The Pipedrive searches to try, in order, when neither the stored link nor the index knows the number.

    Stop at the first step whose hits give a match (``match_search_hits``). 1–2: exact searches with the
    full international number with and without "+". 3: a non-exact search on the end of the national
    number that every country variant shares (at most its last 9 digits), whose hits are filtered by
    ``compare_phone``: it finds the national, trunk-0, "00" and variant spellings, whether Pipedrive
    compares digits or the stored text.
    """
    number = international_number(e164)
    digits = number[1:]
    tails = [calling_code_and_nsn(form)[1] for form in sorted(equivalent_e164s(number))]
    shared = tails[0]
    for tail in tails[1:]:
        shared = shared[len(shared) - common_suffix_length(shared, tail) :]
    if len(shared) < MIN_SUFFIX_DIGITS:
        shared = digits[-MIN_SUFFIX_DIGITS:]
    fuzzy = shared[-MAX_SEARCH_TERM_DIGITS:]
    steps = [SearchStep("+" + digits, True), SearchStep(digits, True), SearchStep(fuzzy, False)]
    return tuple(dict.fromkeys(steps))


def match_search_hits(
    e164: str,
    hits: Iterable[PersonPhones],
    *,
    default_region: str | None = None,
    open_deal_person_ids: Collection[int] | None = None,
) -> MatchResult | None:
    """The match among one search step's hits, or ``None`` (then try the next step)."""
    found = candidates_from(
        e164, hits, default_region=default_region, open_deal_person_ids=open_deal_person_ids
    )
    return choose(found, from_search=True)


def _rank(candidate: Candidate) -> tuple[int, int, int, int, float, int]:
    updated = as_utc_or_none(candidate.update_time)
    return (
        -int(candidate.match.agreement),
        -candidate.match.suffix_length,
        0 if candidate.has_open_deal else 1,
        0 if updated is not None else 1,
        -updated.timestamp() if updated is not None else 0.0,
        candidate.person_id,
    )


_INDEX_RULES = {
    Agreement.EXACT: MatchRule.INDEX_EXACT,
    Agreement.VARIANT: MatchRule.COUNTRY_VARIANT,
    Agreement.SUFFIX: MatchRule.INDEX_FUZZY,
}
_SEARCH_RULES = {
    Agreement.EXACT: MatchRule.SEARCH_EXACT,
    Agreement.VARIANT: MatchRule.COUNTRY_VARIANT,
    Agreement.SUFFIX: MatchRule.SEARCH_FUZZY,
}


class PhoneIndex:
    """The company's person phones in memory, so a known number costs no search.

    Keys: the E.164 reading of every stored phone (in ``default_region``, the company's country) and its
    country variants; and, for a phone that may match by suffix (no whole number, ``phones.read_stored``),
    its last 8 digits under the country code it was written with ("" for none), which any suffix match
    shares: a fuzzy key of one country never finds a Person for a number of another. Fill it from
    ``GET /api/v2/persons?updated_since=<watermark>`` pages with ``apply``: a Person whose phones changed
    is re-keyed, a deleted one (or one left without phones) is dropped, and a record older than the one
    held is ignored, so overlapping or replayed pages are harmless.
    """

    def __init__(self, default_region: str | None = None) -> None:
        self.default_region = default_region
        self.watermark: datetime | None = None  # the newest update_time applied: the next updated_since
        self._persons: dict[int, PersonPhones] = {}
        self._removed_at: dict[int, datetime | None] = {}
        self._keys: dict[int, frozenset[str]] = {}
        self._buckets: dict[str, set[int]] = {}

    def __len__(self) -> int:
        return len(self._persons)

    def __contains__(self, person_id: object) -> bool:
        return person_id in self._persons

    def records(self) -> Iterator[PersonPhones]:
        """The indexed Persons by id (to persist the index, or to check it)."""
        return (self._persons[person_id] for person_id in sorted(self._persons))

    def apply(self, persons: Iterable[PersonPhones]) -> None:
        """Take a page of Person records (any order) and advance the watermark."""
        for person in persons:
            self.put(person)
            updated = as_utc_or_none(person.update_time)
            if updated is not None and (self.watermark is None or updated > self.watermark):
                self.watermark = updated

    def put(self, person: PersonPhones) -> bool:
        """Index one Person record (a deleted one is removed); ``False`` if older than the record held."""
        updated = as_utc_or_none(person.update_time)
        held = self._persons.get(person.person_id)
        known = (
            as_utc_or_none(held.update_time) if held is not None else self._removed_at.get(person.person_id)
        )
        if updated is not None and known is not None and updated < known:
            return False
        self._drop(person.person_id)
        if person.is_deleted or not person.phones:
            self._removed_at[person.person_id] = updated
            return True
        self._removed_at.pop(person.person_id, None)
        self._persons[person.person_id] = person
        keys = frozenset(key for phone in person.phones for key in self._phone_keys(phone))
        self._keys[person.person_id] = keys
        for key in keys:
            self._buckets.setdefault(key, set()).add(person.person_id)
        return True

    def holds(self, person: PersonPhones) -> bool:
        """Whether this exact version of the Person (same ``update_time``) is already applied."""
        updated = as_utc_or_none(person.update_time)
        if updated is None:
            return False
        held = self._persons.get(person.person_id)
        known = (
            as_utc_or_none(held.update_time) if held is not None else self._removed_at.get(person.person_id)
        )
        return known is not None and known >= updated

    def remove(self, person_id: int, *, at: datetime | None = None) -> None:
        """Forget a Person (deleted or merged away in Pipedrive)."""
        self._drop(person_id)
        self._removed_at[person_id] = as_utc_or_none(at)

    def candidates(
        self, e164: str, *, open_deal_person_ids: Collection[int] | None = None
    ) -> list[Candidate]:
        number = international_number(e164)
        ids: set[int] = set()
        for form in equivalent_e164s(number):
            code, nsn = calling_code_and_nsn(form)
            ids |= self._buckets.get("e164:" + form, set())
            ids |= self._buckets.get(_tail_key("", form[1:]), set())
            ids |= self._buckets.get(_tail_key(code, nsn), set())
        persons = (self._persons[person_id] for person_id in sorted(ids))
        return candidates_from(
            e164, persons, default_region=self.default_region, open_deal_person_ids=open_deal_person_ids
        )

    def match(self, e164: str, *, open_deal_person_ids: Collection[int] | None = None) -> MatchResult | None:
        """The index's answer (index_exact, country_variant or index_fuzzy), or ``None``."""
        return choose(self.candidates(e164, open_deal_person_ids=open_deal_person_ids), from_search=False)

    def _phone_keys(self, phone: str) -> Iterator[str]:
        reading = read_stored(phone, self.default_region)
        for number in reading.numbers:
            yield from ("e164:" + form for form in equivalent_e164s(number))
        fuzzy = not reading.whole and (reading.country_code or not reading.has_country_code)
        if fuzzy and len(reading.national) >= MIN_SUFFIX_DIGITS:
            yield _tail_key(reading.country_code, reading.national)

    def _drop(self, person_id: int) -> None:
        self._persons.pop(person_id, None)
        for key in self._keys.pop(person_id, frozenset()):
            bucket = self._buckets.get(key)
            if bucket is not None:
                bucket.discard(person_id)
                if not bucket:
                    del self._buckets[key]


def _tail_key(country_code: str, digits: str) -> str:
    return f"tail:{country_code}:{digits[-MIN_SUFFIX_DIGITS:]}"
