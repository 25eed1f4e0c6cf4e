"""Calendar days in the company's timezone: one "WhatsApp chat" activity per chat per such day.

A message belongs to the day its ``sent_at`` falls on in the company's timezone (Pipedrive's company
setting), not in UTC and not in the server's zone. Days are not always 24 hours: Europe/Berlin's
last Sunday of March has 23, its last Sunday of October 25, and some zones skip or repeat local
midnight itself, so a day's bounds are computed, never added up. Stored timestamps are aware UTC; a
naive one is read as UTC.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from server.domain.errors import InvalidInput

T = TypeVar("T")


def company_zone(name: str | None) -> ZoneInfo:
    """The zone for a company's timezone name ("Europe/Berlin"); UTC when none is set.

    An unknown name raises ``InvalidInput`` (reason ``unknown_timezone``) rather than silently
    bucketing a company's messages into the wrong days.
    """
    if name is None or not name.strip():
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidInput(f"{name[:60]!r} is not a known timezone", reason="unknown_timezone") from error


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def as_utc_or_none(moment: datetime | None) -> datetime | None:
    """``as_utc``, passing ``None`` through (a record Pipedrive gave no update time)."""
    return None if moment is None else as_utc(moment)


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    """The calendar day ``moment`` falls on in ``zone``."""
    return as_utc(moment).astimezone(zone).date()


def local_clock(moment: datetime, zone: ZoneInfo) -> str:
    """``moment`` as HH:MM wall-clock time in ``zone`` (the transcript's time column)."""
    return as_utc(moment).astimezone(zone).strftime("%H:%M")


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """The first instant (UTC) of ``day`` in ``zone``.

    Usually local midnight; where midnight is skipped by a DST jump, the instant the clocks jump; where
    midnight happens twice, the first of them. A day a zone skipped entirely (Samoa's 2011-12-30) starts
    where the next day does, so its window is empty.
    """
    readings = [
        datetime.combine(day, time(0), tzinfo=zone).replace(fold=fold).astimezone(UTC) for fold in (0, 1)
    ]
    on_day = [moment for moment in readings if local_day(moment, zone) == day]
    if on_day:
        return min(on_day)
    # Both readings fall outside the day: walk to the first instant that is on it.
    moment = min(readings)
    while local_day(moment, zone) < day:
        moment += timedelta(minutes=15)
    return moment


def day_window(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """``[start, end)`` in UTC of ``day`` in ``zone``: 23, 24 or 25 hours (or other lengths in odd zones)."""
    return day_start(day, zone), day_start(day + timedelta(days=1), zone)


@dataclass(frozen=True, slots=True)
class ActivityDue:
    """The Pipedrive activity's ``due_date`` (YYYY-MM-DD) and ``due_time`` (HH:MM in UTC, or none)."""

    due_date: str
    due_time: str | None = None

    def as_fields(self) -> dict[str, str]:
        """The request body fields; ``due_time`` is left out for an untimed activity."""
        fields = {"due_date": self.due_date}
        if self.due_time is not None:
            fields["due_time"] = self.due_time
        return fields


def activity_due(day: date, zone: ZoneInfo, *, at: datetime | None = None) -> ActivityDue:
    """When the day's activity is due.

    Without ``at`` the activity is untimed: ``due_date`` is the local day and there is no ``due_time``,
    so it takes no slot in synced calendars. With ``at`` (e.g. the day's first message) it is timed:
    Pipedrive wants ``due_time`` in UTC, so ``due_date`` is the *UTC* date of that instant, which for
    a message just after local midnight east of Greenwich is the day before the local day. ``at`` must
    fall on ``day`` in ``zone``.
    """
    if at is None:
        return ActivityDue(day.isoformat())
    if local_day(at, zone) != day:
        raise InvalidInput(f"{at.isoformat()} is not on {day.isoformat()} in {zone.key}", reason="wrong_day")
    moment = as_utc(at)
    return ActivityDue(moment.date().isoformat(), moment.strftime("%H:%M"))


@dataclass(frozen=True, slots=True, order=True)
class DayKey:
    """One day-activity (before any "part 2"): a chat on a local calendar day."""

    chat_key: str
    day: date


def affected_days(messages: Iterable[tuple[str, datetime]], zone: ZoneInfo) -> tuple[DayKey, ...]:
    """The day-activities a batch of ``(chat_key, sent_at)`` touches, each once, sorted.

    A burst that straddles local midnight touches two days; a catch-up batch may touch many.
    """
    return tuple(sorted({DayKey(chat_key, local_day(sent_at, zone)) for chat_key, sent_at in messages}))


def bucket_by_day(
    items: Iterable[T], sent_at: Callable[[T], datetime], zone: ZoneInfo
) -> dict[date, list[T]]:
    """``items`` grouped by their local day, days in order, items in their given order within a day."""
    buckets: dict[date, list[T]] = {}
    for item in items:
        buckets.setdefault(local_day(sent_at(item), zone), []).append(item)
    return dict(sorted(buckets.items()))
