from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.errors import InvalidInput
from server.domain.matching import (
    MatchResult,
    MatchRule,
    PersonPhones,
    PhoneIndex,
    SearchStep,
    candidates_from,
    choose,
    match_search_hits,
    plan_searches,
)

MUNICH = "+498963648018"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ISSUE_FORMATS = ["+49 89 6364 8018", "0049896364-8018", "(089) 63648018", "8963648018"]


def person(
    person_id: int, *phones: str, updated: datetime | None = T0, deleted: bool = False
) -> PersonPhones:
    return PersonPhones(person_id, phones, update_time=updated, is_deleted=deleted)


def index_of(*persons: PersonPhones, region: str | None = "DE") -> PhoneIndex:
    index = PhoneIndex(region)
    index.apply(persons)
    return index


def test_a_stored_link_is_just_a_result() -> None:
    result = MatchResult(person_id=7, rule=MatchRule.STORED_LINK)
    assert result.alternatives == ()
    assert {rule.value for rule in MatchRule} == {
        "stored_link",
        "index_exact",
        "index_fuzzy",
        "search_exact",
        "search_fuzzy",
        "country_variant",
        "created",
        "manual",
    }


@pytest.mark.parametrize("stored", [*ISSUE_FORMATS, "+49 (0) 89 6364 8018", "Work: 089/63648018 ext. 4"])
def test_index_finds_every_format_exactly(stored: str) -> None:
    index = index_of(person(1, stored), person(2, "+49 30 1234567"))
    result = index.match(MUNICH)
    assert result is not None
    assert (result.person_id, result.rule, result.phone) == (1, MatchRule.INDEX_EXACT, stored)


@pytest.mark.parametrize("stored", ["(089) 63648018", "8963648018", "63648018", "636 48018"])
def test_index_fuzzy_when_the_national_form_is_not_from_the_company_region(stored: str) -> None:
    result = index_of(person(1, stored), region="FR").match(MUNICH)
    assert result is not None
    assert (result.person_id, result.rule) == (1, MatchRule.INDEX_FUZZY)


def test_index_fuzzy_stops_at_eight_digits() -> None:
    assert index_of(person(1, "6364 8018"), region=None).match(MUNICH) is not None
    assert index_of(person(1, "364 8018"), region=None).match(MUNICH) is None
    assert index_of(person(1, "+1 212 964 8018"), region=None).match(MUNICH) is None


def test_index_never_links_the_same_digits_in_another_country() -> None:
    assert index_of(person(1, "+43 89 63648018")).match(MUNICH) is None


@pytest.mark.parametrize(
    ("chat", "stored"),
    [
        ("+5511987654321", "+55 11 8765-4321"),
        ("+551187654321", "+55 11 98765-4321"),
        ("+5491123456789", "+54 11 2345-6789"),
        ("+541123456789", "+54 9 11 2345 6789"),
        ("+5491123456789", "011 15 2345-6789"),
        ("+525512345678", "+52 1 55 1234 5678"),
        ("+5215512345678", "+52 55 1234 5678"),
    ],
)
def test_index_country_variants(chat: str, stored: str) -> None:
    result = index_of(person(5, stored), region="AR").match(chat)
    assert result is not None
    assert (result.person_id, result.rule) == (5, MatchRule.COUNTRY_VARIANT)


def test_index_incremental_updates() -> None:
    index = index_of(person(1, "+49 89 6364 8018"), person(2, "+49 30 1234567"))
    assert len(index) == 2 and 1 in index
    assert index.watermark == T0

    # Person 1's phone changes: the old number no longer finds it, the new one does.
    later = T0 + timedelta(hours=1)
    index.apply([person(1, "+49 40 7654321", updated=later)])
    assert index.match(MUNICH) is None
    found = index.match("+49407654321")
    assert found is not None and found.person_id == 1
    assert index.watermark == later

    # A replayed older page is ignored.
    index.apply([person(1, "+49 89 6364 8018", updated=T0)])
    assert index.match(MUNICH) is None

    # Another person takes the number; then is deleted.
    index.apply([person(3, "089 63648018", updated=later)])
    found = index.match(MUNICH)
    assert found is not None and found.person_id == 3
    index.apply([person(3, "089 63648018", updated=later + timedelta(minutes=1), deleted=True)])
    assert index.match(MUNICH) is None and 3 not in index
    # A stale copy from before the deletion does not bring it back.
    index.apply([person(3, "089 63648018", updated=later)])
    assert 3 not in index

    index.remove(2)
    assert index.match("+49301234567") is None
    assert [p.person_id for p in index.records()] == [1]


def test_index_drops_persons_without_phones() -> None:
    index = index_of(person(1, MUNICH))
    index.put(person(1, updated=T0 + timedelta(seconds=1)))
    assert len(index) == 0 and index.match(MUNICH) is None


def test_naive_update_times_are_utc() -> None:
    index = PhoneIndex("DE")
    index.apply([person(1, MUNICH, updated=datetime(2026, 3, 1, 12, 0))])
    assert index.watermark == T0


