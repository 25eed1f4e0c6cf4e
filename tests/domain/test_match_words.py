"""The matching preview and the re-check list in plain words: every expected sentence is written out here
by hand, not built with the code under test."""

from __future__ import annotations

import pytest

from server.domain import phone_compare
from server.domain.match_words import (
    Mismatch,
    candidate_sentence,
    how_matched,
    matched_sentence,
    no_match_sentence,
    phone_match,
    why_no_longer_matched,
)
from server.domain.matching import MatchRule
from server.domain.phone_compare import Agreement, PhoneMatch
from server.domain.sync import NewChatAction, SyncSettings

MUNICH = "+498963648018"


def test_an_exact_match_names_the_phone_as_typed_and_the_person() -> None:
    match = PhoneMatch(Agreement.EXACT, 12, "+49 89 6364 8018")
    assert str(matched_sentence(MUNICH, match, "Klaus Becker", 7)) == (
        "Matched +49 89 6364 8018 on Person Klaus Becker exactly"
    )


def test_a_person_without_a_name_is_named_by_id() -> None:
    match = PhoneMatch(Agreement.EXACT, 12, "(089) 63648018")
    assert str(matched_sentence(MUNICH, match, "", 7)) == "Matched (089) 63648018 on Person #7 exactly"


@pytest.mark.parametrize(
    ("number", "stored", "expected"),
    [
        ("+5511987654321", "+55 11 8765-4321", "as a country variant (Brazilian mobile without its 9)"),
        (
            "+551187654321",
            "+55 11 98765-4321",
            "as a country variant (WhatsApp has the Brazilian mobile without its 9)",
        ),
        (
            "+5511987654321",
            "+55 11 98765-4321 (casa)",
            "as a country variant (the same number written another way)",
        ),
        (
            "+525512345678",
            "+52 1 55 1234 5678",
            "as a country variant (Mexican mobile with the old 1 after +52)",
        ),
        (
            "+5215512345678",
            "+52 55 1234 5678",
            "as a country variant (WhatsApp has the Mexican mobile with the old 1 after +52)",
        ),
        (
            "+5491123456789",
            "+54 11 2345-6789",
            "as a country variant (Argentine mobile without the 9 after +54)",
        ),
        (
            "+541123456789",
            "+54 9 11 2345-6789",
            "as a country variant (Argentine mobile with the 9 after +54)",
        ),
        (
            "+5491123456789",
            "011 15 2345-6789",
            "as a country variant (Argentine mobile written the national way, with 15)",
        ),
    ],
)
def test_a_country_variant_says_which_spelling(number: str, stored: str, expected: str) -> None:
    assert str(how_matched(number, PhoneMatch(Agreement.VARIANT, 12, stored))) == expected


def test_a_fuzzy_match_says_how_many_digits_and_how_the_phone_was_stored() -> None:
    national = PhoneMatch(Agreement.SUFFIX, 9, "963648018")
    assert str(matched_sentence(MUNICH, national, "Lokal Lisa", 3)) == (
        "Matched 963648018 on Person Lokal Lisa by its last 9 digits (stored without a country code)"
    )
    odd = PhoneMatch(Agreement.SUFFIX, 9, "+99 963648018", has_country_code=True)
    assert str(how_matched(MUNICH, odd)) == (
        "by its last 9 digits (stored with a country code, but not as a valid number)"
    )


def test_a_match_result_is_read_by_its_rule() -> None:
    assert phone_match(MatchRule.INDEX_FUZZY, "0049 896364801", 9, True) == PhoneMatch(
        Agreement.SUFFIX, 9, "0049 896364801", has_country_code=True
    )
    assert phone_match(MatchRule.SEARCH_FUZZY, "963648018", 9, False) == PhoneMatch(
        Agreement.SUFFIX, 9, "963648018"
    )
    assert phone_match(MatchRule.COUNTRY_VARIANT, "+55 11 8765-4321", 12, True) == PhoneMatch(
        Agreement.VARIANT, 12, "+55 11 8765-4321", has_country_code=True
    )
    assert phone_match(MatchRule.SEARCH_EXACT, "(089) 63648018", 10, False) == PhoneMatch(
        Agreement.EXACT, 10, "(089) 63648018"
    )
    assert phone_match(MatchRule.INDEX_EXACT, None, None, None) is None
    for rule in (MatchRule.MANUAL, MatchRule.CREATED, MatchRule.STORED_LINK):
        assert phone_match(rule, "+49 89 6364 8018", 12, True) is None


