"""Phone numbers as people type them, as E.164, and the country variants that name one line twice.

Pipedrive stores a phone exactly as typed ("+49 (0) 89 6364 8018", "0049896364-8018", "(089) 63648018",
"Mobile: 089/63648018 ext. 12"), while WhatsApp always gives the full international number. This module
turns any of those into the number's digits (``phone_digits``) and, given the region to read national
numbers in, into E.164 (``to_e164``). ``equivalent_e164s`` lists the spellings under which the same line
is known in countries whose numbering changed: Brazil's added mobile 9, Argentina's mobile 9 after +54,
Mexico's retired mobile 1 after +52. ``read_stored`` says what a stored phone is: a whole number (it
carries a country code, or reads as a valid number in the company's country) or only digits.
Whether a stored phone is a chat's number is ``server.domain.phone_compare``'s question.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers

# Characters that may appear inside a written phone number. Anything else (a letter, "#", ";", ",")
# ends the number: what follows is an extension, a comment or a second field.
_PHONE_CHARS = frozenset("0123456789+()-./ \u00a0\u2007\u202f\u2010\u2011\u2012\u2013\u2014\u2015\u2212")
_TRUNK_ZERO = re.compile(r"\(\s*0\s*\)")
_NON_DIGITS = re.compile(r"[^0-9]")
_E164 = re.compile(r"\+[1-9][0-9]{5,15}")


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
