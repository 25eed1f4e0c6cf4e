"""When a campaign's sending number may write next: pure arithmetic over ``Pacing``.

- **Gap**: after each message the number waits a random time in [min, max] seconds (``gap``; the caller
  hands in the ``random.Random``, so tests fix it).
- **Daily cap**: at most ``daily_cap`` campaign messages per number in a UTC day (every campaign counts);
  once reached, the number waits for the next UTC midnight (``after_cap``).
- **Quiet hours**: nothing is sent while it is between ``quiet_start`` and ``quiet_end`` in the recipient's
  time zone, the first zone libphonenumber gives the number's country and area (UTC when it has none);
  ``quiet_until`` is when the recipient's quiet hours end.
- **Start**: nothing before ``start_at``.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezones

from server.domain.campaigns import Pacing

_UNKNOWN_ZONE = "Etc/Unknown"


def gap(pacing: Pacing, rng: random.Random) -> timedelta:
    """The wait after one message: uniform in [min, max] seconds."""
    return timedelta(seconds=rng.uniform(pacing.min_gap_seconds, pacing.max_gap_seconds))


def utc_day_start(at: datetime) -> datetime:
    moment = at.astimezone(UTC)
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


def after_cap(pacing: Pacing, at: datetime, sent_today: int) -> datetime | None:
    """The next UTC midnight when the number reached its cap today, else ``None``."""
    if pacing.daily_cap and sent_today >= pacing.daily_cap:
        return utc_day_start(at) + timedelta(days=1)
    return None


@lru_cache(maxsize=4096)
def zone_for(e164: str) -> tzinfo:
    """The recipient's time zone from its number: libphonenumber's first zone, else UTC."""
    try:
        names = phone_timezones.time_zones_for_number(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return UTC
    for name in names:
        if name != _UNKNOWN_ZONE:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                break
    return UTC


def _clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def quiet_until(pacing: Pacing, at: datetime, zone: tzinfo) -> datetime | None:
    """When the quiet hours the recipient is in at ``at`` end (UTC), or ``None`` when it is not in them."""
    if not pacing.has_quiet_hours:
        return None
    start, end = _clock(pacing.quiet_start), _clock(pacing.quiet_end)
    local = at.astimezone(zone)
    now = local.time()
    if start < end:
        quiet = start <= now < end
        end_day = local.date()
    else:  # over midnight: 21:00–08:00
        quiet = now >= start or now < end
        end_day = local.date() + timedelta(days=1) if now >= start else local.date()
    if not quiet:
        return None
    ends = datetime.combine(end_day, end, tzinfo=zone).astimezone(UTC)
    return ends if ends > at else at + timedelta(minutes=1)  # a clock change: look again shortly


def earliest(pacing: Pacing, now: datetime, number_next: datetime | None) -> datetime:
    """The first moment the number may write: now, after its gap, not before the start time."""
    moments = [now]
    if number_next is not None:
        moments.append(number_next)
    if pacing.start_at is not None:
        moments.append(pacing.start_at)
    return max(moments)
