"""The ranges numbers from outside must fall in: ids from 1 to 2**31 - 1 (PostgreSQL's INTEGER), written
as plain ASCII digits or as JSON integers; other whole numbers within 64 bits."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.bounds import ID_PATTERN, id_from_json, id_from_text, int64_from_json

LARGEST_ID = 2_147_483_647  # PostgreSQL's INTEGER upper bound, written out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1),
        ("42", 42),
        ("2147483647", LARGEST_ID),
        ("2147483648", None),
        ("9223372036854775808", None),
        ("18446744073709551616", None),
        ("1" + "0" * 4000, None),
        ("0", None),
        ("-1", None),
        ("+1", None),
        (" 1", None),
        ("1 ", None),
        ("1\n", None),
        ("01", None),
        ("1e3", None),
        ("1.0", None),
        ("1_000", None),
        ("١٢", None),  # Arabic-Indic digits: int() reads them, an id may not
        ("²", None),
        ("", None),
        (None, None),
    ],
)
def test_id_from_text(text: str | None, expected: int | None) -> None:
    assert id_from_text(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, 1),
        (LARGEST_ID, LARGEST_ID),
        (LARGEST_ID + 1, None),
        (2**63, None),
        (0, None),
        (-5, None),
        (True, None),
        (7.0, None),
        ("7", None),
        (None, None),
        ([7], None),
    ],
)
def test_id_from_json(value: object, expected: int | None) -> None:
    assert id_from_json(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (1_772_366_400, 1_772_366_400),
        (9_223_372_036_854_775_807, 9_223_372_036_854_775_807),
        (9_223_372_036_854_775_808, None),
        (-9_223_372_036_854_775_808, -9_223_372_036_854_775_808),
        (-9_223_372_036_854_775_809, None),
        (10**4000, None),
        (False, None),
        (1.0, None),
        (float("inf"), None),
        ("1772366400", None),
    ],
)
def test_int64_from_json(value: object, expected: int | None) -> None:
    assert int64_from_json(value) == expected


@given(st.integers(min_value=-10, max_value=10**12))
def test_the_id_pattern_matches_exactly_the_ids(number: int) -> None:
    assert bool(re.fullmatch(ID_PATTERN, str(number))) == (0 < number < 2_147_483_648)
