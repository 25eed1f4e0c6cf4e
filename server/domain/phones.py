"""Phone numbers as people type them, as E.164, and the country variants that name one line twice.

Pipedrive stores a phone exactly as typed ("+49 (0) 89 6364 8018", "0049896364-8018", "(089) 63648018",
"Mobile: 089/63648018 ext. 12"), while WhatsApp always gives the full international number. This module
turns any of those into the number's digits (``phone_digits``) and, given the region to read national
numbers in, into E.164 (``to_e164``). ``equivalent_e164s`` lists the spellings under which the same line
is known in countries whose numbering changed: Brazil's added mobile 9, Argentina's mobile 9 after +54,
Mexico's retired mobile 1 after +52. ``read_stored`` says what a stored phone is: a whole number (it
carries a country code, or reads as a valid number in the company's country) or only digits.
``compare_phone`` says whether, and how well, a stored phone is the chat's number: a whole number only
as that number (exact or a variant), never by its last digits; the suffix rule (digits dropped from the
left until 8 remain) only for stored phones that are no whole number, and for one written with a country
code only against numbers of that country. So shared last digits never link across a border.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

import phonenumbers

from server.domain.errors import InvalidInput

MIN_SUFFIX_DIGITS = 8
"""The fewest trailing digits two numbers must share to be the same number by the suffix rule: digits
are dropped from the left until 7 would remain, and 7 are too few."""

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
    are kept; national ones must be valid. The most likely of ``readings``.
    """
    found = readings(raw, default_region)
    return found[0] if found else None


def readings(raw: str, default_region: str | None = None) -> tuple[str, ...]:
    """Every valid number a written phone may be, the most likely first (``to_e164``'s answer).

    Digits written without "+" may read validly both as a national number of ``default_region`` and as
    an international one: "13123456789" in China is a Chinese mobile or +1 312 345 6789; "15123456789" in
    Germany is +49 151 23456789 or +1 512 345 6789; "0091 81234 56789" in Korea dials +1 via 009 or India
    via 00. When no reading is valid, a possible international one alone (as ``to_e164`` keeps it).
    """
    return tuple(reading.e164 for reading in _read(raw, default_region))


@dataclass(frozen=True, slots=True)
class _Reading:
    e164: str
    valid: bool
    with_code: bool  # the number's country code is among the digits written


def _read(raw: str, default_region: str | None) -> tuple[_Reading, ...]:
    text = clean_phone_text(raw)
    digits = _NON_DIGITS.sub("", text)
    if len(digits) < 3:
        return ()
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
    found: dict[str, _Reading] = {}
    possible: _Reading | None = None
    for candidate, region, keep_possible in attempts:
        number = _parse(candidate, region)
        if number is None:
            continue
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if not phonenumbers.is_valid_number(number):
            fixed = _modernised(e164)  # a legacy Brazilian or Mexican mobile reads as today's number
            if fixed is None:
                if possible is None and keep_possible and phonenumbers.is_possible_number(number):
                    possible = _Reading(e164, False, True)
                continue
            e164 = fixed
        code, nsn = calling_code_and_nsn(e164)
        found.setdefault(e164, _Reading(e164, True, region is None or _code_before(digits, code, nsn)))
    if found:
        return tuple(found.values())
    return (possible,) if possible is not None else ()


