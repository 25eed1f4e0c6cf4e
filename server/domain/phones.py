"""Phone numbers as people type them, as E.164, and the country variants that name one line twice.

Pipedrive stores a phone exactly as typed ("+49 (0) 89 6364 8018", "0049896364-8018", "(089) 63648018",
"Mobile: 089/63648018 ext. 12"), while WhatsApp always gives the full international number. This module
turns any of those into the number's digits (``phone_digits``) and, given the region to read national
numbers in, into E.164 (``to_e164``). ``equivalent_e164s`` lists the spellings under which the same line
is known in countries whose numbering changed: Brazil's added mobile 9, Argentina's mobile 9 after +54,
Mexico's retired mobile 1 after +52. ``compare_phone`` says whether, and how well, a stored phone is
the chat's number, down to the suffix rule: digits dropped from the left until 7 remain.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

import phonenumbers

from server.domain.errors import InvalidInput

MIN_SUFFIX_DIGITS = 7
"""The fewest trailing digits two numbers must share to be the same number by the suffix rule."""

# Characters that may appear inside a written phone number. Anything else (a letter, "#", ";", ",")
# ends the number: what follows is an extension, a comment or a second field.
_PHONE_CHARS = frozenset("0123456789+()-./ \u00a0\u2007\u202f\u2010\u2011\u2012\u2013\u2014\u2015\u2212")
_TRUNK_ZERO = re.compile(r"\(\s*0\s*\)")
_NON_DIGITS = re.compile(r"[^0-9]")
_E164 = re.compile(r"\+[1-9][0-9]{5,15}")
_IDD = ("", "00", "011")  # what may precede a country code in the digits of a written number


def ascii_digits(text: str) -> str:
    """``text`` with every Unicode decimal digit (Arabic-Indic, full-width…) replaced by its ASCII digit."""
    if text.isascii():
        return text
    return "".join(
        ch if unicodedata.decimal(ch, None) is None else str(unicodedata.decimal(ch)) for ch in text
    )


def clean_phone_text(raw: str) -> str:
    """The written number alone: labels before it, extensions and comments after it, and "(0)" removed.

    "Mobile: +49 (0) 89 6364-8018 ext. 12" → "+49 89 6364-8018", "(+49) 89 6364 8018" → "+49 89 6364 8018".
    Returns "" when there is no number.
    A leading "+" is kept (it says the country code follows). Two numbers written in one field with a
    separator we accept inside numbers ("/") are not told apart.
    """
    text = ascii_digits(raw)
    start = next((i for i, ch in enumerate(text) if ch.isdigit() or ch in "+("), None)
    if start is None:
        return ""
    end = start
    while end < len(text) and text[end] in _PHONE_CHARS:
        end += 1
    number = _TRUNK_ZERO.sub(" ", text[start:end])
    first_digit = next((i for i, ch in enumerate(number) if ch.isdigit()), None)
    if first_digit is None:
        return ""
    another = number.find("+", first_digit)  # a "+" after the digits begin starts a second number
    if another != -1:
        number = number[:another]
    written_before = number[:first_digit]
    if "+" in written_before:  # "(+49) 89…", "++49 89…", "+ 49 89…": the country code is written
        rest = number[first_digit:]
        number = "+" + (rest.replace(")", " ", 1) if "(" in written_before else rest)
    return " ".join(number.split()).lstrip(" -./)").rstrip(" -./(")


def phone_digits(raw: str) -> str:
    """Only the digits of the written number, no "+" or extension: "+49 (0)89 6364-8018" → "498963648018"."""
    return _NON_DIGITS.sub("", clean_phone_text(raw))


def is_international(raw: str) -> bool:
    """True when the number is written with its country code ("+49…" or "0049…")."""
    text = clean_phone_text(raw)
    return text.startswith("+") or _NON_DIGITS.sub("", text.lstrip("(")).startswith("00")


def to_e164(raw: str, default_region: str | None = None) -> str | None:
    """The E.164 form ("+498963648018") of a number written any way, or ``None`` when it is no number.

    ``default_region`` (ISO code such as "DE") reads national numbers ("(089) 63648018"); take the
    company's country, or the country of the WhatsApp number the chat belongs to (``region_of``).
    International input ignores it. Spellings libphonenumber rejects but people and WhatsApp still use
    (Brazilian mobiles without the 9, Mexican mobiles with the old 1) are mapped to today's number.
    Internationally written numbers that are possible but not (yet) valid in libphonenumber's metadata
    are kept; national ones must be valid.
    """
    text = clean_phone_text(raw)
    digits = _NON_DIGITS.sub("", text)
    if len(digits) < 3:
        return None
    # (text to parse, region, whether a merely possible number may be kept)
    attempts: list[tuple[str, str | None, bool]] = []
    if text.startswith("+"):
        attempts.append(("+" + digits, None, True))
    elif digits.startswith("00"):
        if default_region:
            attempts.append((text, default_region.upper(), False))
        attempts.append(("+" + digits[2:], None, True))
    else:
        # Eleven or more digits without a trunk 0 are more likely an international number stored without
        # its "+" (as integrations write them) than a national one.
        international_first = len(digits) >= 11 and not digits.startswith("0")
        if international_first:
            attempts.append(("+" + digits, None, False))
        if default_region:
            attempts.append((text, default_region.upper(), False))
        if not international_first:
            attempts.append(("+" + digits, None, False))
    possible: str | None = None
    for candidate, region, keep_possible in attempts:
        number = _parse(candidate, region)
        if number is None:
            continue
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if phonenumbers.is_valid_number(number):
            return e164
        fixed = _modernised(e164)
        if fixed is not None:
            return fixed
        if possible is None and keep_possible and phonenumbers.is_possible_number(number):
            possible = e164
    return possible


def region_of(e164: str) -> str | None:
    """The ISO region of an international number ("+4915112345678" → "DE"); ``None`` if unknown.

    Calling codes shared by several regions (+1, +44, +7) give libphonenumber's pick for that number.
    """
    number = _parse(e164 if e164.startswith("+") else "+" + e164, None)
    if number is None:
        return None
    region = phonenumbers.region_code_for_number(number)
    return region if region and region != "ZZ" else None


def calling_code_and_nsn(e164: str) -> tuple[str, str]:
    """Split "+5511987654321" into ("55", "11987654321"): country calling code, national significant number.

    Numbers libphonenumber cannot read keep all their digits as the national part (calling code "").
    """
    digits = _NON_DIGITS.sub("", e164)
    number = _parse("+" + digits, None)
    if number is None or not number.country_code:
        return "", digits
    code = str(number.country_code)
    return code, digits[len(code) :]


def equivalent_e164s(e164: str) -> frozenset[str]:
    """Every E.164 spelling of the same line, ``e164`` included.

    - Brazil (+55): mobiles gained a leading 9 (2012–2016); a contact saved before that, or a WhatsApp
      account registered before it, lacks it. +55 DD 9XXXX-XXXX ⇔ +55 DD XXXX-XXXX when the subscriber
      number is a mobile one (starting 6–9); landlines (2–5) have no variant.
    - Argentina (+54): mobiles are dialled from abroad as +54 9 AREA NUMBER; many stores (and some
      WhatsApp ids) drop the 9. The national "15" mobile prefix (0AREA 15 NUMBER) is a way of writing,
      not a different E.164 number; ``to_e164`` reads it.
    - Mexico (+52): mobiles carried a 1 after +52 until 2019; old contacts and ids still do.
    """
    if not _E164.fullmatch(e164):
        return frozenset({e164})
    forms = {e164}
    code, nsn = calling_code_and_nsn(e164)
    if code == "55":
        if len(nsn) == 11 and nsn[2] == "9" and nsn[3] in "6789":
            forms.add(f"+55{nsn[:2]}{nsn[3:]}")
        elif len(nsn) == 10 and nsn[2] in "6789":
            forms.add(f"+55{nsn[:2]}9{nsn[2:]}")
    elif code == "54":
        if len(nsn) == 11 and nsn.startswith("9"):
            forms.add(f"+54{nsn[1:]}")
        elif len(nsn) == 10 and not nsn.startswith(("0", "9")):
            forms.add(f"+549{nsn}")
    elif code == "52":
        if len(nsn) == 11 and nsn.startswith("1"):
            forms.add(f"+52{nsn[1:]}")
        elif len(nsn) == 10:
            forms.add(f"+521{nsn}")
    return frozenset(forms)


def common_suffix_length(left: str, right: str) -> int:
    """How many trailing characters two digit strings share ("498963648018", "08963648018" → 10)."""
    count = 0
    for a, b in zip(reversed(left), reversed(right), strict=False):
        if a != b:
            break
        count += 1
    return count


def suffix_match_length(number_digits: str, stored_digits: str) -> int:
    """The suffix rule: how many of ``number_digits`` match the end of ``stored_digits``, or 0.

    Digits are dropped from the left of the number one at a time until what remains ends the stored
    number; when fewer than ``MIN_SUFFIX_DIGITS`` would remain there is no match (0). So
    "498963648018" matches "00498963648018" (12), "08963648018" and "8963648018" (10), and a stored
    number sharing only its last 6 digits does not match.
    """
    length = min(common_suffix_length(number_digits, stored_digits), len(number_digits))
    return length if length >= MIN_SUFFIX_DIGITS else 0


class Agreement(IntEnum):
    """How well a stored phone agrees with a chat's number; higher is better.

    EXACT: the same E.164 number, written with all its national digits and nothing else but a country
    code, international prefix or trunk 0. VARIANT: the same line in another spelling
    (``equivalent_e164s``, the Argentine "15" form, a Brazilian number without its 9). SUFFIX: only the
    suffix rule (``suffix_match_length``) holds.
    """

    SUFFIX = 1
    VARIANT = 2
    EXACT = 3


@dataclass(frozen=True, slots=True)
class PhoneMatch:
    """A stored phone (as typed) that agrees with a chat's number, how, and over how many trailing digits."""

    agreement: Agreement
    suffix_length: int
    phone: str


