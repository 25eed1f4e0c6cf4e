"""What matching did, and why a link no longer holds, in plain words for the settings page.

``matched_sentence``: "Matched +49 89 6364 8018 on Person Klaus Becker exactly", "… as a country variant
(Brazilian mobile without its 9)", "… by its last 9 digits (stored without a country code)".
``no_match_sentence``: what a chat from an unknown number would create under the company's settings.
``why_no_longer_matched``: why none of a linked Person's phones matches the chat's number under the
rules as they are now (``phone_compare.compare_phone``), with a named reason.
The sentences carry text as typed (names, phones): pages escape them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import phonenumbers

from server.domain import phone_compare
from server.domain.matching import MatchRule
from server.domain.phone_compare import Agreement, PhoneMatch, common_suffix_length, international_number
from server.domain.phone_numbers import (
    calling_code_and_nsn,
    equivalent_e164s,
    is_international,
    phone_digits,
    to_e164,
)
from server.domain.sync import NewChatAction, SyncSettings

NO_MATCH = "No Person matches; a chat from this number would create"
_AGREEMENTS = {
    MatchRule.INDEX_EXACT: Agreement.EXACT,
    MatchRule.SEARCH_EXACT: Agreement.EXACT,
    MatchRule.COUNTRY_VARIANT: Agreement.VARIANT,
    MatchRule.INDEX_FUZZY: Agreement.SUFFIX,
    MatchRule.SEARCH_FUZZY: Agreement.SUFFIX,
}


@dataclass(frozen=True, slots=True)
class Mismatch:
    """Why a stored link is one the current rules would not make: a named reason and a sentence."""

    reason: str  # person_without_phones | other_number | too_few_digits
    message: str


def person_label(name: str, person_id: int) -> str:
    return f"Person {name}" if name.strip() else f"Person #{person_id}"


def matched_sentence(e164: str, match: PhoneMatch, name: str, person_id: int) -> str:
    """ "Matched <the phone as stored> on Person <name> <how>"."""
    return f"Matched {match.phone} on {person_label(name, person_id)} {how_matched(e164, match)}"


def candidate_sentence(e164: str, match: PhoneMatch, name: str, person_id: int) -> str:
    """Another candidate: "Person <name>: <the phone as stored> matches <how>"."""
    return f"{person_label(name, person_id)}: {match.phone} matches {how_matched(e164, match)}"


def how_matched(e164: str, match: PhoneMatch) -> str:
    """ "exactly", "as a country variant (…)" or "by its last N digits (…)"."""
    if match.agreement is Agreement.EXACT:
        return "exactly"
    if match.agreement is Agreement.VARIANT:
        return f"as a country variant ({_variant(e164, match.phone)})"
    stored = (
        "stored with a country code, but not as a valid number"
        if match.has_country_code
        else "stored without a country code"
    )
    return f"by its last {match.suffix_length} digits ({stored})"


def phone_match(
    rule: MatchRule, phone: str | None, suffix_length: int | None, had_country_code: bool | None
) -> PhoneMatch | None:
    """How a match result (``MatchResult``, ``PersonMatch``) says its Person matched, for the sentences
    above; ``None`` for a link no phone made (stored, created, manual)."""
    agreement = _AGREEMENTS.get(rule)
    if agreement is None or phone is None:
        return None
    return PhoneMatch(agreement, suffix_length or 0, phone, bool(had_country_code))


def no_match_sentence(e164: str, settings: SyncSettings, *, pipeline: str | None = None) -> str:
    """What a chat from ``e164`` would create when no Person has the number (``pipeline``: the name of
    the pipeline new Deals go into, when known)."""
    if settings.excludes(e164):
        return f"{NO_MATCH} nothing: the number is excluded"
    if not settings.auto_add_persons:
        return f"{NO_MATCH} nothing: auto-add is off"
    if settings.new_chat_action is NewChatAction.DEAL:
        where = pipeline or (
            f"pipeline #{settings.pipeline_id}" if settings.pipeline_id is not None else "the first pipeline"
        )
        return f"{NO_MATCH} a Person and a Deal in {where}"
    if settings.new_chat_action is NewChatAction.LEAD:
        return f"{NO_MATCH} a Person and a Lead"
    return f"{NO_MATCH} a Person"


def kept_sentence(e164: str, name: str, person_id: int) -> str:
    """What keeping a listed link did."""
    label = person_label(name, person_id)
    number = international_form(e164)
    return f"The link of {number} to {label} is kept: it is a manual link now, not listed again"


def relinked_sentence(e164: str, match: PhoneMatch | None, name: str, person_id: int) -> str:
    """What re-linking a listed chat did, when the current rules found a Person."""
    label = person_label(name, person_id)
    how = f": matched {match.phone} {how_matched(e164, match)}" if match is not None else ""
    return f"The chat with {international_form(e164)} is now linked to {label}{how}"


def unmatched_relink_sentence(e164: str, settings: SyncSettings) -> str:
    """What happens to a re-linked chat whose number no Person has."""
    start = f"No Person has {international_form(e164)}; "
    if settings.excludes(e164):
        return start + "the number is excluded, so nothing from the chat is logged"
    if not settings.auto_add_persons:
        return start + "auto-add is off, so the chat stays unlinked"
    return start + "the sync creates a Person for it"


def why_no_longer_matched(e164: str, stored: Sequence[str], default_region: str | None) -> Mismatch:
    """Why none of ``stored`` (a Person's phones as typed) matches ``e164``; the reason is the one of the
    phone sharing the most trailing digits, the message names every phone."""
    if not stored:
        return Mismatch(
            "person_without_phones",
            "The Person has no phone in WaPipe's copy of Pipedrive any more (deleted, or its phones removed)",
        )
    forms = [form[1:] for form in equivalent_e164s(international_number(e164))]
    explained: list[tuple[int, Mismatch]] = []
    for phone in stored:
        digits = phone_digits(phone)
        shared = max(common_suffix_length(form, digits) for form in forms)
        explained.append((shared, _one_phone(phone, shared, default_region)))
    closest = max(explained, key=lambda item: item[0])[1]
    return Mismatch(closest.reason, ". ".join(mismatch.message for _, mismatch in explained))


def international_form(e164: str) -> str:
    """ "+49 89 63648018" for "+498963648018" (the number unchanged when it cannot be read)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _one_phone(phone: str, shared: int, default_region: str | None) -> Mismatch:
    reads_as = to_e164(phone, default_region)
    agree = f"; only the last {shared} digits agree" if shared else ""
    if reads_as is not None:
        written = ", stored with its country code" if is_international(phone) else ""
        return Mismatch(
            "other_number", f"{phone} is another number ({international_form(reads_as)}){written}{agree}"
        )
    if shared == 0:
        return Mismatch("too_few_digits", f"{phone} shares no trailing digits with the chat's number")
    return Mismatch(
        "too_few_digits",
        f"{phone} shares only its last {shared} digits with the chat's number; "
        f"at least {phone_compare.MIN_SUFFIX_DIGITS} must agree",
    )


def _variant(e164: str, stored: str) -> str:
    """Which spelling made the stored phone a country variant of the chat's number."""
    given = "+" + phone_digits(e164)
    number = international_number(e164)
    code, _ = calling_code_and_nsn(number)
    digits = phone_digits(stored)
    if code == "54" and not is_international(stored) and "15" in digits:
        return "Argentine mobile written the national way, with 15"
    spelled = [form for form in equivalent_e164s(number) if digits.endswith(calling_code_and_nsn(form)[1])]
    stored_form = max(spelled, key=lambda form: len(form), default=number)
    if stored_form != number:
        return _spelling(stored_form)
    if given != number:
        return f"WhatsApp has the {_spelling(given)}"
    return "the same number written another way"


def _spelling(e164: str) -> str:
    code, nsn = calling_code_and_nsn(e164)
    if code == "55":
        return "Brazilian mobile without its 9" if len(nsn) == 10 else "Brazilian mobile with its 9"
    if code == "54":
        return (
            "Argentine mobile with the 9 after +54"
            if nsn.startswith("9")
            else "Argentine mobile without the 9 after +54"
        )
    if code == "52":
        return (
            "Mexican mobile with the old 1 after +52"
            if len(nsn) == 11 and nsn.startswith("1")
            else "Mexican mobile without the old 1 after +52"
        )
    return "another spelling of the same number"
