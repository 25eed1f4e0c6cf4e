"""What a shared contact card offers for each number: open the Person the company's phone index matches
(exact, country variant, fuzzy), create one when none does, nothing for text that is no number; and
which numbers a created Person gets."""

from __future__ import annotations

from server.domain.contact_cards import (
    CardAction,
    CardNumber,
    card_number,
    card_numbers,
    new_person_phones,
    person_name,
)
from server.domain.matching import PersonPhones, PhoneIndex
from server.domain.message_kinds import card

NAMES = {7: "Lokal Lisa", 8: "Bruno Brasil", 9: "Kurz Karl"}
MUNICH = "+49 89 6364 8018"


def index() -> PhoneIndex:
    found = PhoneIndex("DE")
    found.apply(
        [
            PersonPhones(7, ("0176 5550 9999",)),  # a German mobile written nationally
            PersonPhones(8, ("+55 11 8765-4321",)),  # a São Paulo mobile stored without its 9
        ]
    )
    return found


def test_a_number_a_person_has_opens_that_person() -> None:
    assert card_number("+49 176 55509999", "DE", index(), NAMES) == CardNumber(
        "+49 176 55509999", "+4917655509999", 7, "Lokal Lisa"
    )
    assert card_number("+49 176 55509999", "DE", index(), NAMES).action is CardAction.OPEN


def test_national_numbers_on_the_card_are_read_in_the_companys_country() -> None:
    assert card_number("0176 5550 9999", "DE", index(), NAMES).person_id == 7
    assert card_number("0176 5550 9999", "AT", index(), NAMES) == CardNumber(
        "0176 5550 9999", "+4317655509999"
    )


def test_a_country_variant_and_a_fuzzy_match_open_their_person_too() -> None:
    assert card_number("+55 11 98765-4321", "DE", index(), NAMES).person_id == 8
    french = PhoneIndex("FR")  # "63648018" is no French number: it matches by its last eight digits
    french.apply([PersonPhones(9, ("63648018",))])
    assert card_number(MUNICH, "FR", french, NAMES) == CardNumber(MUNICH, "+498963648018", 9, "Kurz Karl")
    assert card_number("+49 89 6364 8019", "FR", french, NAMES).person_id is None


def test_a_number_nobody_has_offers_to_create_a_person() -> None:
    found = card_number("+49 170 1234567", "DE", index(), NAMES)
    assert found == CardNumber("+49 170 1234567", "+491701234567")
    assert found.action is CardAction.CREATE


def test_text_that_is_no_number_is_shown_and_offers_nothing() -> None:
    for typed in ("call me", "+1 23", "0176 555"):
        found = card_number(typed, "DE", index(), NAMES)
        assert (found.typed, found.e164, found.action) == (typed, None, CardAction.NONE)
    assert card_number("030 1234567", None, index(), NAMES).action is CardAction.NONE  # no country


def test_a_created_person_gets_the_chosen_number_first_and_the_other_free_ones() -> None:
    numbers = card_numbers(
        card("Jo", ["+49 176 55509999", "+49 170 1234567", "call me", "0170 7654321", "+491701234567"]),
        "DE",
        index(),
        NAMES,
    )
    assert [n.action for n in numbers] == [
        CardAction.OPEN,
        CardAction.CREATE,
        CardAction.NONE,
        CardAction.CREATE,
        CardAction.CREATE,
    ]
    assert new_person_phones(numbers, 3) == ("+491707654321", "+491701234567")
    assert new_person_phones(numbers, 1) == ("+491701234567", "+491707654321")
    assert new_person_phones(numbers, 2) == ()


def test_the_new_persons_name_is_the_cards_with_spaces_tidied() -> None:
    assert person_name("  Jo   <b>Bold</b> ", "+491701234567") == "Jo <b>Bold</b>"
    assert person_name("", "+491701234567") == "+491701234567"
    assert person_name("x" * 300, "+491701234567") == "x" * 255
