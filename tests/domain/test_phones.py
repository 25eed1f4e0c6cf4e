from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.errors import InvalidInput
from server.domain.phone_compare import (
    Agreement,
    common_suffix_length,
    compare_phone,
    international_number,
    suffix_match_length,
)
from server.domain.phone_numbers import (
    calling_code_and_nsn,
    clean_phone_text,
    equivalent_e164s,
    is_international,
    phone_digits,
    region_of,
    to_e164,
)

MUNICH = "+498963648018"
ISSUE_FORMATS = ["+49 89 6364 8018", "0049896364-8018", "(089) 63648018", "8963648018"]


@pytest.mark.parametrize(
    "raw",
    [
        *ISSUE_FORMATS,
        "+49 (0) 89 6364 8018",
        "+49 (0)89 63648018",
        "089/63648018",
        "+49-89-6364-8018",
        "+49 089 63648018",
        "498963648018",
        "Mobile: +49 89 6364 8018",
        "tel:+49-89-6364-8018;ext=5",
        "+49 89 6364 8018 ext. 12",
        "+49 89 6364 8018 x12",
        "+49 89 6364 8018 (office)",
        "  +49\u00a089\u00a06364\u00a08018  ",
        "+49 89 6364–8018",
        "٠٠٤٩٨٩٦٣٦٤٨٠١٨",  # Arabic-Indic digits
        "０８９ ６３６４８０１８",  # full-width digits
    ],
)
def test_every_written_form_reads_as_one_e164(raw: str) -> None:
    assert to_e164(raw, "DE") == MUNICH


@pytest.mark.parametrize(
    ("raw", "clean", "digits"),
    [
        ("Mobile: +49 (0) 89 6364-8018 ext. 12", "+49 89 6364-8018", "498963648018"),
        ("0049896364-8018", "0049896364-8018", "00498963648018"),
        ("(089) 63648018", "(089) 63648018", "08963648018"),
        ("Fax: 089 / 6364 8018 # 3", "089 / 6364 8018", "08963648018"),
        ("call me", "", ""),
        ("", "", ""),
        ("+", "", ""),
        ("(+)", "", ""),
    ],
)
def test_labels_extensions_and_trunk_zero_are_removed(raw: str, clean: str, digits: str) -> None:
    assert clean_phone_text(raw) == clean
    assert phone_digits(raw) == digits


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("(+49) 89 6364 8018", "+49 89 6364 8018"),
        ("Tel. (+49) 89 6364-8018", "+49 89 6364-8018"),
        ("++49 89 6364 8018", "+49 89 6364 8018"),
        ("+ 49 89 6364 8018", "+49 89 6364 8018"),
        ("+49 89 (6364) 8018", "+49 89 (6364) 8018"),
        ("+49 89 6364 8018 +44 20 7946 0958", "+49 89 6364 8018"),  # the first of two numbers
    ],
)
def test_a_country_code_written_in_brackets_or_twice_is_still_the_country_code(raw: str, clean: str) -> None:
    assert clean_phone_text(raw) == clean
    assert is_international(raw)
    assert to_e164(raw, "US") == MUNICH  # the company's country does not matter: the number says +49


def test_national_numbers_need_a_region_international_ones_do_not() -> None:
    assert to_e164("(089) 63648018") is None
    assert to_e164("8963648018") is None
    assert to_e164("+49 89 6364 8018") == MUNICH
    assert to_e164("0049896364-8018", "US") == MUNICH  # 00 is read as the international prefix anyway
    assert to_e164("011 49 89 63648018", "US") == MUNICH
    assert to_e164("(415) 555-2671", "US") == "+14155552671"


def test_a_stored_international_number_without_plus_is_read_as_international() -> None:
    assert to_e164("5511987654321", "DE") == "+5511987654321"
    assert to_e164("1 (415) 555-2671", "DE") == "+14155552671"
    assert to_e164("015112345678", "DE") == "+4915112345678"


@pytest.mark.parametrize("raw", ["", "abc", "12", "+999 1234567", "++", "()", "--"])
def test_garbage_is_no_number(raw: str) -> None:
    assert to_e164(raw, "DE") is None


def test_is_international() -> None:
    assert is_international("+49 89 6364 8018")
    assert is_international("0049 89 6364 8018")
    assert is_international("(0049) 89 6364 8018")
    assert not is_international("(089) 63648018")


def test_legacy_mobile_spellings_are_modernised() -> None:
    assert to_e164("+55 11 8765-4321") == "+5511987654321"
    assert to_e164("+52 1 55 1234 5678") == "+525512345678"
    assert to_e164("(11) 8765-4321", "BR") == "+5511987654321"


def test_argentine_15_trunk_form_is_read_as_the_mobile_number() -> None:
    assert to_e164("011 15 2345-6789", "AR") == "+5491123456789"
    assert to_e164("0351 15 234-5678", "AR") == "+5493512345678"
    assert to_e164("+54 11 15 2345 6789") == "+5491123456789"
    assert to_e164("+54 9 11 2345-6789") == "+5491123456789"


