"""The in-memory index of open Deals by Person."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.domain.deal_index import DealIndex
from server.domain.sync import CrmDeal

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def deal(deal_id: int, person_id: int | None, minutes: int, status: str = "open", **extra: object) -> CrmDeal:
    return CrmDeal(
        deal_id, f"Deal {deal_id}", status, T0 + timedelta(minutes=minutes), person_id=person_id, **extra
    )  # type: ignore[arg-type]


def test_open_deals_come_most_recently_updated_first_and_the_watermark_follows() -> None:
    index = DealIndex()
    index.apply([deal(1, 7, 0), deal(2, 7, 5), deal(3, 8, 1)])
    assert [d.id for d in index.open_deals(7)] == [2, 1]
    assert index.watermark == T0 + timedelta(minutes=5)
    assert index.people_with_open_deals() == {7, 8}


def test_won_lost_deleted_and_moved_deals_leave_their_person() -> None:
    index = DealIndex()
    index.apply([deal(1, 7, 0), deal(2, 7, 0), deal(3, 7, 0), deal(4, 7, 0)])
    index.apply([deal(1, 7, 1, "won"), deal(2, 7, 1, "lost"), deal(3, 7, 1, is_deleted=True), deal(4, 9, 1)])
    assert index.open_deals(7) == []
    assert [d.id for d in index.open_deals(9)] == [4]


def test_an_older_record_replayed_does_not_undo_a_newer_one() -> None:
    index = DealIndex()
    index.apply([deal(1, 7, 5, "won")])
    index.apply([deal(1, 7, 0)])
    assert index.open_deals(7) == []
    assert index.watermark == T0 + timedelta(minutes=5)


def test_a_deal_without_a_person_is_not_indexed() -> None:
    index = DealIndex()
    index.apply([deal(1, None, 0)])
    assert len(index) == 0
