"""What the panel and the chat view offer for each number on a shared contact card (issue 17).

A number that reads as a phone number (in the company's country, ``phones.to_e164``) is looked up the way
the sync matches a chat's number (``matching.PhoneIndex``: exact, country variant, then fuzzy): when a
Person already has it, the view offers to open that Person; when none has it, to create one with the
card's name and numbers. A number that does not read as one is shown and offers nothing. The card's
name and numbers are what a stranger typed: they stay plain text here, for the views to escape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from server.domain.matching import PhoneIndex
from server.domain.message_kinds import UNNAMED, ContactCard
from server.domain.phone_numbers import to_e164
from server.domain.text import Text


class CardAction(StrEnum):
    OPEN = "open"  # a Person has the number
    CREATE = "create"  # no Person has it: offer to create one
    NONE = "none"  # not a phone number: shown, no action


@dataclass(frozen=True, slots=True)
class CardNumber:
    """One number of a card as shown, and what the view offers for it."""

    typed: str
    e164: str | None
    person_id: int | None = None
    person_name: str = ""

    @property
    def action(self) -> CardAction:
        if self.e164 is None:
            return CardAction.NONE
        return CardAction.OPEN if self.person_id is not None else CardAction.CREATE


@dataclass(frozen=True, slots=True)
class CardView:
    """A card with its numbers' actions, and where the view's buttons send their requests.

    ``create_url`` is the surface's create endpoint; ``csrf_token`` is set in the chat view (the panel
    proves itself with Pipedrive's token); ``person_url`` is the Pipedrive address a Person's id is
    appended to (``https://<company>.pipedrive.com/person/``). ``error_reason``/``error_message`` name a
    create that failed."""

    message_id: int
    index: int
    name: str
    numbers: tuple[CardNumber, ...]
    create_url: str = ""
    csrf_token: str = ""
    person_url: str = ""
    error_reason: str = ""
    error_message: str | Text = ""

    @property
    def dom_id(self) -> str:
        return f"card-{self.message_id}-{self.index}"

    @property
    def shown_name(self) -> str | Text:
        """The card's name as the view shows it (a card without one says so in the reader's language)."""
        return Text("Unnamed contact") if self.name == UNNAMED else self.name


def card_number(typed: str, region: str | None, index: PhoneIndex, names: Mapping[int, str]) -> CardNumber:
    """The decision for one number: open the Person the index matches, else create, or nothing for a
    number that does not parse."""
    e164 = to_e164(typed, default_region=region)
    if e164 is None:
        return CardNumber(typed, None)
    found = index.match(e164)
    if found is None:
        return CardNumber(typed, e164)
    return CardNumber(typed, e164, found.person_id, names.get(found.person_id, ""))


def card_numbers(
    card: ContactCard, region: str | None, index: PhoneIndex, names: Mapping[int, str]
) -> tuple[CardNumber, ...]:
    return tuple(card_number(phone, region, index, names) for phone in card.phones)


def new_person_phones(numbers: tuple[CardNumber, ...], chosen: int) -> tuple[str, ...]:
    """The phones a Person created from the card gets, in E.164: the chosen number first, then the card's
    other readable numbers no Person has yet (a number another Person has stays theirs alone)."""
    first = numbers[chosen].e164
    if first is None:
        return ()
    rest = [n.e164 for n in numbers if n.e164 is not None and n.action is CardAction.CREATE]
    return tuple(dict.fromkeys([first, *rest]))


def person_name(card_name: str, e164: str) -> str:
    """The new Person's name: the card's (a nameless card is named after its first number already)."""
    return " ".join(card_name.split())[:255] or e164
