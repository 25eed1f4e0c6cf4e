"""Whether, and how well, a stored phone is a chat's number (``compare_phone``).

A stored phone (as typed in Pipedrive, read by ``server.domain.phone_numbers.read_stored``) that is a whole
number matches only as that number (exact or a country variant), never by its last digits; the suffix rule
(digits dropped from the left until 8 remain) holds only for stored phones that are no whole number, and for
one written with a country code only against numbers of that country. So shared last digits never link
across a border.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

import phonenumbers

from server.domain.errors import InvalidInput
from server.domain.phone_numbers import (
    calling_code_and_nsn,
    equivalent_e164s,
    read_stored,
    region_of,
    to_e164,
)

MIN_SUFFIX_DIGITS = 8
"""The fewest trailing digits two numbers must share to be the same number by the suffix rule: digits
are dropped from the left until 7 would remain, and 7 are too few."""

_NON_DIGITS = re.compile(r"[^0-9]")
_IDD = ("", "00", "011")  # what may precede a country code in the digits of a written number


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