@pytest.mark.parametrize(
    ("number", "variants"),
    [
        ("+5511987654321", {"+5511987654321", "+551187654321"}),  # BR: 9th digit dropped
        ("+551187654321", {"+551187654321", "+5511987654321"}),  # BR: 9th digit added
        ("+551134567890", {"+551134567890"}),  # BR landline: no variant
        # BR: an 8-digit mobile that itself starts with 9 gains a second 9; nothing is dropped from it
        ("+551198765432", {"+551198765432", "+5511998765432"}),
        ("+5491123456789", {"+5491123456789", "+541123456789"}),  # AR: 9 after +54 dropped
        ("+541123456789", {"+541123456789", "+5491123456789"}),  # AR: 9 added
        ("+525512345678", {"+525512345678", "+5215512345678"}),  # MX: 1 added
        ("+5215512345678", {"+5215512345678", "+525512345678"}),  # MX: 1 dropped
        (MUNICH, {MUNICH}),
        ("not a number", {"not a number"}),
    ],
)
def test_country_variants(number: str, variants: set[str]) -> None:
    assert equivalent_e164s(number) == variants


@settings(deadline=None)  # no deadline: a busy machine must not fail it
@given(
    st.sampled_from(["+5511987654321", "+551187654321", "+5491123456789", "+541123456789", "+525512345678"])
)
def test_variants_are_symmetric(number: str) -> None:
    for variant in equivalent_e164s(number):
        assert equivalent_e164s(variant) == equivalent_e164s(number)


def test_region_and_national_number() -> None:
    assert region_of("+4915112345678") == "DE"
    assert region_of("4915112345678") == "DE"
    assert region_of("+999") is None
    assert calling_code_and_nsn("+5491123456789") == ("54", "91123456789")
    assert calling_code_and_nsn("+14155552671") == ("1", "4155552671")


def test_international_number_rejects_non_numbers() -> None:
    assert international_number("+551187654321") == "+5511987654321"
    for bad in ("8963648018", "hello", "+"):
        with pytest.raises(InvalidInput) as caught:
            international_number(bad)
        assert caught.value.reason == "invalid_phone"


def test_suffix_rule_stops_at_eight_digits() -> None:
    assert common_suffix_length("498963648018", "08963648018") == 10
    assert suffix_match_length("498963648018", "00498963648018") == 12
    assert suffix_match_length("498963648018", "63648018") == 8
    assert suffix_match_length("498963648018", "3648018") == 0  # 7 digits: too few
    assert suffix_match_length("498963648018", "15563648018") == 8
    assert suffix_match_length("498963648018", "15553648018") == 0  # shares only 7


@settings(deadline=None)  # no deadline: a busy machine must not fail it
@given(st.text(alphabet="0123456789", min_size=8, max_size=15), st.text(alphabet="0123456789", max_size=6))
def test_suffix_rule_property(number: str, prefix: str) -> None:
    # Anything that ends with the whole number matches over the whole number.
    assert suffix_match_length(number, prefix + number) == len(number)
    # Changing the 8th digit from the end breaks every match of 8 or more.
    flipped = number[:-8] + str((int(number[-8]) + 1) % 10) + number[-7:]
    assert suffix_match_length(number, flipped) == 0


@pytest.mark.parametrize("stored", [*ISSUE_FORMATS, "+49 (0) 89 6364 8018", "tel:+49 89 6364 8018 ext 4"])
def test_issue_formats_agree_exactly(stored: str) -> None:
    match = compare_phone(MUNICH, stored, "DE")
    assert match is not None
    assert match.agreement is Agreement.EXACT
    assert match.phone == stored


@pytest.mark.parametrize("stored", ["(089) 63648018", "8963648018", "63648018", "6364 8018"])
def test_national_forms_in_another_region_agree_by_suffix(stored: str) -> None:
    match = compare_phone(MUNICH, stored, "US")
    assert match is not None
    assert match.agreement is Agreement.SUFFIX
    assert match.suffix_length == len(phone_digits(stored).lstrip("0"))


def test_six_or_seven_digit_overlap_does_not_agree() -> None:
    assert compare_phone(MUNICH, "964 8018", "DE") is None
    assert compare_phone(MUNICH, "+1 212 964 8018", "DE") is None
    assert compare_phone(MUNICH, "648018", "DE") is None
    assert compare_phone(MUNICH, "364 8018", "US") is None  # 7 digits, no valid number in the US


def test_another_country_with_the_same_digits_does_not_agree() -> None:
    assert compare_phone(MUNICH, "+43 89 63648018", "DE") is None
    assert compare_phone(MUNICH, "0043 89 63648018", "DE") is None


@pytest.mark.parametrize(
    ("chat", "stored", "agreement"),
    [
        ("+5511987654321", "+55 11 8765-4321", Agreement.VARIANT),  # BR stored without the 9
        ("+551187654321", "+55 11 98765-4321", Agreement.VARIANT),  # BR chat id without the 9
        ("+551187654321", "+55 11 8765-4321", Agreement.EXACT),
        ("+5491123456789", "+54 11 2345-6789", Agreement.VARIANT),  # AR stored without the 9
        ("+541123456789", "+54 9 11 2345 6789", Agreement.VARIANT),  # AR chat id without the 9
        ("+5491123456789", "011 15 2345-6789", Agreement.VARIANT),  # AR national 15 form
        ("+5491123456789", "+54 11 15 2345 6789", Agreement.VARIANT),
        ("+5491123456789", "+54 9 11 2345-6789", Agreement.EXACT),
        ("+525512345678", "+52 1 55 1234 5678", Agreement.VARIANT),  # MX stored with the 1
        ("+5215512345678", "+52 55 1234 5678", Agreement.VARIANT),  # MX chat id with the 1
    ],
)
def test_country_variants_agree(chat: str, stored: str, agreement: Agreement) -> None:
    match = compare_phone(chat, stored, "AR")
    assert match is not None
    assert match.agreement is agreement
