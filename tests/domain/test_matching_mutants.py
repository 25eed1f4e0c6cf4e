"""Matching rules at the edges the broader tests leave open: the index's record of what it holds and what
it removed, open deals among search hits, the search tail of a short number, an update time of zero."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from server.domain.matching import (
    MatchResult,
    MatchRule,
    PersonMatch,
    PersonPhones,
    PhoneIndex,
    candidates_from,
    match_search_hits,
    plan_searches,
)
from server.domain.phone_compare import Agreement

T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NAIVE_T = datetime(2026, 3, 1, 12, 0)  # the same moment without its zone: read as UTC
PHONE = ("+49 89 63648018",)


def person(person_id: int, update_time: datetime | None = T, phones: tuple[str, ...] = PHONE) -> PersonPhones:
    return PersonPhones(person_id, phones, update_time)


def test_holds_is_true_only_for_the_version_held_or_an_older_one() -> None:
    index = PhoneIndex("DE")
    assert not index.holds(person(1))
    index.put(person(1))
    assert index.holds(person(1))
    assert index.holds(person(1, NAIVE_T))
    assert index.holds(person(1, T - timedelta(seconds=1)))
    assert not index.holds(person(1, T + timedelta(seconds=1)))
    assert not index.holds(person(1, None))
    assert not index.holds(person(2))


def test_holds_knows_a_naive_held_time_as_utc() -> None:
    index = PhoneIndex("DE")
    index.put(person(1, NAIVE_T))
    assert index.holds(person(1))
    assert not index.holds(person(1, T + timedelta(seconds=1)))


def test_holds_remembers_when_a_person_was_removed() -> None:
    index = PhoneIndex("DE")
    index.put(person(1))
    index.remove(1, at=T)
    assert index.holds(person(1))
    assert not index.holds(person(1, T + timedelta(seconds=1)))
    index.remove(2)
    assert not index.holds(person(2))


def test_a_record_older_than_its_removal_is_ignored() -> None:
    index = PhoneIndex("DE")
    index.put(person(1))
    index.remove(1, at=NAIVE_T + timedelta(hours=1))
    assert index.put(person(1, T + timedelta(minutes=59))) is False
    assert 1 not in index
    assert index.put(person(1, T + timedelta(hours=1))) is True
    assert 1 in index


def test_search_hits_prefer_a_person_with_an_open_deal() -> None:
    hits = [person(1), person(2)]
    plain = match_search_hits("+498963648018", hits, default_region="DE")
    assert plain is not None and plain.person_id == 1
    preferred = match_search_hits("+498963648018", hits, default_region="DE", open_deal_person_ids={2})
    assert preferred is not None
    assert (preferred.person_id, preferred.rule, preferred.alternatives) == (2, MatchRule.SEARCH_EXACT, (1,))


def test_a_number_shorter_than_eight_national_digits_searches_its_last_eight_digits() -> None:
    # St Helena: +290 22158 has a five-digit national number; the fuzzy search takes the last eight digits
    # of the whole number, country code included.
    assert [(s.term, s.exact_match) for s in plan_searches("+29022158")] == [
        ("+29022158", True),
        ("29022158", True),
        ("29022158", False),
    ]


def test_a_known_update_time_of_zero_still_beats_an_unknown_one() -> None:
    index = PhoneIndex("DE")
    index.apply([person(1, None), person(2, datetime(1970, 1, 1, tzinfo=UTC))])
    match = index.match("+498963648018")
    assert match is not None and (match.person_id, match.alternatives) == (2, (1,))


def test_a_deleted_person_does_not_hide_the_ones_after_it() -> None:
    gone = PersonPhones(1, PHONE, T, is_deleted=True)
    assert [
        c.person_id for c in candidates_from("+498963648018", [gone, person(2)], default_region="DE")
    ] == [2]


def test_a_person_listed_twice_keeps_its_better_record() -> None:
    exact, fuzzy = person(1, phones=("089 63648018",)), person(1, phones=("63648018",))
    for records in ([exact, fuzzy], [fuzzy, exact]):
        [candidate] = candidates_from("+498963648018", records, default_region="DE")
        assert candidate.match.agreement is Agreement.EXACT


def test_a_person_listed_twice_as_good_keeps_its_first_record() -> None:
    records = [person(1, phones=("089 63648018",)), person(1, phones=("(089) 6364-8018",))]
    [candidate] = candidates_from("+498963648018", records, default_region="DE")
    assert candidate.match.phone == "089 63648018"


def test_put_says_whether_it_took_the_record() -> None:
    index = PhoneIndex("DE")
    assert index.put(person(1)) is True
    assert index.put(person(1, phones=("+49 30 1234567",))) is True  # the same time again: taken
    assert index.match("+498963648018") is None
    assert index.put(person(1, T - timedelta(seconds=1))) is False
    assert index.put(PersonPhones(1, PHONE, T, is_deleted=True)) is True
    assert 1 not in index


def test_re_indexing_one_person_leaves_another_with_the_same_phone_findable() -> None:
    index = PhoneIndex("DE")
    index.apply([person(1), person(2)])
    index.put(person(1, T + timedelta(seconds=1), phones=("+49 30 1234567",)))
    match = index.match("+498963648018")
    assert match is not None and (match.person_id, match.alternatives) == (2, ())


def test_the_watermark_stays_with_the_first_record_of_the_newest_time() -> None:
    berlin = timezone(timedelta(hours=1))
    index = PhoneIndex("DE")
    index.apply([person(1), person(2, T.astimezone(berlin))])
    assert index.watermark is not None and index.watermark.utcoffset() == timedelta(0)


def test_a_match_names_the_phone_and_how_many_digits_agree() -> None:
    index = PhoneIndex("DE")
    index.put(person(1, phones=("+49 89 63648018",)))
    match = index.match("+498963648018")
    assert match is not None and (match.phone, match.suffix_length) == ("+49 89 63648018", 12)


def test_fuzzy_keys_carry_the_country_code_written_and_none_for_a_code_of_no_country() -> None:
    index = PhoneIndex("DE")
    index.apply(
        [
            PersonPhones(1, ("+999 89 63648018",), T),  # a code of no country: no suffix match anywhere
            PersonPhones(2, ("0190 63648018",), T),  # no country code: may be any country's
            PersonPhones(3, ("+33 63648018",), T),  # French, and too short for France
        ]
    )
    assert [c.person_id for c in index.candidates("+498963648018")] == [2]
    assert [c.person_id for c in index.candidates("+33163648018")] == [2, 3]


def test_a_phone_read_two_ways_is_found_under_both_numbers() -> None:
    index = PhoneIndex("CN")
    index.put(PersonPhones(1, ("13123456789",), T))  # a Chinese mobile, or +1 312 345 6789
    chinese, american = index.match("+8613123456789"), index.match("+13123456789")
    assert chinese is not None and (chinese.person_id, chinese.rule, chinese.had_country_code) == (
        1,
        MatchRule.INDEX_EXACT,
        False,
    )
    assert american is not None and (american.person_id, american.had_country_code) == (1, True)


def test_search_hits_say_how_each_other_candidate_matched() -> None:
    hits = [PersonPhones(2, ("0190 63648018",), T), person(1)]
    result = match_search_hits("+498963648018", hits, default_region="DE")
    assert result == MatchResult(
        person_id=1,
        rule=MatchRule.SEARCH_EXACT,
        alternatives=(2,),
        phone="+49 89 63648018",
        suffix_length=12,
        had_country_code=True,
        alternative_matches=(PersonMatch(2, MatchRule.SEARCH_FUZZY, "0190 63648018", 8, False),),
    )


def test_a_result_without_a_phone_says_nothing_of_one() -> None:
    result = MatchResult(person_id=7, rule=MatchRule.CREATED)
    assert (result.phone, result.suffix_length, result.had_country_code, result.alternative_matches) == (
        None,
        None,
        None,
        (),
    )


def test_the_index_finds_a_number_of_eight_digits_in_all_by_its_last_eight() -> None:
    # +677 12345 (Solomon Islands) has eight digits with its country code; "167712345" is no number, so the
    # suffix rule compares all eight.
    index = PhoneIndex("DE")
    index.put(person(5, phones=("167712345",)))
    assert index.match("+67712345") == MatchResult(
        person_id=5, rule=MatchRule.INDEX_FUZZY, phone="167712345", suffix_length=8, had_country_code=False
    )