def test_choice_prefers_exact_then_variant_then_longest_suffix() -> None:
    # 0190 numbers no longer exist in Germany: stored so, they are no whole number and match by suffix.
    index = index_of(
        person(10, "0190 63648018"),  # suffix 8
        person(11, "8963648018"),  # exact (DE national)
        person(12, "+49 89 6364 8018"),  # exact
        person(13, "0190 963648018"),  # suffix 9
        region="DE",
    )
    result = index.match(MUNICH)
    assert result is not None
    assert result.person_id == 12  # exact, longest digits written
    assert result.alternatives == (11, 13, 10)


def test_choice_variant_beats_suffix() -> None:
    index = index_of(person(1, "0190 87654321"), person(2, "+55 11 8765-4321"), region="DE")
    result = index.match("+5511987654321")
    assert result is not None
    assert (result.person_id, result.rule, result.alternatives) == (2, MatchRule.COUNTRY_VARIANT, (1,))


def test_choice_tie_breaks_open_deal_then_recency_then_lowest_id() -> None:
    same = [
        person(30, MUNICH, updated=T0),
        person(20, MUNICH, updated=T0 + timedelta(days=1)),
        person(40, MUNICH, updated=T0 + timedelta(days=1)),
        person(10, MUNICH, updated=None),
    ]
    index = index_of(*same)
    result = index.match(MUNICH)
    assert result is not None
    assert (result.person_id, result.alternatives) == (20, (40, 30, 10))

    with_deal = index.match(MUNICH, open_deal_person_ids={30})
    assert with_deal is not None
    assert (with_deal.person_id, with_deal.alternatives) == (30, (20, 40, 10))


@settings(deadline=None)  # no deadline: a busy machine must not fail it
@given(st.permutations([1, 2, 3, 4, 5, 6]))
def test_choice_does_not_depend_on_input_order(order: list[int]) -> None:
    records = {
        1: person(1, MUNICH, updated=T0),
        2: person(2, "(089) 63648018", updated=T0),
        3: person(3, "0190 63648018", updated=T0 + timedelta(days=3)),
        4: person(4, "+55 11 8765-4321"),
        5: person(5, MUNICH, updated=T0 + timedelta(days=2)),
        6: person(6, "0190 63648018", updated=T0),
    }
    found = candidates_from(MUNICH, [records[i] for i in order], default_region="DE")
    result = choose(found, from_search=False)
    assert result is not None
    assert (result.person_id, result.alternatives) == (5, (1, 2, 3, 6))


def test_a_person_with_several_phones_counts_once_with_its_best_phone() -> None:
    result = index_of(person(1, "63648018", "+49 89 6364 8018"), person(2, "8963648018")).match(MUNICH)
    assert result is not None
    assert (result.person_id, result.phone, result.alternatives) == (1, "+49 89 6364 8018", (2,))


def test_search_plan_exact_with_and_without_plus_then_the_national_tail() -> None:
    assert plan_searches(MUNICH) == (
        SearchStep("+498963648018", True),
        SearchStep("498963648018", True),
        SearchStep("963648018", False),
    )
    # The fuzzy term is shared by every country variant, so one search finds them all.
    assert plan_searches("+5511987654321")[2] == SearchStep("87654321", False)
    assert plan_searches("+551187654321")[0] == SearchStep("+5511987654321", True)
    assert plan_searches("+5491123456789")[2] == SearchStep("123456789", False)
    assert plan_searches("+525512345678")[2].term == "512345678"
    assert all(step.field == "phone" for step in plan_searches(MUNICH))


def test_search_plan_rejects_a_non_number() -> None:
    with pytest.raises(InvalidInput):
        plan_searches("8963648018")


@pytest.mark.parametrize("stored", ISSUE_FORMATS)
def test_search_hits_are_filtered_and_ruled(stored: str) -> None:
    hits = [
        PersonPhones(1, (stored,)),
        PersonPhones(2, ("+49 963648018 5",)),  # a substring hit of the fuzzy term that is another number
        PersonPhones(3, ("+43 89 63648018",)),
    ]
    result = match_search_hits(MUNICH, hits, default_region="DE")
    assert result is not None
    assert (result.person_id, result.rule, result.alternatives) == (1, MatchRule.SEARCH_EXACT, ())


def test_search_fuzzy_and_variant_rules() -> None:
    fuzzy = match_search_hits(MUNICH, [PersonPhones(1, ("636 48018",))], default_region="FR")
    assert fuzzy is not None and fuzzy.rule is MatchRule.SEARCH_FUZZY
    variant = match_search_hits("+5511987654321", [PersonPhones(4, ("+55 11 8765-4321",))])
    assert variant is not None and variant.rule is MatchRule.COUNTRY_VARIANT
    assert match_search_hits(MUNICH, [PersonPhones(1, ("648018",))]) is None
    assert match_search_hits(MUNICH, [PersonPhones(1, (MUNICH,), is_deleted=True)]) is None
    assert match_search_hits(MUNICH, []) is None