def international_number(e164: str) -> str:
    """The chat's number as E.164 (legacy spellings modernised); ``InvalidInput`` if it is none."""
    number = to_e164(e164) if e164.startswith("+") else None
    if number is None:
        raise InvalidInput(f"{e164[:40]!r} is not an international phone number", reason="invalid_phone")
    return number


def compare_phone(e164: str, stored: str, default_region: str | None = None) -> PhoneMatch | None:
    """How the stored phone ``stored`` agrees with the chat's number ``e164``; ``None`` when it does not.

    ``default_region`` reads stored national numbers (the company's country). A stored phone written with
    a country code that reads as a different number (not a variant) never agrees by suffix:
    "+43 89 63648018" is not +498963648018, though they share 10 digits. Stored national numbers are
    ambiguous about their country, so for them the suffix rule alone decides.
    """
    number = international_number(e164)
    forms = equivalent_e164s(number)
    stored_digits = phone_digits(stored)
    if len(stored_digits) < MIN_SUFFIX_DIGITS:
        return None
    suffix = max(suffix_match_length(form[1:], stored_digits) for form in forms)
    stored_e164 = to_e164(stored, default_region)
    if stored_e164 is not None and stored_e164 in forms:
        # "Exact" is judged against the number as given: a legacy spelling on either side is a variant.
        code, nsn = calling_code_and_nsn("+" + _NON_DIGITS.sub("", e164))
        prefix = stored_digits[: -len(nsn)] if stored_digits.endswith(nsn) else None
        written_as_is = prefix is not None and (
            prefix in ("", "0") or any(prefix == lead + code + trunk for lead in _IDD for trunk in ("", "0"))
        )
        agreement = Agreement.EXACT if stored_e164 == number and written_as_is else Agreement.VARIANT
        return PhoneMatch(agreement, max(suffix, len(nsn)), stored)
    if stored_e164 is not None and is_international(stored):
        return None
    return PhoneMatch(Agreement.SUFFIX, suffix, stored) if suffix else None


def best_phone_match(
    e164: str, phones: Iterable[str], default_region: str | None = None
) -> PhoneMatch | None:
    """The best agreeing phone of one Person (ties: the first listed)."""
    best: PhoneMatch | None = None
    for phone in phones:
        match = compare_phone(e164, phone, default_region)
        if match is not None and (best is None or _strength(match) > _strength(best)):
            best = match
    return best


def _strength(match: PhoneMatch) -> tuple[int, int]:
    return int(match.agreement), match.suffix_length


def _modernised(e164: str) -> str | None:
    """Today's valid number for a legacy Brazilian (no 9) or Mexican (extra 1) mobile spelling."""
    code, _ = calling_code_and_nsn(e164)
    if code not in ("55", "52"):
        return None
    for form in sorted(equivalent_e164s(e164) - {e164}):
        number = _parse(form, None)
        if number is not None and phonenumbers.is_valid_number(number):
            return form
    return None


def _parse(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
