"""What matching did, and why a link no longer holds, in plain words for the settings page.

``matched_sentence``: "Matched +49 89 6364 8018 on Person Klaus Becker exactly", "… as a country variant
(Brazilian mobile without its 9)", "… by its last 9 digits (stored without a country code)".
``no_match_sentence``: what a chat from an unknown number would create under the company's settings.
``why_no_longer_matched``: why none of a linked Person's phones matches the chat's number under the
rules as they are now (``phone_compare.compare_phone``), with a named reason.
The sentences carry text as typed (names, phones): pages escape them. Each is words to translate
(``Text``): ``str()`` of one is its English, a page shows it in the reader's language.
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
from server.domain.text import Text, ntext

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
    message: Text


def person_label(name: str, person_id: int) -> Text:
    if name.strip():
        return Text("Person %(name)s", name=name)
    return Text("Person #%(id)s", id=person_id)


def matched_sentence(e164: str, match: PhoneMatch, name: str, person_id: int) -> Text:
    """ "Matched <the phone as stored> on Person <name> <how>"."""
    return Text(
        "Matched %(phone)s on %(person)s %(how)s",
        phone=match.phone,
        person=person_label(name, person_id),
        how=how_matched(e164, match),
    )


def candidate_sentence(e164: str, match: PhoneMatch, name: str, person_id: int) -> Text:
    """Another candidate: "Person <name>: <the phone as stored> matches <how>"."""
    return Text(
        "%(person)s: %(phone)s matches %(how)s",
        person=person_label(name, person_id),
        phone=match.phone,
        how=how_matched(e164, match),
    )


def how_matched(e164: str, match: PhoneMatch) -> Text:
    """ "exactly", "as a country variant (…)" or "by its last N digits (…)"."""
    if match.agreement is Agreement.EXACT:
        return Text("exactly")
    if match.agreement is Agreement.VARIANT:
        return Text("as a country variant (%(variant)s)", variant=_variant(e164, match.phone))
    stored = (
        Text("stored with a country code, but not as a valid number")
        if match.has_country_code
        else Text("stored without a country code")
    )
    return Text("by its last %(digits)s digits (%(stored)s)", digits=match.suffix_length, stored=stored)


def phone_match(
    rule: MatchRule, phone: str | None, suffix_length: int | None, had_country_code: bool | None
) -> PhoneMatch | None:
    """How a match result (``MatchResult``, ``PersonMatch``) says its Person matched, for the sentences
    above; ``None`` for a link no phone made (stored, created, manual)."""
    agreement = _AGREEMENTS.get(rule)
    if agreement is None or phone is None:
        return None
    return PhoneMatch(agreement, suffix_length or 0, phone, bool(had_country_code))


def no_match_sentence(e164: str, settings: SyncSettings, *, pipeline: str | None = None) -> Text:
    """What a chat from ``e164`` would create when no Person has the number (``pipeline``: the name of
    the pipeline new Deals go into, when known)."""
    if settings.excludes(e164):
        return Text("No Person matches; a chat from this number would create nothing: the number is excluded")
    if not settings.auto_add_persons:
        return Text("No Person matches; a chat from this number would create nothing: auto-add is off")
    if settings.new_chat_action is NewChatAction.DEAL:
        where: str | Text = pipeline or (
            Text("pipeline #%(id)s", id=settings.pipeline_id)
            if settings.pipeline_id is not None
            else Text("the first pipeline")
        )
        return Text(
            "No Person matches; a chat from this number would create a Person and a Deal in %(pipeline)s",
            pipeline=where,
        )
    if settings.new_chat_action is NewChatAction.LEAD:
        return Text("No Person matches; a chat from this number would create a Person and a Lead")
    return Text("No Person matches; a chat from this number would create a Person")


def kept_sentence(e164: str, name: str, person_id: int) -> Text:
    """What keeping a listed link did."""
    return Text(
        "The link of %(number)s to %(person)s is kept: it is a manual link now, not listed again",
        number=international_form(e164),
        person=person_label(name, person_id),
    )


def relinked_sentence(e164: str, match: PhoneMatch | None, name: str, person_id: int) -> Text:
    """What re-linking a listed chat did, when the current rules found a Person."""
    number, person = international_form(e164), person_label(name, person_id)
    if match is None:
        return Text("The chat with %(number)s is now linked to %(person)s", number=number, person=person)
    return Text(
        "The chat with %(number)s is now linked to %(person)s: matched %(phone)s %(how)s",
        number=number,
        person=person,
        phone=match.phone,
        how=how_matched(e164, match),
    )


def unmatched_relink_sentence(e164: str, settings: SyncSettings) -> Text:
    """What happens to a re-linked chat whose number no Person has."""
    number = international_form(e164)
    if settings.excludes(e164):
        return Text(
            "No Person has %(number)s; the number is excluded, so nothing from the chat is logged",
            number=number,
        )
    if not settings.auto_add_persons:
        return Text("No Person has %(number)s; auto-add is off, so the chat stays unlinked", number=number)
    return Text("No Person has %(number)s; the sync creates a Person for it", number=number)


def why_no_longer_matched(e164: str, stored: Sequence[str], default_region: str | None) -> Mismatch:
    """Why none of ``stored`` (a Person's phones as typed) matches ``e164``; the reason is the one of the
    phone sharing the most trailing digits, the message names every phone."""
    if not stored:
        return Mismatch(
            "person_without_phones",
            Text(
                "The Person has no phone in WaPipe's copy of Pipedrive any more (deleted, or its phones "
                "removed)"
            ),
        )
    forms = [form[1:] for form in equivalent_e164s(international_number(e164))]
    explained: list[tuple[int, Mismatch]] = []
    for phone in stored:
        digits = phone_digits(phone)
        shared = max(common_suffix_length(form, digits) for form in forms)
        explained.append((shared, _one_phone(phone, shared, default_region)))
    closest = max(explained, key=lambda item: item[0])[1]
    message = explained[0][1].message
    for _, mismatch in explained[1:]:  # one sentence per phone, in the order stored
        message = Text("%(before)s. %(then)s", before=message, then=mismatch.message)
    return Mismatch(closest.reason, message)


def international_form(e164: str) -> str:
    """ "+49 89 63648018" for "+498963648018" (the number unchanged when it cannot be read)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _one_phone(phone: str, shared: int, default_region: str | None) -> Mismatch:
    reads_as = to_e164(phone, default_region)
    if reads_as is not None:
        return Mismatch("other_number", _another_number(phone, international_form(reads_as), shared))
    if shared == 0:
        return Mismatch(
            "too_few_digits", Text("%(phone)s shares no trailing digits with the chat's number", phone=phone)
        )
    return Mismatch(
        "too_few_digits",
        ntext(
            "%(phone)s shares only its last %(count)s digit with the chat's number; at least %(least)s must "
            "agree",
            "%(phone)s shares only its last %(count)s digits with the chat's number; at least %(least)s must "
            "agree",
            shared,
            phone=phone,
            least=phone_compare.MIN_SUFFIX_DIGITS,
        ),
    )


def _another_number(phone: str, reads_as: str, shared: int) -> Text:
    """ "<phone> is another number (<as read>)", saying when it was stored with its country code and how
    many of its last digits agree with the chat's number."""
    if is_international(phone):
        if shared:
            return ntext(
                "%(phone)s is another number (%(number)s), stored with its country code; only the last "
                "%(count)s digit agrees",
                "%(phone)s is another number (%(number)s), stored with its country code; only the last "
                "%(count)s digits agree",
                shared,
                phone=phone,
                number=reads_as,
            )
        return Text(
            "%(phone)s is another number (%(number)s), stored with its country code",
            phone=phone,
            number=reads_as,
        )
    if shared:
        return ntext(
            "%(phone)s is another number (%(number)s); only the last %(count)s digit agrees",
            "%(phone)s is another number (%(number)s); only the last %(count)s digits agree",
            shared,
            phone=phone,
            number=reads_as,
        )
    return Text("%(phone)s is another number (%(number)s)", phone=phone, number=reads_as)


def _variant(e164: str, stored: str) -> Text:
    """Which spelling made the stored phone a country variant of the chat's number."""
    given = "+" + phone_digits(e164)
    number = international_number(e164)
    code, _ = calling_code_and_nsn(number)
    digits = phone_digits(stored)
    if code == "54" and not is_international(stored) and "15" in digits:
        return Text("Argentine mobile written the national way, with 15")
    spelled = [form for form in equivalent_e164s(number) if digits.endswith(calling_code_and_nsn(form)[1])]
    stored_form = max(spelled, key=lambda form: len(form), default=number)
    if stored_form != number:
        return _spelling(stored_form)
    if given != number:
        return Text("WhatsApp has the %(spelling)s", spelling=_spelling(given))
    return Text("the same number written another way")


def _spelling(e164: str) -> Text:
    code, nsn = calling_code_and_nsn(e164)
    if code == "55":
        if len(nsn) == 10:
            return Text("Brazilian mobile without its 9")
        return Text("Brazilian mobile with its 9")
    if code == "54":
        if nsn.startswith("9"):
            return Text("Argentine mobile with the 9 after +54")
        return Text("Argentine mobile without the 9 after +54")
    if code == "52":
        if len(nsn) == 11 and nsn.startswith("1"):
            return Text("Mexican mobile with the old 1 after +52")
        return Text("Mexican mobile without the old 1 after +52")
    return Text("another spelling of the same number")
