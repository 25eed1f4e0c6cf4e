"""Phone rules at the edges the broader tests leave open. Expected values are worked out by hand from the
rules in ``server.domain.phone_numbers``' and ``server.domain.phone_compare``'s docstrings and written here
as literals."""

from __future__ import annotations

import pytest

from server.domain.errors import InvalidInput
from server.domain.phone_compare import (
    Agreement,
    PhoneMatch,
    best_phone_match,
    compare_phone,
    international_number,
)
from server.domain.phone_numbers import (
    StoredPhone,
    calling_code_and_nsn,
    clean_phone_text,
    equivalent_e164s,
    is_international,
    read_stored,
    readings,
    to_e164,
)


def test_an_international_number_in_brackets_with_a_space_is_international() -> None:
    # "(" and a space before the "00": the international prefix is still the first thing written.
    assert is_international("( 0049 89 6364 8018 )")


def test_a_brazilian_number_neither_spelling_of_which_is_valid_is_kept_as_written() -> None:
    # Area code 20 does not exist: today's spelling (with the 9) is no more valid than the old one, so the
    # number stays as written (it is a possible number) instead of being "modernised".
    assert to_e164("+55 20 8765 4321") == "+552087654321"


def test_an_exact_match_over_the_whole_international_number_counts_every_digit() -> None:
    # +49 89 63648018 written with its country code shares all 12 digits.
    assert compare_phone("+498963648018", "+49 89 63648018") == PhoneMatch(
        Agreement.EXACT, 12, "+49 89 63648018", True
    )


def test_an_old_national_brazilian_spelling_is_a_variant_not_exact() -> None:
    # "11 8765-4321" read in Brazil is today's +55 11 98765-4321, but it lacks the 9: a variant.
    match = compare_phone("+5511987654321", "11 8765-4321", "BR")
    assert match is not None and match.agreement is Agreement.VARIANT


def test_a_trunk_zero_after_the_country_code_is_still_exact() -> None:
    # "0049 0 89…": international prefix, country code, trunk 0, then every national digit.
    match = compare_phone("+498963648018", "0049 0 89 63648018")
    assert match is not None and match.agreement is Agreement.EXACT


def test_a_suffix_match_names_the_phone_it_found() -> None:
    assert compare_phone("+498963648018", "063648018") == PhoneMatch(Agreement.SUFFIX, 8, "063648018")


def test_a_phone_that_does_not_match_after_one_that_does_changes_nothing() -> None:
    assert best_phone_match("+498963648018", ["+49 89 63648018", "12", "+43 1 234567"]) == PhoneMatch(
        Agreement.EXACT, 12, "+49 89 63648018", True
    )


def test_of_two_equally_good_phones_the_first_listed_wins() -> None:
    assert best_phone_match("+498963648018", ["089 63648018", "(089) 6364-8018"], "DE") == PhoneMatch(
        Agreement.EXACT, 10, "089 63648018"
    )


def test_an_international_number_must_be_written_with_its_plus() -> None:
    with pytest.raises(InvalidInput) as refused:
        international_number("4915112345678")
    assert (refused.value.reason, refused.value.message) == (
        "invalid_phone",
        "'4915112345678' is not an international phone number",
    )


def test_the_refusal_quotes_forty_characters_at_most() -> None:
    written = "+49 " + "x" * 60
    with pytest.raises(InvalidInput) as refused:
        international_number(written)
    assert refused.value.message == repr(written[:40]) + " is not an international phone number"


def test_clean_phone_text_finds_the_number_after_any_label() -> None:
    assert clean_phone_text("XING: 089 63648018") == "089 63648018"


def test_clean_phone_text_keeps_only_the_first_of_several_international_numbers() -> None:
    assert clean_phone_text("+49 89 63648018 +49 171 1234567") == "+49 89 63648018"
    assert clean_phone_text("+49 89 63648018 +49 171 1234567 +1 555 0100") == "+49 89 63648018"
    assert clean_phone_text("0049 89 63648018 +1 555 0100") == "0049 89 63648018"


def test_clean_phone_text_drops_separators_left_at_either_end() -> None:
    assert clean_phone_text("089 63648018 (mobile)") == "089 63648018"
    assert clean_phone_text("089/63648018-") == "089/63648018"
    assert clean_phone_text("(089) 6364-8018)") == "(089) 6364-8018)"


