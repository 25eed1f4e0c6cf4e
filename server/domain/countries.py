"""Countries for the panel's country-code picker: name, region and calling code, from libphonenumber."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import geocoder

# Regions libphonenumber's geocoder names nothing for.
_NAMES = {
    "AC": "Ascension Island",
    "BL": "Saint Barthélemy",
    "EH": "Western Sahara",
    "MF": "Saint Martin",
    "TA": "Tristan da Cunha",
    "XK": "Kosovo",
}


@dataclass(frozen=True, slots=True)
class Country:
    region: str  # ISO 3166-1 alpha-2
    name: str
    calling_code: int

    @property
    def label(self) -> str:
        return f"{self.name} (+{self.calling_code})"


@lru_cache(maxsize=1)
def countries() -> tuple[Country, ...]:
    found = []
    for region in phonenumbers.SUPPORTED_REGIONS:
        example = phonenumbers.example_number(region)
        name = geocoder.country_name_for_number(example, "en") if example else ""
        found.append(
            Country(region, name or _NAMES.get(region, region), phonenumbers.country_code_for_region(region))
        )
    return tuple(sorted(found, key=lambda c: c.name))


def region_of_number(e164: str | None) -> str | None:
    """The region a full international number belongs to (the From number's, to suggest a country)."""
    if not e164:
        return None
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None
