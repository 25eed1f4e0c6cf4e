"""The company's open Deals by Person, so the engine picks a chat's Deal without a request of its own."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from server.domain.days import as_utc_or_none
from server.domain.sync import CrmDeal

_EPOCH = datetime.min.replace(tzinfo=UTC)


class DealIndex:
    """Open Deals keyed by Person, filled from ``GET /api/v2/deals`` pages (any order, replays harmless).

    A Deal that is won, lost, deleted or moved to another Person leaves its old Person's list; a record
    older than the one held is ignored. ``watermark`` is the newest ``update_time`` seen: the next
    ``updated_since``.
    """

    def __init__(self) -> None:
        self.watermark: datetime | None = None
        self._deals: dict[int, CrmDeal] = {}
        self._by_person: dict[int, set[int]] = {}
        self._closed_at: dict[int, datetime | None] = {}  # left the index (won, lost, deleted): when

    def __len__(self) -> int:
        return len(self._deals)

    def apply(self, deals: Iterable[CrmDeal]) -> None:
        for deal in deals:
            self.put(deal)
            updated = as_utc_or_none(deal.update_time)
            if updated is not None and (self.watermark is None or updated > self.watermark):
                self.watermark = updated

    def put(self, deal: CrmDeal) -> None:
        held = self._deals.get(deal.id)
        updated = as_utc_or_none(deal.update_time)
        known = as_utc_or_none(held.update_time) if held else self._closed_at.get(deal.id)
        if updated is not None and known is not None and updated < known:
            return
        self.remove(deal.id)
        if deal.status == "open" and not deal.is_deleted and deal.person_id is not None:
            self._closed_at.pop(deal.id, None)
            self._deals[deal.id] = deal
            self._by_person.setdefault(deal.person_id, set()).add(deal.id)
        else:
            self._closed_at[deal.id] = updated

    def remove(self, deal_id: int) -> None:
        held = self._deals.pop(deal_id, None)
        if held is not None and held.person_id is not None:
            ids = self._by_person.get(held.person_id, set())
            ids.discard(deal_id)
            if not ids:
                self._by_person.pop(held.person_id, None)

    def open_deals(self, person_id: int) -> list[CrmDeal]:
        """The Person's open Deals, most recently updated first (then the newest id)."""
        deals = [self._deals[deal_id] for deal_id in self._by_person.get(person_id, ())]
        return sorted(deals, key=lambda d: (as_utc_or_none(d.update_time) or _EPOCH, d.id), reverse=True)

    def people_with_open_deals(self) -> frozenset[int]:
        return frozenset(self._by_person)