@pytest.mark.parametrize(
    ("written", "region", "e164"),
    [
        # Short digits without "+" in a German company: a German national number first.
        ("493363387", "DE", "+49493363387"),
        # Eleven digits or more without a trunk 0: an international number stored without its "+".
        ("15187720362", "DE", "+15187720362"),
        # Fewer digits and no region to read them in: the international reading is all there is.
        ("4930123456", None, "+4930123456"),
        # "0011" is Australia's international prefix: the region reads it.
        ("0011 49 89 63648018", "AU", "+498963648018"),
        # "00" and an unknown region: the international reading still counts.
        ("0049 89 63648018", "XX", "+498963648018"),
        # "00" numbers valid nowhere keep their international reading when it is a possible number...
        ("0055 20 8765 4321", None, "+552087654321"),
        ("0074218096", "US", "+74218096"),
        # ...but numbers written without "+" or "00" must be valid.
        ("552087654321", None, None),
        ("484019161", None, None),
        ("0929081003", "GB", None),
    ],
)
def test_to_e164_reading_order_and_what_it_keeps(written: str, region: str | None, e164: str | None) -> None:
    assert to_e164(written, region) == e164


def test_a_number_libphonenumber_cannot_read_keeps_its_digits_as_the_national_part() -> None:
    assert calling_code_and_nsn("+999 123") == ("", "999123")


@pytest.mark.parametrize(
    ("e164", "forms"),
    [
        # Brazil: a mobile (6-9 after the area code, or after the added 9) has a spelling without/with the 9.
        ("+5511981234567", {"+5511981234567", "+551181234567"}),
        ("+5511951234567", {"+5511951234567"}),
        ("+551182345678", {"+551182345678", "+5511982345678"}),
        ("+551122345678", {"+551122345678"}),
        # Argentina: only eleven digits starting with 9, or ten not starting with 0 or 9, have a twin.
        ("+5411234567890", {"+5411234567890"}),
        ("+549123456789", {"+549123456789"}),
        ("+540123456789", {"+540123456789"}),
        # Mexico: eleven digits starting with the old 1, or ten without it, have a twin.
        ("+521234567890", {"+521234567890", "+5211234567890"}),
        ("+5221234567890", {"+5221234567890"}),
    ],
)
def test_country_variants_at_their_edges(e164: str, forms: set[str]) -> None:
    assert equivalent_e164s(e164) == frozenset(forms)


def test_clean_phone_text_opens_only_the_bracket_round_the_country_code() -> None:
    # The ")" closing "(+49" goes; a later pair of brackets in the number stays as written.
    assert clean_phone_text("(+49) 89 (6364) 8018") == "+49 89 (6364) 8018"
    assert clean_phone_text("(+49) (0) 89 (6364) (8018)") == "+49 89 (6364) (8018)"


def test_clean_phone_text_drops_a_separator_left_in_front_by_a_trunk_zero() -> None:
    assert clean_phone_text("(0)-89 6364-8018") == "89 6364-8018"
    assert clean_phone_text("(0)/89 6364 8018") == "89 6364 8018"


@pytest.mark.parametrize(
    ("written", "region", "numbers"),
    [
        # Eleven digits without "+": a Chinese mobile in China, and +1 312 345 6789 (Chicago) too.
        ("13123456789", "CN", ("+13123456789", "+8613123456789")),
        # Germany's mobile without its trunk 0, and +1 512 345 6789 (Austin).
        ("15123456789", "DE", ("+15123456789", "+4915123456789")),
        # In Korea 009 is an international prefix as 00 is: +1 812… via 009, India via 00.
        ("0091 81234 56789", "KR", ("+18123456789", "+918123456789")),
        # No valid reading: the possible international one alone, as to_e164 keeps it.
        ("+55 20 8765 4321", None, ("+552087654321",)),
        ("12", "DE", ()),
        ("0190 63648018", "DE", ()),
    ],
)
def test_readings_lists_every_valid_reading_most_likely_first(
    written: str, region: str | None, numbers: tuple[str, ...]
) -> None:
    assert readings(written, region) == numbers
    assert to_e164(written, region) == (numbers[0] if numbers else None)


