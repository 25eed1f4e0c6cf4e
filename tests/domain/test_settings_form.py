"""Numbers an admin types on the settings page: pasted spellings read as the number, the rest refused."""

from __future__ import annotations

import pytest

from server.domain.settings_form import FieldError, contact_number, excluded_number


@pytest.mark.parametrize(
    "typed",
    [
        "+49 170 1234567",
        "+49 (170) 123-4567",
        "0049 170 1234567",
        "+49\u00a0170\u2009123\u20134567",  # no-break and thin spaces, an en dash: as web pages paste them
        "+49\t170 1234567",
        "\u202a+49 170 1234567\u202c",  # the direction marks WhatsApp wraps a copied number in
        "\u200e+49 170 1234567",
    ],
)
def test_pasted_spellings_read_as_the_number(typed: str) -> None:
    assert excluded_number(typed) == "+491701234567"
    assert contact_number(typed) == "+491701234567"


@pytest.mark.parametrize(
    ("typed", "named"),
    [
        ('+49 170 1\u200b234 "><b>', "U+200B ZERO WIDTH SPACE"),
        ('+49 170 1234567 "><script>', '“"”'),
        ("+49 170 1234567 ext 12", "“e”"),
        ("+49 170 1234567x", "“x”"),
        ("+49 170 1234567\u00ad", "U+00AD SOFT HYPHEN"),
        ("+４９ 170 1234567", "“４”"),
    ],
)
def test_trailing_junk_and_invisible_characters_are_refused_not_cut_off(typed: str, named: str) -> None:
    for refusal, reason in (
        (excluded_number(typed), "excluded_number_invalid"),
        (contact_number(typed), "phone_invalid"),
    ):
        assert isinstance(refusal, FieldError)
        assert refusal.reason == reason
        assert named in refusal.message and "type only the number" in refusal.message


def test_a_long_refused_line_is_shortened_in_the_message() -> None:
    refusal = excluded_number("+49 170 " + "x" * 5000)
    assert isinstance(refusal, FieldError) and len(refusal.message) < 120
