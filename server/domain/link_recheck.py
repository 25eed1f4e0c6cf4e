"""Links matching made that the current rules would not make.

A chat's stored link keeps the Person it was matched to, even when the rules change (a rule needing more
digits, no suffix across countries) or the Person's phones do. Such a link is checked again, on demand,
against the Person's phones as the phone index holds them: when none of them matches the chat's number
any more, the link is one an admin should decide about. Only links matching made are checked (the rules in
``RECHECKED_RULES``): a manual link is a person's decision, and a Person the engine created for the number
carries it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from server.domain.errors import InvalidInput
from server.domain.match_words import Mismatch, international_form, why_no_longer_matched
from server.domain.matching import MatchRule
from server.domain.phone_compare import best_phone_match
from server.domain.phone_numbers import region_of
from server.domain.text import Text

RECHECKED_RULES = frozenset(
    rule.value
    for rule in (
        MatchRule.INDEX_EXACT,
        MatchRule.INDEX_FUZZY,
        MatchRule.SEARCH_EXACT,
        MatchRule.SEARCH_FUZZY,
        MatchRule.COUNTRY_VARIANT,
    )
)


@dataclass(frozen=True, slots=True)
class MatchedLink:
    """A chat with a number, linked to a Person by one of ``RECHECKED_RULES``."""

    chat_id: int
    e164: str
    person_id: int
    person_name: str
    rule: str
    account_e164: str | None = None  # the WhatsApp number the chat belongs to

    @property
    def region(self) -> str | None:
        """Where national phones are read, as the sync engine reads them for this chat."""
        return region_of(self.account_e164 or self.e164)


@dataclass(frozen=True, slots=True)
class StaleLink:
    """A link the current rules would not make, with why in plain words (``reason`` names it)."""

    chat_id: int
    e164: str
    person_id: int
    person_name: str
    rule: str
    reason: str
    message: Text  # why, in the reader's language where a page shows it

    @property
    def number(self) -> str:
        return international_form(self.e164)


def no_longer_matched(link: MatchedLink, phones: Sequence[str]) -> Mismatch | None:
    """Why the current rules would not link the chat to its Person (``phones``: the Person's phones as
    typed; none when the index no longer holds the Person), or ``None`` while one of them matches."""
    try:
        if phones and best_phone_match(link.e164, phones, link.region) is not None:
            return None
        return why_no_longer_matched(link.e164, phones, link.region)
    except InvalidInput:  # a chat number no rule can read is not one matching made: nothing to say
        return None