def test_another_candidate_is_named_with_its_reason() -> None:
    match = PhoneMatch(Agreement.SUFFIX, 8, "5550 1234")
    assert str(candidate_sentence("+4917655501234", match, "Kurz <b>Karl</b>", 9)) == (
        "Person Kurz <b>Karl</b>: 5550 1234 matches by its last 8 digits (stored without a country code)"
    )


def settings(**values: object) -> SyncSettings:
    return SyncSettings(company_id=1, **values)  # type: ignore[arg-type]


def test_what_auto_add_would_do_follows_the_settings() -> None:
    number = "+4940555501111"
    assert str(no_match_sentence(number, settings(auto_add_persons=True))) == (
        "No Person matches; a chat from this number would create a Person"
    )
    deal = settings(auto_add_persons=True, new_chat_action=NewChatAction.DEAL, pipeline_id=3)
    assert str(no_match_sentence(number, deal, pipeline="WhatsApp <inbound>")) == (
        "No Person matches; a chat from this number would create a Person and a Deal in WhatsApp <inbound>"
    )
    assert str(no_match_sentence(number, deal)) == (
        "No Person matches; a chat from this number would create a Person and a Deal in pipeline #3"
    )
    first = settings(auto_add_persons=True, new_chat_action=NewChatAction.DEAL)
    assert str(no_match_sentence(number, first)) == (
        "No Person matches; a chat from this number would create a Person and a Deal in the first pipeline"
    )
    lead = settings(auto_add_persons=True, new_chat_action=NewChatAction.LEAD)
    assert str(no_match_sentence(number, lead)) == (
        "No Person matches; a chat from this number would create a Person and a Lead"
    )
    off = settings(auto_add_persons=False, new_chat_action=NewChatAction.DEAL)
    assert str(no_match_sentence(number, off)) == (
        "No Person matches; a chat from this number would create nothing: auto-add is off"
    )
    excluded = settings(auto_add_persons=True, excluded_numbers=frozenset({number}))
    assert str(no_match_sentence(number, excluded)) == (
        "No Person matches; a chat from this number would create nothing: the number is excluded"
    )


def said(found: Mismatch) -> tuple[str, str]:
    """The mismatch's reason and its sentence in English, as a page in English shows it."""
    return found.reason, str(found.message)


def test_a_person_without_phones_no_longer_matches() -> None:
    found = why_no_longer_matched(MUNICH, (), "DE")
    assert said(found) == (
        "person_without_phones",
        "The Person has no phone in WaPipe's copy of Pipedrive any more (deleted, or its phones removed)",
    )


def test_a_phone_with_its_own_country_code_is_another_number() -> None:
    found = why_no_longer_matched("+5215512345678", ("+4915112345678",), "DE")
    assert said(found) == (
        "other_number",
        "+4915112345678 is another number (+49 1511 2345678), stored with its country code; "
        "only the last 8 digits agree",
    )


def test_a_national_phone_that_reads_as_another_number() -> None:
    found = why_no_longer_matched(MUNICH, ("030 1234 8018", "0176 5550 9999"), "DE")
    assert said(found) == (
        "other_number",
        "030 1234 8018 is another number (+49 30 12348018); only the last 5 digits agree. "
        "0176 5550 9999 is another number (+49 176 55509999)",
    )


def test_a_phone_that_reads_as_no_number_shares_too_few_digits() -> None:
    # The rule as matching has it at run time: how many trailing digits must agree.
    needed = phone_compare.MIN_SUFFIX_DIGITS
    found = why_no_longer_matched(MUNICH, ("1 2 3 4 8 0 1 8 #",), "DE")
    assert said(found) == (
        "too_few_digits",
        "1 2 3 4 8 0 1 8 # shares only its last 5 digits with the chat's number; "
        f"at least {needed} must agree",
    )
