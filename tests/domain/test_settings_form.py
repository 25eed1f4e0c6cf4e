"""Numbers an admin types on the settings page: pasted spellings read as the number, the rest refused."""

from __future__ import annotations

import pytest

from server.domain.settings_form import (
    CompanySettingsValues,
    FieldError,
    SettingsInput,
    check_settings,
    contact_number,
    excluded_number,
)


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


def test_the_excluded_numbers_check_names_every_bad_line() -> None:
    typed = SettingsInput(
        import_frequency="realtime",
        new_chat_action="nothing",
        excluded_numbers="+49 176 55501234\n0176 5550 9999\n\n+1 23\n+49 170 12x4567\n+1 415 555 0132",
    )
    refusal = check_settings(typed, None).errors["excluded_numbers"]
    assert refusal.reason == "excluded_number_needs_country_code"  # the first bad line's
    assert refusal.message == "3 lines need a change; each is named below"
    assert [(line.reason, line.message.split(":")[0]) for line in refusal.lines] == [
        ("excluded_number_needs_country_code", "Line 2"),
        ("excluded_number_invalid", "Line 4"),
        ("excluded_number_invalid", "Line 5"),
    ]
    assert "0176 5550 9999" in refusal.lines[0].message and "“x”" in refusal.lines[2].message

    one = check_settings(
        SettingsInput("realtime", new_chat_action="nothing", excluded_numbers="\n+1 23"), None
    )
    [line] = one.errors["excluded_numbers"].lines
    assert (
        one.errors["excluded_numbers"].message == line.message == "Line 2: +1 23 is not a valid phone number"
    )


def test_the_pipeline_is_kept_while_another_action_is_chosen() -> None:
    lead = SettingsInput("realtime", new_chat_action="lead", pipeline_id="7")
    assert check_settings(lead, {7, 8}).values == CompanySettingsValues(
        import_frequency="realtime", new_chat_action="lead", pipeline_id=7, auto_add_persons=False
    )
    gone = check_settings(SettingsInput("realtime", new_chat_action="lead", pipeline_id="9"), {7, 8})
    assert gone.values is not None and gone.values.pipeline_id is None  # deleted meanwhile: dropped
    junk = check_settings(SettingsInput("realtime", new_chat_action="nothing", pipeline_id="x"), {7})
    assert junk.values is not None and junk.values.pipeline_id is None and not junk.errors
