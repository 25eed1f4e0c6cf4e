"""Matching never crosses a border: a stored phone that is a whole number (it carries a country code, or
reads as a valid number in the company's country) matches only as that number; fuzzy matching is for the
rest, and needs at least 8 trailing digits. Expected values are worked out by hand and written as literals.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from server.domain.matching import MatchRule, PersonMatch, PersonPhones, PhoneIndex
from server.domain.phone_compare import Agreement, PhoneMatch, compare_phone

MUNICH = "+498963648018"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

# The demo company (Acme Sales GmbH, its WhatsApp number +49 170 1112223: Germany) and its Persons as
# sandbox/pipedrive/seed.py seeds them: five Munich contacts, then Mobile Max with two phones.
DEMO_PERSONS = (
    PersonPhones(1, ("+49 89 6364 8018",), T0),
    PersonPhones(2, ("0049896364-8018",), T0),
    PersonPhones(3, ("(089) 63648018",), T0),
    PersonPhones(4, ("8963648018",), T0),
    PersonPhones(5, ("+49-89-63648018",), T0),
    PersonPhones(6, ("+4915112345678", "0151 1234 5678"), T0),
)
# Numbers from Mexico, France and Australia that share their last 8 digits (12345678) with Mobile Max.
FOREIGN_NUMBERS = ("+52 1 55 1234 5678", "+33 6 12 34 56 78", "+61 4 1234 5678")


def demo_index() -> PhoneIndex:
    index = PhoneIndex("DE")
    index.apply(DEMO_PERSONS)
    return index


@pytest.mark.parametrize("number", FOREIGN_NUMBERS)
def test_the_demo_numbers_from_other_countries_do_not_land_on_mobile_max(number: str) -> None:
    assert demo_index().match(number) is None
    # "0151 1234 5678" is a valid German number (+49 151 12345678): a whole number, not a digit string.
    assert compare_phone(number, "0151 1234 5678", "DE") is None


def test_mobile_max_is_still_found_by_his_own_number() -> None:
    result = demo_index().match("+49 151 12345678")
    assert result is not None
    assert (result.person_id, result.rule, result.phone) == (6, MatchRule.INDEX_EXACT, "+4915112345678")


def test_a_valid_national_number_of_the_company_country_is_compared_as_a_whole_number() -> None:
    # (030) 63648018 is a Berlin number: it shares 8 digits with the Munich one, and is not it.
    assert compare_phone(MUNICH, "(030) 63648018", "DE") is None


def test_seven_trailing_digits_are_too_few_eight_are_enough() -> None:
    # Neither reads as a valid number in France, nor as an international one: fuzzy applies.
    assert compare_phone(MUNICH, "364 8018", "FR") is None
    assert compare_phone(MUNICH, "6364 8018", "FR") == PhoneMatch(Agreement.SUFFIX, 8, "6364 8018", False)


@pytest.mark.parametrize("stored", ["+33 12 34 56 78", "0033 1234 5678", "(+33) 12345678"])
def test_a_phone_stored_with_another_country_code_never_matches_by_suffix(stored: str) -> None:
    # +33 12345678 is no valid French number; it shares its last 8 digits with the chat's +49 30 12345678.
    assert compare_phone("+493012345678", stored, "DE") is None
    index = PhoneIndex("DE")
    index.apply([PersonPhones(1, (stored,), T0)])
    assert index.match("+49 30 12345678") is None


def test_a_phone_stored_with_its_country_code_may_match_by_suffix_within_that_country() -> None:
    # +33 12345678 is no valid number; the chat's +33 6 12345678 is French too, and 8 digits agree.
    assert compare_phone("+33612345678", "+33 12 34 56 78", "DE") == PhoneMatch(
        Agreement.SUFFIX, 8, "+33 12 34 56 78", True
    )


def test_a_number_stored_without_its_plus_that_reads_as_international_is_a_whole_number() -> None:
    # "33612345678" is +33 6 12 34 56 78 without its "+": not the Spanish +34 612 345 678 (9 digits shared).
    assert compare_phone("+34612345678", "33612345678", "DE") is None
    match = compare_phone("+33612345678", "33612345678", "DE")
    assert match is not None and (match.agreement, match.has_country_code) == (Agreement.EXACT, True)


def test_a_match_says_whether_the_stored_phone_had_a_country_code() -> None:
    with_code = compare_phone(MUNICH, "+49 89 6364 8018", "DE")
    national = compare_phone(MUNICH, "(089) 63648018", "DE")
    assert with_code is not None and with_code.has_country_code is True
    assert national is not None and national.has_country_code is False


def test_the_result_carries_how_each_candidate_matched() -> None:
    index = PhoneIndex("FR")  # neither 8963648018 nor 63648018 reads as a French number
    index.apply(
        [
            PersonPhones(3, ("63648018",), T0),
            PersonPhones(2, ("89 63 64 80 18",), T0),
            PersonPhones(1, ("+49 89 6364 8018",), T0),
        ]
    )
    result = index.match(MUNICH)
    assert result is not None
    assert (result.person_id, result.rule, result.phone, result.suffix_length, result.had_country_code) == (
        1,
        MatchRule.INDEX_EXACT,
        "+49 89 6364 8018",
        12,
        True,
    )
    assert result.alternatives == (2, 3)
    assert result.alternative_matches == (
        PersonMatch(2, MatchRule.INDEX_FUZZY, "89 63 64 80 18", 10, False),
        PersonMatch(3, MatchRule.INDEX_FUZZY, "63648018", 8, False),
    )


def test_the_index_keeps_fuzzy_keys_of_different_countries_apart() -> None:
    index = PhoneIndex("DE")
    index.apply([PersonPhones(1, ("+33 12 34 56 78",), T0), PersonPhones(2, ("0190 1234 5678",), T0)])
    # 0190 numbers no longer exist in Germany: stored without a country code, it may match by suffix.
    assert [c.person_id for c in index.candidates("+49 30 12345678")] == [2]
    assert [c.person_id for c in index.candidates("+33 6 12 34 56 78")] == [1, 2]
