from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.days import (
    ActivityDue,
    DayKey,
    activity_due,
    affected_days,
    bucket_by_day,
    company_zone,
    day_start,
    day_window,
    local_clock,
    local_day,
)
from server.domain.errors import InvalidInput

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
ONE_MICROSECOND = timedelta(microseconds=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_company_zone() -> None:
    assert company_zone("Europe/Berlin") == BERLIN
    assert company_zone(" America/New_York ") == NEW_YORK
    assert company_zone(None) == ZoneInfo("UTC")
    assert company_zone("") == ZoneInfo("UTC")
    for bad in ("Mars/Olympus", "../etc/passwd"):
        with pytest.raises(InvalidInput) as caught:
            company_zone(bad)
        assert caught.value.reason == "unknown_timezone"


@pytest.mark.parametrize(
    ("moment", "zone", "day", "clock"),
    [
        (utc(2026, 3, 28, 22, 59), BERLIN, date(2026, 3, 28), "23:59"),  # CET, +1
        (utc(2026, 3, 28, 23, 0), BERLIN, date(2026, 3, 29), "00:00"),
        (utc(2026, 3, 29, 0, 59), BERLIN, date(2026, 3, 29), "01:59"),  # spring forward
        (utc(2026, 3, 29, 1, 0), BERLIN, date(2026, 3, 29), "03:00"),
        (utc(2026, 3, 29, 21, 59), BERLIN, date(2026, 3, 29), "23:59"),  # CEST, +2
        (utc(2026, 3, 29, 22, 0), BERLIN, date(2026, 3, 30), "00:00"),
        (utc(2026, 10, 25, 0, 30), BERLIN, date(2026, 10, 25), "02:30"),  # first 02:30
        (utc(2026, 10, 25, 1, 30), BERLIN, date(2026, 10, 25), "02:30"),  # second 02:30
        (utc(2026, 10, 25, 22, 59), BERLIN, date(2026, 10, 25), "23:59"),
        (utc(2026, 10, 25, 23, 0), BERLIN, date(2026, 10, 26), "00:00"),
        (utc(2026, 3, 8, 4, 59), NEW_YORK, date(2026, 3, 7), "23:59"),  # EST, -5
        (utc(2026, 3, 8, 5, 0), NEW_YORK, date(2026, 3, 8), "00:00"),
        (utc(2026, 3, 8, 7, 0), NEW_YORK, date(2026, 3, 8), "03:00"),  # spring forward
        (utc(2026, 3, 9, 3, 59), NEW_YORK, date(2026, 3, 8), "23:59"),  # EDT, -4
        (utc(2026, 3, 9, 4, 0), NEW_YORK, date(2026, 3, 9), "00:00"),
        (utc(2026, 11, 1, 5, 30), NEW_YORK, date(2026, 11, 1), "01:30"),  # second 01:30
        (utc(2026, 11, 2, 4, 59), NEW_YORK, date(2026, 11, 1), "23:59"),
        (utc(2026, 11, 2, 5, 0), NEW_YORK, date(2026, 11, 2), "00:00"),
    ],
)
def test_local_day_and_clock_across_dst_and_midnight(
    moment: datetime, zone: ZoneInfo, day: date, clock: str
) -> None:
    assert local_day(moment, zone) == day
    assert local_clock(moment, zone) == clock


def test_naive_times_are_utc() -> None:
    assert local_day(datetime(2026, 3, 28, 23, 0), BERLIN) == date(2026, 3, 29)


@pytest.mark.parametrize(
    ("day", "zone", "hours"),
    [
        (date(2026, 3, 29), BERLIN, 23),
        (date(2026, 10, 25), BERLIN, 25),
        (date(2026, 6, 1), BERLIN, 24),
        (date(2026, 3, 8), NEW_YORK, 23),
        (date(2026, 11, 1), NEW_YORK, 25),
        (date(2026, 1, 15), NEW_YORK, 24),
    ],
)
def test_day_window_lengths(day: date, zone: ZoneInfo, hours: int) -> None:
    start, end = day_window(day, zone)
    assert end - start == timedelta(hours=hours)
    assert local_day(start, zone) == day and local_clock(start, zone) == "00:00"
    assert local_day(end - ONE_MICROSECOND, zone) == day
    assert local_day(start - ONE_MICROSECOND, zone) == day - timedelta(days=1)


def test_day_start_where_midnight_is_skipped() -> None:
    # Cuba springs forward at midnight: 2026-03-08 starts at 01:00 local.
    havana = ZoneInfo("America/Havana")
    start = day_start(date(2026, 3, 8), havana)
    assert local_day(start, havana) == date(2026, 3, 8)
    assert local_day(start - ONE_MICROSECOND, havana) == date(2026, 3, 7)
    assert local_clock(start, havana) == "01:00"


def test_a_skipped_day_has_an_empty_window() -> None:
    start, end = day_window(date(2011, 12, 30), ZoneInfo("Pacific/Apia"))
    assert start == end


ZONES = st.sampled_from(
    ["Europe/Berlin", "America/New_York", "America/Havana", "America/Santiago", "Asia/Beirut",
     "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Chatham", "UTC"]
)  # fmt: skip


@given(ZONES, st.dates(min_value=date(2000, 1, 1), max_value=date(2037, 12, 31)))
def test_windows_tile_the_timeline(zone_name: str, day: date) -> None:
    zone = ZoneInfo(zone_name)
    start, end = day_window(day, zone)
    assert start < end
    assert local_day(start, zone) == day
    assert local_day(end - ONE_MICROSECOND, zone) == day
    assert local_day(start - ONE_MICROSECOND, zone) < day
    assert day_window(day + timedelta(days=1), zone)[0] == end


@given(
    ZONES,
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31), timezones=st.just(UTC)),
)
def test_every_moment_is_inside_its_days_window(zone_name: str, moment: datetime) -> None:
    zone = ZoneInfo(zone_name)
    start, end = day_window(local_day(moment, zone), zone)
    assert start <= moment < end


