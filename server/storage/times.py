"""Times read back from the database as aware UTC datetimes: SQLite forgets the zone, and an aggregate
(``max``, ``min``) loses the column's type there, coming back as ISO text."""

from __future__ import annotations

from datetime import datetime

from server.domain.days import as_utc


def stored_time(value: object) -> datetime | None:
    """``value`` as an aware UTC datetime (naive means UTC); ``None`` for anything that is not a time."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    return as_utc(value) if isinstance(value, datetime) else None


def required_time(value: object) -> datetime:
    """``stored_time`` of a value that must be a time (a NOT NULL column)."""
    found = stored_time(value)
    if found is None:
        raise TypeError(f"not a datetime: {value!r}")
    return found
