"""The per-process cache: an entry is read again after its time, a clock that went back expires it, and
the oldest entry goes first when the cache is full."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.domain.ttl_cache import TtlCache

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
TTL = timedelta(minutes=5)


def test_an_entry_lives_until_its_time_is_up() -> None:
    cache: TtlCache[str, int] = TtlCache(TTL, 10)
    cache.put("a", T0, 1)
    assert cache.get("a", T0) == 1
    assert cache.get("a", T0 + TTL - timedelta(microseconds=1)) == 1
    assert cache.get("a", T0 + TTL) is None
    assert len(cache) == 0  # an expired entry is dropped when read


def test_a_clock_that_went_back_reads_again() -> None:
    cache: TtlCache[str, int] = TtlCache(TTL, 10)
    cache.put("a", T0, 1)
    assert cache.get("a", T0 - timedelta(seconds=1)) is None


def test_the_oldest_entry_goes_first_when_full() -> None:
    cache: TtlCache[str, int] = TtlCache(TTL, 2)
    cache.put("a", T0, 1)
    cache.put("b", T0, 2)
    cache.put("a", T0, 3)  # put again: now the newest
    cache.put("c", T0, 4)
    assert (cache.get("a", T0), cache.get("b", T0), cache.get("c", T0)) == (3, None, 4)


def test_a_cache_holds_at_least_one_entry() -> None:
    with pytest.raises(ValueError, match="at least one"):
        TtlCache(TTL, 0)