@pytest.mark.parametrize(
    ("written", "region", "stored"),
    [
        (
            "+33 12 34 56 78",  # too short for France: no whole number, but French
            "DE",
            StoredPhone("+33 12 34 56 78", "3312345678", (), frozenset(), False, True, "33", "12345678"),
        ),
        (
            "+999 89 63648018",  # +999 is no country: the code is written, and names none
            "DE",
            StoredPhone(
                "+999 89 63648018", "9998963648018", (), frozenset(), False, True, "", "9998963648018"
            ),
        ),
        (
            "011 49 89 63648018",  # the US international prefix, then +49
            "US",
            StoredPhone(
                "011 49 89 63648018",
                "011498963648018",
                ("+498963648018",),
                frozenset({"+498963648018"}),
                True,
                True,
                "49",
                "8963648018",
            ),
        ),
        (
            "0190 63648018",  # 0190 numbers no longer exist in Germany
            "DE",
            StoredPhone("0190 63648018", "019063648018", (), frozenset(), False, False, "", "019063648018"),
        ),
        (
            "0151 1234 5678",  # a German mobile, in a German company
            "DE",
            StoredPhone(
                "0151 1234 5678",
                "015112345678",
                ("+4915112345678",),
                frozenset(),
                True,
                False,
                "",
                "015112345678",
            ),
        ),
        (
            "+55 20 8765 4321",  # area code 20 does not exist: possible, not valid
            None,
            StoredPhone(
                "+55 20 8765 4321",
                "552087654321",
                ("+552087654321",),
                frozenset({"+552087654321"}),
                False,
                True,
                "55",
                "2087654321",
            ),
        ),
    ],
)
def test_read_stored(written: str, region: str | None, stored: StoredPhone) -> None:
    assert read_stored(written, region) == stored
    assert read_stored(written, region).e164 == (stored.numbers[0] if stored.numbers else None)


@pytest.mark.parametrize(
    ("chat", "written", "region", "match"),
    [
        # National forms with the country's own trunk prefix are exact: 8 in Russia, 06 in Hungary.
        ("+79123456789", "8 912 345-67-89", "RU", PhoneMatch(Agreement.EXACT, 10, "8 912 345-67-89")),
        ("+36201234567", "06 20 123 4567", "HU", PhoneMatch(Agreement.EXACT, 10, "06 20 123 4567")),
        # A region's own international prefix before the country code is exact too.
        (
            "+498963648018",
            "0011 49 89 63648018",
            "AU",
            PhoneMatch(Agreement.EXACT, 12, "0011 49 89 63648018", True),
        ),
        (
            "+498963648018",
            "810 49 89 63648018",
            "RU",
            PhoneMatch(Agreement.EXACT, 12, "810 49 89 63648018", True),
        ),
        (
            "+498963648018",
            "011 49 89 63648018",
            "US",
            PhoneMatch(Agreement.EXACT, 12, "011 49 89 63648018", True),
        ),
        # A Brazilian carrier code (21) before the area code is neither: the same line, written otherwise.
        (
            "+5511987654321",
            "0 21 11 98765-4321",
            "BR",
            PhoneMatch(Agreement.VARIANT, 11, "0 21 11 98765-4321"),
        ),
        # Digits read both ways match either number; only the international reading shows a country code.
        ("+8613123456789", "13123456789", "CN", PhoneMatch(Agreement.EXACT, 11, "13123456789")),
        ("+13123456789", "13123456789", "CN", PhoneMatch(Agreement.EXACT, 11, "13123456789", True)),
        # The Brazilian code written without "+" and the mobile without its 9.
        (
            "+5511987654321",
            "55 11 8765-4321",
            "DE",
            PhoneMatch(Agreement.VARIANT, 12, "55 11 8765-4321", True),
        ),
        # Within one country a phone stored with its code and no valid number matches by its national digits.
        (
            "+33612345678",
            "+33 (0)12 34 56 78",
            "DE",
            PhoneMatch(Agreement.SUFFIX, 8, "+33 (0)12 34 56 78", True),
        ),
        (
            "+5511987654321",
            "+55 20 8765 4321",
            None,
            PhoneMatch(Agreement.SUFFIX, 8, "+55 20 8765 4321", True),
        ),
        # A country code that names no country matches no chat by suffix.
        ("+498963648018", "+999 89 63648018", "DE", None),
    ],
)
def test_compare_phone_at_the_edges(
    chat: str, written: str, region: str | None, match: PhoneMatch | None
) -> None:
    assert compare_phone(chat, written, region) == match


