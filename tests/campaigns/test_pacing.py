"""Pacing: the gap, the daily cap, quiet hours in the recipient's zone and the start time."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from server.domain.campaign_pacing import after_cap, earliest, gap, quiet_until, zone_for
from server.domain.campaigns import Pacing
from server.domain.errors import InvalidInput

NOON = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")  # UTC+1 in December


def test_the_gap_is_drawn_between_min_and_max_from_the_given_random() -> None:
    pacing = Pacing(min_gap_seconds=20, max_gap_seconds=60)
    gaps = [gap(pacing, random.Random(seed)).total_seconds() for seed in range(200)]
    assert all(20 <= g <= 60 for g in gaps)
    assert min(gaps) < 25 and max(gaps) > 55  # spread over the range, not a constant
    assert gap(pacing, random.Random(7)) == gap(pacing, random.Random(7))


def test_no_gap_when_pacing_is_off() -> None:
    assert gap(Pacing.off(), random.Random(1)) == timedelta(0)
    assert after_cap(Pacing.off(), NOON, 10**6) is None
    assert quiet_until(Pacing.off(), NOON.replace(hour=23), BERLIN) is None


def test_the_daily_cap_waits_for_the_next_utc_midnight() -> None:
    pacing = Pacing(daily_cap=200)
    assert after_cap(pacing, NOON, 199) is None
    assert after_cap(pacing, NOON, 200) == datetime(2026, 12, 8, 0, 0, tzinfo=UTC)


def test_quiet_hours_in_the_recipients_zone_end_at_quiet_end_local() -> None:
    pacing = Pacing(quiet_start="21:00", quiet_end="08:00")
    # 21:30 UTC is 22:30 in Berlin: quiet until 08:00 Berlin the next day = 07:00 UTC
    assert quiet_until(pacing, datetime(2026, 12, 7, 21, 30, tzinfo=UTC), BERLIN) == datetime(
        2026, 12, 8, 7, 0, tzinfo=UTC
    )
    # 05:00 UTC is 06:00 Berlin: quiet until 07:00 UTC the same day
    assert quiet_until(pacing, datetime(2026, 12, 7, 5, 0, tzinfo=UTC), BERLIN) == datetime(
        2026, 12, 7, 7, 0, tzinfo=UTC
    )
    assert quiet_until(pacing, NOON, BERLIN) is None  # 13:00 in Berlin


def test_quiet_hours_within_one_day() -> None:
    pacing = Pacing(quiet_start="12:00", quiet_end="14:00")
    assert quiet_until(pacing, NOON, UTC) == NOON + timedelta(hours=2)
    assert quiet_until(pacing, NOON - timedelta(minutes=1), UTC) is None
    assert quiet_until(pacing, NOON + timedelta(hours=2), UTC) is None


def test_the_zone_comes_from_the_numbers_country_else_utc() -> None:
    assert zone_for("+4915112345678") == ZoneInfo("Europe/Berlin")
    assert zone_for("+81312345678") == ZoneInfo("Asia/Tokyo")
    assert zone_for("+999") == UTC  # no country
    assert zone_for("not a number") == UTC


def test_a_new_york_number_is_quiet_when_berlin_is_not() -> None:
    pacing = Pacing()
    at = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)  # 11:00 in Berlin, 05:00 in New York
    assert quiet_until(pacing, at, zone_for("+4915112345678")) is None
    assert quiet_until(pacing, at, zone_for("+12125551234")) == datetime(2026, 12, 7, 13, 0, tzinfo=UTC)


def test_earliest_is_the_latest_of_now_the_numbers_turn_and_the_start() -> None:
    pacing = Pacing(start_at=NOON + timedelta(hours=1))
    assert earliest(pacing, NOON, None) == NOON + timedelta(hours=1)
    assert earliest(Pacing(), NOON, NOON + timedelta(seconds=30)) == NOON + timedelta(seconds=30)
    assert earliest(Pacing(), NOON, NOON - timedelta(seconds=30)) == NOON


@pytest.mark.parametrize(
    "changes",
    [
        {"min_gap_seconds": 61, "max_gap_seconds": 60},
        {"min_gap_seconds": -1},
        {"max_gap_seconds": 24 * 3600 + 1},
        {"daily_cap": -1},
        {"quiet_start": "25:00"},
        {"quiet_end": "8am"},
        {"start_at": datetime(2026, 12, 7, 12, 0)},  # no zone
    ],
)
def test_impossible_pacing_is_refused_by_name(changes: dict[str, object]) -> None:
    with pytest.raises(InvalidInput) as refused:
        Pacing(**changes)  # type: ignore[arg-type]
    assert refused.value.reason == "invalid_pacing"