def _code_before(digits: str, code: str, nsn: str) -> bool:
    """Whether the written digits are the national number after its country code ("011 49 89…" in the US)."""
    return digits.endswith(nsn) and digits[: -len(nsn)].endswith(code)


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
    number; when fewer than ``MIN_SUFFIX_DIGITS`` (8) would remain there is no match (0). So
    "498963648018" matches "00498963648018" (12), "08963648018" and "8963648018" (10), "63648018" (8),
    and a stored number sharing only its last 7 digits does not match.
    """
    length = min(common_suffix_length(number_digits, stored_digits), len(number_digits))
    return length if length >= MIN_SUFFIX_DIGITS else 0


@dataclass(frozen=True, slots=True)
class StoredPhone:
    """What a stored phone is, read in the company's country (``read_stored``).

    ``numbers``: the numbers it reads as (``readings``), the most likely first; ``numbers_with_code``:
    those of them whose country code is written. ``whole``: one of them is a valid number, so the phone
    is compared as those numbers only. ``has_country_code``: written with one ("+44…", "0044…", "011 44…"
    read in the US, or the digits of an international number without "+": "4915112345678").
    ``country_code``: that calling code ("" when none is written, or when it names no country).
    ``national``: the digits after it (all the digits when none is written): what the suffix rule compares.
    """

    phone: str
    digits: str
    numbers: tuple[str, ...]
    numbers_with_code: frozenset[str]
    whole: bool
    has_country_code: bool
    country_code: str
    national: str

    @property
    def e164(self) -> str | None:
        return self.numbers[0] if self.numbers else None


def read_stored(stored: str, default_region: str | None = None) -> StoredPhone:
    """Read a stored phone as typed, national numbers in ``default_region`` (the company's country).

    A phone written without a country code that reads as a valid number in the company's country is that
    country's number: "0151 1234 5678" in a German company is +49 151 12345678 and nothing else.
    """
    digits = phone_digits(stored)
    found = _read(stored, default_region)
    numbers = tuple(reading.e164 for reading in found)
    whole = any(reading.valid for reading in found)
    if is_international(stored):
        written = digits[2:] if digits.startswith("00") else digits
        code, national = calling_code_and_nsn("+" + written)
        return StoredPhone(
            stored, digits, numbers, frozenset(numbers), whole, True, code, national if code else written
        )
    with_code = frozenset(reading.e164 for reading in found if reading.with_code)
    if numbers and numbers[0] in with_code:
        code, national = calling_code_and_nsn(numbers[0])
        return StoredPhone(stored, digits, numbers, with_code, whole, True, code, national)
    return StoredPhone(stored, digits, numbers, with_code, whole, False, "", digits)


class Agreement(IntEnum):
    """How well a stored phone agrees with a chat's number; higher is better.

    EXACT: the same E.164 number, written with all its national digits and nothing else but a country
    code, international prefix or trunk prefix. VARIANT: the same line in another spelling
    (``equivalent_e164s``, the Argentine "15" form, a Brazilian number without its 9). SUFFIX: only the
    suffix rule (``suffix_match_length``) holds, for a stored phone that is no whole number.
    """

    SUFFIX = 1
    VARIANT = 2
    EXACT = 3


@dataclass(frozen=True, slots=True)
class PhoneMatch:
    """A stored phone (as typed) that agrees with a chat's number, how, over how many trailing digits,
    and whether it was stored with a country code.

    ``suffix_length``: for SUFFIX the trailing digits that agree (at least ``MIN_SUFFIX_DIGITS``); for
    EXACT and VARIANT the digits written of the number (its national digits, or more with the country code).
    """

    agreement: Agreement
    suffix_length: int
    phone: str
    has_country_code: bool = False


def international_number(e164: str) -> str:
    """The chat's number as E.164 (legacy spellings modernised); ``InvalidInput`` if it is none."""
    number = to_e164(e164) if e164.startswith("+") else None
    if number is None:
        raise InvalidInput(f"{e164[:40]!r} is not an international phone number", reason="invalid_phone")
    return number


def compare_phone(e164: str, stored: str, default_region: str | None = None) -> PhoneMatch | None:
    """How the stored phone ``stored`` agrees with the chat's number ``e164``; ``None`` when it does not.

    ``default_region`` reads stored national numbers (the company's country). The rules, in order:

    - the stored phone reads as the chat's number or one of its variants: EXACT or VARIANT;
    - it reads as a valid number (``StoredPhone.whole``) that is another one: no match, however many
      digits they share ("+43 89 63648018" is not +49 89 63648018; "0151 1234 5678" in a German company is
      not +52 55 1234 5678);
    - otherwise the suffix rule, over the whole chat's number for a phone stored without a country code,
      over the national digits for one stored with its country code, and then only when that code is the
      chat's ("+33 12 34 56 78" may be +33 6 12 34 56 78, never +49 30 12345678).
    """
    number = international_number(e164)
    forms = equivalent_e164s(number)
    reading = read_stored(stored, default_region)
    same = next((candidate for candidate in reading.numbers if candidate in forms), None)
    if same is not None:
        # "Exact" is judged against the number as given: a legacy spelling on either side is a variant.
        code, nsn = calling_code_and_nsn("+" + _NON_DIGITS.sub("", e164))
        suffix = max(suffix_match_length(form[1:], reading.digits) for form in forms)
        exact = same == number and _written_as_is(reading.digits, code, nsn, default_region)
        agreement = Agreement.EXACT if exact else Agreement.VARIANT
        with_code = same in reading.numbers_with_code
        return PhoneMatch(agreement, max(suffix, len(nsn)), stored, with_code)
    if reading.whole:
        return None
    if reading.has_country_code:
        tails = [nsn for code, nsn in map(calling_code_and_nsn, forms) if code == reading.country_code]
        suffix = max((suffix_match_length(tail, reading.national) for tail in tails), default=0)
    else:
        suffix = max(suffix_match_length(form[1:], reading.digits) for form in forms)
    return PhoneMatch(Agreement.SUFFIX, suffix, stored, reading.has_country_code) if suffix else None


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


def _written_as_is(digits: str, code: str, nsn: str, default_region: str | None) -> bool:
    """Whether the stored digits are the national number preceded by nothing, a trunk prefix, or an
    international prefix and the country code (and a trunk 0): "0049 0 89…", "089…", "8 912…" (Russia)."""
    if not digits.endswith(nsn):
        return False
    prefix = digits[: -len(nsn)]
    trunks = {"", "0", *_national_prefixes(region_of("+" + code + nsn))}
    leads = {*_IDD, *_international_prefixes(default_region)}
    return prefix in trunks or any(prefix == lead + code + trunk for lead in leads for trunk in ("", "0"))


def _national_prefixes(region: str | None) -> tuple[str, ...]:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region) if region else None
    prefix = metadata.national_prefix if metadata is not None else None
    return (prefix,) if prefix else ()


def _international_prefixes(region: str | None) -> tuple[str, ...]:
    """The region's international prefix when it is one plain string of digits ("0011", "810", "010")."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region.upper()) if region else None
    if metadata is None:
        return ()
    written = (metadata.preferred_international_prefix or "").replace("~", "")
    plain = metadata.international_prefix or ""
    return tuple(prefix for prefix in (written, plain) if prefix.isdigit())


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