def test_untimed_activity_is_due_on_the_local_day() -> None:
    due = activity_due(date(2026, 3, 29), BERLIN)
    assert due == ActivityDue("2026-03-29", None)
    assert due.as_fields() == {"due_date": "2026-03-29"}


def test_timed_activity_is_due_in_utc() -> None:
    # 00:30 in Berlin on the 30th is 22:30 UTC on the 29th: Pipedrive wants the UTC date and time.
    due = activity_due(date(2026, 3, 30), BERLIN, at=utc(2026, 3, 29, 22, 30))
    assert due.as_fields() == {"due_date": "2026-03-29", "due_time": "22:30"}
    # 21:15 in New York on Nov 1 (EST) is 02:15 UTC on Nov 2.
    due = activity_due(date(2026, 11, 1), NEW_YORK, at=utc(2026, 11, 2, 2, 15, 59))
    assert due == ActivityDue("2026-11-02", "02:15")


def test_timed_activity_must_be_on_its_day() -> None:
    with pytest.raises(InvalidInput) as caught:
        activity_due(date(2026, 3, 29), BERLIN, at=utc(2026, 3, 29, 22, 30))
    assert caught.value.reason == "wrong_day"


def test_affected_days_of_a_batch() -> None:
    batch = [
        ("b@s.whatsapp.net", utc(2026, 3, 29, 21, 59)),  # 23:59 Berlin
        ("a@s.whatsapp.net", utc(2026, 3, 29, 22, 0)),  # 00:00 Berlin, next day
        ("a@s.whatsapp.net", utc(2026, 3, 29, 23, 0)),
        ("a@s.whatsapp.net", utc(2026, 3, 29, 21, 0)),
        ("b@s.whatsapp.net", utc(2026, 3, 29, 10, 0)),
    ]
    assert affected_days(batch, BERLIN) == (
        DayKey("a@s.whatsapp.net", date(2026, 3, 29)),
        DayKey("a@s.whatsapp.net", date(2026, 3, 30)),
        DayKey("b@s.whatsapp.net", date(2026, 3, 29)),
    )
    assert affected_days(batch, ZoneInfo("UTC")) == (
        DayKey("a@s.whatsapp.net", date(2026, 3, 29)),
        DayKey("b@s.whatsapp.net", date(2026, 3, 29)),
    )
    assert affected_days([], BERLIN) == ()


def test_bucket_by_day_keeps_order_within_a_day() -> None:
    items = [("x", utc(2026, 3, 29, 22, 0)), ("y", utc(2026, 3, 29, 8, 0)), ("z", utc(2026, 3, 29, 7, 0))]
    buckets = bucket_by_day(items, lambda item: item[1], BERLIN)
    assert list(buckets) == [date(2026, 3, 29), date(2026, 3, 30)]
    assert [name for name, _ in buckets[date(2026, 3, 29)]] == ["y", "z"]
