"""The ranges numbers from outside must fall in before WaPipe uses them.

Ids (Pipedrive's companies, users, Persons, Deals and files, and WaPipe's own rows) live in INTEGER columns,
which PostgreSQL keeps in 32 bits: an id is a whole number from 1 to 2**31 - 1, whatever the database. Other
whole numbers (times in seconds or milliseconds) must fit in 64 bits. Anything else is refused where it
arrives, by the caller, with its own named reason.
"""

from __future__ import annotations

import re

MAX_ID = 2**31 - 1
MIN_INT64 = -(2**63)
MAX_INT64 = 2**63 - 1


def _decimals_up_to(limit: int) -> str:
    """A regular expression for the decimal numbers 1..limit, written without sign, space or leading zero."""
    digits = str(limit)
    alternatives = [f"[1-9][0-9]{{0,{len(digits) - 2}}}", digits]  # fewer digits than limit; limit itself
    for position, digit in enumerate(digits):
        lowest = 1 if position == 0 else 0
        if int(digit) > lowest:  # the same digits up to here, a smaller one here, anything after
            rest = len(digits) - position - 1
            alternatives.append(f"{digits[:position]}[{lowest}-{int(digit) - 1}][0-9]{{{rest}}}")
    return "(?:" + "|".join(alternatives) + ")"


ID_PATTERN = _decimals_up_to(MAX_ID)
_ID = re.compile(ID_PATTERN)


def id_from_text(text: str | None) -> int | None:
    """The id ``text`` spells (ASCII digits only, no sign, space or leading zero), or ``None``."""
    if text is None or not _ID.fullmatch(text):
        return None
    return int(text)


def id_from_json(value: object) -> int | None:
    """The id a JSON value holds when it is an integer in range (``true`` is not a number), or ``None``."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 1 <= value <= MAX_ID else None


def int64_from_json(value: object) -> int | None:
    """A JSON integer that fits in 64 bits (not a bool, a float or a numeric string), or ``None``."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if MIN_INT64 <= value <= MAX_INT64 else None