def test_a_phone_written_with_00_is_read_after_the_00() -> None:
    assert read_stored("0049 89 6364 8018") == StoredPhone(
        phone="0049 89 6364 8018",
        digits="00498963648018",
        numbers=("+498963648018",),
        numbers_with_code=frozenset({"+498963648018"}),
        whole=True,
        has_country_code=True,
        country_code="49",
        national="8963648018",
    )


def test_an_exact_match_stored_with_its_country_code_counts_the_code_too() -> None:
    # 49 + 8963648018: twelve digits agree, more than the ten national ones.
    match = compare_phone("+498963648018", "0049 89 6364 8018")
    assert match == PhoneMatch(Agreement.EXACT, 12, "0049 89 6364 8018", True)


def test_japans_international_prefix_010_is_an_exact_spelling_in_a_japanese_company() -> None:
    # Japan dials abroad with 010 (libphonenumber lists it as its only international prefix).
    match = compare_phone("+498963648018", "010 49 89 63648018", "JP")
    assert match == PhoneMatch(Agreement.EXACT, 12, "010 49 89 63648018", True)


def test_a_number_of_no_country_matches_itself_exactly() -> None:
    # +800 is the international freephone code: libphonenumber gives it region 001, which has no trunk prefix.
    match = compare_phone("+80012345678", "+800 1234 5678")
    assert match == PhoneMatch(Agreement.EXACT, 11, "+800 1234 5678", True)


def test_a_trunk_0_is_exact_also_where_the_trunk_prefix_is_another() -> None:
    # Belarus's trunk prefix is 8, but a national number is also written with 0 ("029 491 19 11").
    match = compare_phone("+375294911911", "029 491 19 11", "BY")
    assert match == PhoneMatch(Agreement.EXACT, 9, "029 491 19 11", False)


def test_a_suffix_match_covering_the_whole_number_counts_all_its_digits() -> None:
    # "1 49 89 6364 8018" is no number; it ends in all twelve digits of +49 89 63648018.
    match = compare_phone("+498963648018", "1 49 89 6364 8018", "DE")
    assert match == PhoneMatch(Agreement.SUFFIX, 12, "1 49 89 6364 8018", False)


def test_an_old_brazilian_mobile_with_its_country_code_is_a_whole_number() -> None:
    # +55 11 8765-4321 lacks the 9 mobiles gained: read as today's +55 11 98765-4321, a valid number.
    assert read_stored("+55 11 8765-4321") == StoredPhone(
        phone="+55 11 8765-4321",
        digits="551187654321",
        numbers=("+5511987654321",),
        numbers_with_code=frozenset({"+5511987654321"}),
        whole=True,
        has_country_code=True,
        country_code="55",
        national="1187654321",
    )


def test_an_old_brazilian_mobile_written_nationally_is_a_whole_number_without_a_code() -> None:
    assert read_stored("(11) 8765-4321", "BR") == StoredPhone(
        phone="(11) 8765-4321",
        digits="1187654321",
        numbers=("+5511987654321",),
        numbers_with_code=frozenset(),
        whole=True,
        has_country_code=False,
        country_code="",
        national="1187654321",
    )


def test_an_old_mexican_mobile_written_nationally_reads_as_both_numbers_it_may_be() -> None:
    # Eleven digits without a trunk 0 read first as +1 551 234 5678 (the 1 is its country code), then in
    # Mexico as the old mobile 1 55 1234 5678, today +52 55 1234 5678, written without its country code.
    assert read_stored("1 55 1234 5678", "MX") == StoredPhone(
        phone="1 55 1234 5678",
        digits="15512345678",
        numbers=("+15512345678", "+525512345678"),
        numbers_with_code=frozenset({"+15512345678"}),
        whole=True,
        has_country_code=True,
        country_code="1",
        national="5512345678",
    )
