"""Write the labelled matching corpus: bench/data/matching_corpus.json.

Each case is a chat's number, the company's country (the country national numbers are read in), the
company's Persons with their phones as typed and their update times, and the Person the chat belongs to
(or none). Labels come from how the case is built, never from WaPipe's matcher:

- **written**: libphonenumber's example numbers (mobile and fixed line) of many countries, stored on the
  chat's own Person the ways people type them: international, E.164, 00, without "+", national with and
  without the trunk prefix, dashes, dots, parentheses, "(0)" after the country code, extensions, labels,
  Arabic-Indic, Persian and full-width digits (each number takes every other spelling, the country's
  other example the rest). The company's country is the number's own for national spellings and another
  one for international spellings. Other Persons with other numbers sit beside it: one of another
  country, and, for national spellings, the country's other example stored the national way.
- **variant**: Brazil's mobile 9, Argentina's 9 after +54 and its national "15" form, Mexico's 1 after +52,
  on either side.
- **fuzzy**: a national number stored with its first digits missing, at least 8 digits left, that is no
  valid number where the company is nor an international one: the chat's Person.
- **trap** (no Person, or only the right one): the same national number in two countries, a national
  number of the company's country sharing its last 8 digits with a chat from another country (as
  "0151 1234 5678" and +52 55 1234 5678 do), 7-digit local numbers, numbers sharing a long suffix across
  a border, and several Persons with one number (the most recently updated is the one chosen).

Usage: .venv/bin/python scripts/gen_matching_corpus.py [OUTPUT]   (default: bench/data/matching_corpus.json)
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "bench" / "data" / "matching_corpus.json"
# Countries from every continent, with different numbering habits: trunk prefixes 0, 8, 06 and 1 or
# none, 7- to 11-digit national numbers, shared calling codes (+1, +7, +44).
REGIONS = (
    "DE", "AT", "CH", "FR", "BE", "NL", "LU", "GB", "IE", "ES", "PT", "IT", "GR", "PL", "CZ", "SK", "HU",
    "RO", "BG", "HR", "SI", "RS", "DK", "SE", "NO", "FI", "IS", "EE", "LV", "LT", "RU", "UA", "TR", "IL",
    "AE", "SA", "EG", "MA", "NG", "KE", "ZA", "IN", "PK", "BD", "CN", "HK", "TW", "JP", "KR", "SG", "MY",
    "TH", "VN", "ID", "PH", "AU", "NZ", "US", "CA", "MX", "BR", "AR", "CL", "CO", "PE", "IR",
)  # fmt: skip
TYPES = {"mobile": PhoneNumberType.MOBILE, "fixed": PhoneNumberType.FIXED_LINE}
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
# Brazil, Argentina and Mexico: a national number missing its first digits may read as another line's
# legacy spelling (a Brazilian mobile without its 9), so none of theirs is in the fuzzy group.
LEGACY_SPELLINGS = ("BR", "AR", "MX")
SCRIPTS = {"arabic_indic": 0x0660, "persian": 0x06F0, "fullwidth": 0xFF10}


@dataclass
class Case:
    id: str
    group: str
    chat: str
    company_country: str
    persons: list[dict[str, Any]] = field(default_factory=list)
    expected: int | None = None

    def person(self, *phones: str, hours: int = 0) -> int:
        person_id = len(self.persons) + 1
        updated = (T0 + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")
        self.persons.append({"id": person_id, "phones": list(phones), "updated": updated})
        return person_id

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "group": self.group,
            "chat": self.chat,
            "company_country": self.company_country,
            "persons": self.persons,
            "expected": self.expected,
        }


def parse(text: str, region: str | None = None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def valid(text: str, region: str | None = None) -> bool:
    number = parse(text, region)
    return number is not None and phonenumbers.is_valid_number(number)


def e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def digits_only(text: str) -> str:
    return re.sub(r"\D", "", text)


def in_script(text: str, zero: int) -> str:
    return "".join(chr(zero + int(ch)) if ch.isdigit() else ch for ch in text)


def examples() -> list[tuple[str, str, phonenumbers.PhoneNumber]]:
    found = []
    for region in REGIONS:
        for kind, number_type in TYPES.items():
            number = phonenumbers.example_number_for_type(region, number_type)
            if number is not None and phonenumbers.is_valid_number(number):
                found.append((region, kind, number))
    return found


def twins(one: phonenumbers.PhoneNumber, other: phonenumbers.PhoneNumber) -> bool:
    """Whether one national number ends the other: Argentina's example landline +54 11 2345-6789 is its
    example mobile +54 9 11 2345-6789 without the 9, one line under the country-variant rule."""
    left, right = (phonenumbers.national_significant_number(n) for n in (one, other))
    return left.endswith(right) or right.endswith(left)


def other_country(region: str) -> str:
    """A company elsewhere, for numbers stored with their country code."""
    return REGIONS[(REGIONS.index(region) + 7) % len(REGIONS)]


def written_forms(region: str, number: phonenumbers.PhoneNumber) -> list[tuple[str, str, str]]:
    """(name, the phone as typed, the company's country) for one number."""
    intl = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    nsn = phonenumbers.national_significant_number(number)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    trunk = (metadata.national_prefix if metadata is not None else None) or ""
    abroad = other_country(region)
    forms = [
        ("international", intl, abroad),
        ("e164", e164(number), region),
        ("idd_00", "00" + intl[1:], abroad),
        ("missing_plus", e164(number)[1:], abroad),
        ("national", national, region),
        ("national_digits", digits_only(national), region),
        ("dashes", "-".join(re.findall(r"\d+", national)), region),
        ("dots", ".".join(re.findall(r"\d+", national)), region),
        ("extension", intl + " ext. 12", abroad),
        ("label", f"mobile: {national}", region),
        ("label_international", f"Tel.: {intl}", abroad),
        ("arabic_indic", in_script(intl, SCRIPTS["arabic_indic"]), abroad),
        ("persian", in_script(intl, SCRIPTS["persian"]), abroad),
        ("fullwidth", in_script(national, SCRIPTS["fullwidth"]), region),
    ]
    groups = re.findall(r"\d+", national)
    if len(groups) > 1:
        forms.append(("parentheses", f"({groups[0]}) {''.join(groups[1:])}", region))
    if trunk and digits_only(national) == trunk + nsn:
        forms.append(("without_trunk", nsn, region))
        if trunk == "0":
            forms.append(("trunk_in_brackets", f"+{number.country_code} (0) {national[1:].lstrip()}", abroad))
    return forms


def written_cases() -> list[Case]:
    cases = []
    numbers = examples()
    for index, (region, kind, number) in enumerate(numbers):
        chat = e164(number)
        sibling = next((n for r, k, n in numbers if r == region and k != kind and not twins(n, number)), None)
        foreign = numbers[(index + 11) % len(numbers)][2]
        for position, (name, stored, company) in enumerate(written_forms(region, number)):
            if position % 2 != list(TYPES).index(kind):
                continue  # the mobile takes every other spelling and the landline the rest
            case = Case(f"{region}-{kind}-{name}", "written", chat, company)
            if sibling is not None and e164(sibling) != chat and company == region:
                case.person(phonenumbers.format_number(sibling, PhoneNumberFormat.NATIONAL), hours=2)
            if e164(foreign) != chat:
                case.person(phonenumbers.format_number(foreign, PhoneNumberFormat.INTERNATIONAL), hours=3)
            # The chat's Person comes first, last or between the others, and is not always the newest.
            case.expected = case.person(stored, hours=position % 4)
            cases.append(case)
    return cases


def variant_cases() -> list[Case]:
    cases = []
    # Brazil: mobiles gained a 9 after the area code.
    for area, subscriber in (("11", "61234567"), ("21", "87654321"), ("31", "99887766"), ("85", "71234567")):
        with_nine, without = f"+55{area}9{subscriber}", f"+55{area}{subscriber}"
        for chat, stored, company, name in (
            (with_nine, f"+55 {area} {subscriber[:4]}-{subscriber[4:]}", "DE", "stored_without_9"),
            (without, f"+55 {area} 9{subscriber[:4]}-{subscriber[4:]}", "US", "chat_without_9"),
            (with_nine, f"({area}) {subscriber[:4]}-{subscriber[4:]}", "BR", "national_without_9"),
            (without, f"({area}) 9{subscriber[:4]}-{subscriber[4:]}", "BR", "national_chat_without_9"),
        ):
            case = Case(f"BR-{area}-{name}", "variant", chat, company)
            case.person("+55 11 3456-7890", hours=1)
            case.expected = case.person(stored)
            cases.append(case)
    # Argentina: mobiles are +54 9 AREA NUMBER; stores drop the 9, or write the national "15" form.
    for area, local in (("11", "23456789"), ("351", "2345678"), ("261", "4567890")):
        with_nine, without = f"+549{area}{local}", f"+54{area}{local}"
        for chat, stored, company, name in (
            (with_nine, f"+54 {area} {local}", "ES", "stored_without_9"),
            (without, f"+54 9 {area} {local}", "ES", "chat_without_9"),
            (with_nine, f"0{area} 15 {local}", "AR", "national_15"),
            (without, f"0{area} 15-{local[:-4]}-{local[-4:]}", "AR", "national_15_chat_without_9"),
        ):
            case = Case(f"AR-{area}-{name}", "variant", chat, company)
            case.person("+54 11 4321-0000", hours=1)
            case.expected = case.person(stored)
            cases.append(case)
    # Mexico: mobiles carried a 1 after +52 until 2019.
    for area, local in (("55", "12345678"), ("33", "87654321"), ("81", "11223344")):
        modern, legacy = f"+52{area}{local}", f"+521{area}{local}"
        for chat, stored, company, name in (
            (modern, f"+52 1 {area} {local[:4]} {local[4:]}", "US", "stored_with_1"),
            (legacy, f"+52 {area} {local[:4]} {local[4:]}", "US", "chat_with_1"),
            (legacy, f"{area} {local[:4]} {local[4:]}", "MX", "national_chat_with_1"),
        ):
            case = Case(f"MX-{area}-{name}", "variant", chat, company)
            case.person("+52 55 5000 0000", hours=1)
            case.expected = case.person(stored)
            cases.append(case)
    return cases


def fuzzy_cases() -> list[Case]:
    """National numbers missing their first digits: at least 8 digits left, and no valid number left."""
    cases = []
    for region, kind, number in examples():
        if region in LEGACY_SPELLINGS:
            continue
        nsn = phonenumbers.national_significant_number(number)
        for drop in (1, 2):
            local = nsn[drop:]
            # A leading 0 would read as a trunk or international prefix.
            if len(local) < 8 or local.startswith("0") or valid(local, region) or valid("+" + local):
                continue
            case = Case(f"{region}-{kind}-missing_{drop}_digits", "fuzzy", e164(number), region)
            case.person(other_number_ending_differently(number), hours=1)
            case.expected = case.person(f"{local[:4]} {local[4:]}")
            cases.append(case)
            break
    return cases


def other_number_ending_differently(number: phonenumbers.PhoneNumber) -> str:
    """Another number of the same country, as an international number, differing in its last 8 digits."""
    nsn = phonenumbers.national_significant_number(number)
    changed = nsn[:-8] + "".join(str((int(d) + 3) % 10) for d in nsn[-8:])
    return f"+{number.country_code} {changed}"


def trap_cases() -> list[Case]:
    cases: list[Case] = []
    numbers = examples()
    by_code = {region: phonenumbers.country_code_for_region(region) for region in REGIONS}
    for region, kind, number in numbers:
        nsn = phonenumbers.national_significant_number(number)
        national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
        # The same national number in two countries: stored the national way in its own country.
        twin = next(
            (
                other
                for other in REGIONS
                if by_code[other] != number.country_code and valid(f"+{by_code[other]}{nsn}")
            ),
            None,
        )
        if twin is not None:
            chat = f"+{by_code[twin]}{nsn}"
            case = Case(f"{region}-{kind}-same_national_number_in_{twin}", "trap", chat, region)
            case.person(national)
            cases.append(case)
            both = Case(f"{region}-{kind}-same_national_number_both_stored", "trap", chat, region)
            both.person(national, hours=2)
            twin_number = phonenumbers.parse(chat, None)
            both.expected = both.person(
                phonenumbers.format_number(twin_number, PhoneNumberFormat.INTERNATIONAL)
            )
            cases.append(both)
        # A national number of the company's country whose last 8 digits a number of another country shares.
        lookalike = next(
            (
                candidate
                for other in REGIONS
                if other != region and by_code[other] != number.country_code
                for candidate in [lookalike_in(other, nsn[-8:])]
                if candidate is not None
            ),
            None,
        )
        if lookalike is not None and len(nsn) >= 8:
            case = Case(f"{region}-{kind}-last_8_digits_from_abroad", "trap", lookalike, region)
            case.person(national)
            cases.append(case)
        # 7-digit local numbers: the last 7 digits alone, and another number that ends the same way.
        if len(nsn) > 7:
            case = Case(f"{region}-{kind}-seven_digit_local", "trap", e164(number), region)
            case.person(f"{nsn[-7:-4]} {nsn[-4:]}")
            changed = nsn[:-7]
            other = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
            if changed:
                flipped = changed[:-1] + str((int(changed[-1]) + 1) % 10) + nsn[-7:]
                if valid(f"+{number.country_code}{flipped}"):
                    other = f"+{number.country_code} {flipped}"
                    case.person(other, hours=1)
            cases.append(case)
        # A long shared suffix across a border: +CC NSN of another country, beside the right Person or alone.
        foreign = next(
            (
                other
                for other in REGIONS
                if by_code[other] != number.country_code and not valid(f"+{by_code[other]}{nsn}")
            ),
            None,
        )
        if foreign is not None:
            beside = Case(
                f"{region}-{kind}-long_suffix_abroad_beside", "trap", e164(number), other_country(region)
            )
            beside.person(f"+{by_code[foreign]} {nsn}", hours=5)
            beside.expected = beside.person(
                phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
            )
            cases.append(beside)
            alone = Case(
                f"{region}-{kind}-long_suffix_abroad_alone", "trap", e164(number), other_country(region)
            )
            alone.person(f"+{by_code[foreign]} {nsn}")
            cases.append(alone)
        # Several Persons with one number, written the same way: the most recently updated is chosen.
        dup = Case(f"{region}-{kind}-several_persons", "trap", e164(number), other_country(region))
        intl = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
        newest = len(nsn) % 3  # which of the three was updated last: not always the first or the last
        for position in range(3):
            person_id = dup.person(intl, hours=20 if position == newest else 10 + position)
            if position == newest:
                dup.expected = person_id
        cases.append(dup)
    return cases


def lookalike_in(region: str, last8: str) -> str | None:
    """A valid number of ``region`` ending in ``last8``: its example mobile with the last 8 digits swapped."""
    example = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
    if example is None:
        return None
    nsn = phonenumbers.national_significant_number(example)
    if len(nsn) < 9:
        return None
    candidate = f"+{example.country_code}{nsn[:-8]}{last8}"
    return candidate if valid(candidate) else None


def corpus() -> dict[str, Any]:
    cases = written_cases() + variant_cases() + fuzzy_cases() + trap_cases()
    ids = [case.id for case in cases]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    return {
        "about": (
            "WaPipe's labelled matching corpus, written by scripts/gen_matching_corpus.py from "
            f"libphonenumber {phonenumbers.__version__}'s example numbers; read by bench/matching_bench.py "
            "and tests/domain/test_matching_corpus.py. expected: the id of the Person the chat belongs to, "
            "or null when no Person may be linked."
        ),
        "cases": [case.as_json() for case in cases],
    }


def main() -> None:
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUTPUT
    output.parent.mkdir(parents=True, exist_ok=True)
    data = corpus()
    lines = ",\n".join(json.dumps(case, ensure_ascii=False) for case in data["cases"])
    about = json.dumps(data["about"], ensure_ascii=False)
    output.write_text(f'{{"about": {about},\n"cases": [\n{lines}\n]}}\n', encoding="utf-8")
    countries = {case["id"].split("-")[0] for case in data["cases"]}
    print(f"{len(data['cases'])} cases, {len(countries)} countries: {output}")


if __name__ == "__main__":
    main()
