"""The company's open Deals, kept in memory per worker so a chat's Deal costs no request of its own.

The first use loads every open Deal (``GET /api/v2/deals?status=open``, 500 a page); afterwards what
changed is read with ``updated_since`` (every status, so a won or lost Deal leaves) at most once per
``SyncConfig.deal_refresh_every``, and at once before the engine would create a Deal or a Lead
(``fresh=True``), so a Deal added a moment ago in Pipedrive is used rather than duplicated. Deleted
Deals are not listed by ``updated_since``: the whole index is reloaded every ``deal_reload_every``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from server.domain.deal_index import DealIndex
from server.domain.sync import CrmDeal
from server.services.sync.context import DealIndexEntry, SyncContext

WATERMARK_OVERLAP = timedelta(seconds=1)
CLOCK_ALLOWANCE = timedelta(minutes=1)


async def person_open_deals(
    ctx: SyncContext, company_id: int, person_id: int, *, link_field_key: str, fresh: bool = False
) -> list[CrmDeal]:
    """The Person's open Deals, most recently updated first."""
    return (await company_deals(ctx, company_id, link_field_key=link_field_key, fresh=fresh)).open_deals(
        person_id
    )


async def company_deals(
    ctx: SyncContext, company_id: int, *, link_field_key: str, fresh: bool = False
) -> DealIndex:
    held = ctx.caches.deal_indexes.get(company_id)
    asked = held.refreshes_started if held is not None else -1
    async with ctx.caches.lock(f"deals:{company_id}"):
        now = ctx.clock()
        entry = ctx.caches.deal_indexes.get(company_id)
        if entry is None or now - entry.loaded_at >= ctx.config.deal_reload_every:
            index = DealIndex()
            await _read(ctx, index, None, link_field_key)
            started = entry.refreshes_started + 1 if entry is not None else 1
            entry = DealIndexEntry(index, now, now, started)
            ctx.caches.deal_indexes[company_id] = entry
        elif now - entry.refreshed_at >= ctx.config.deal_refresh_every or (
            fresh and entry.refreshes_started <= asked
        ):
            entry.refreshes_started += 1
            # no Deal seen yet: from the load on, with room for a clock difference with Pipedrive
            watermark = entry.index.watermark
            since = watermark - WATERMARK_OVERLAP if watermark else entry.loaded_at - CLOCK_ALLOWANCE
            await _read(ctx, entry.index, since, link_field_key)
            entry.refreshed_at = now
        return entry.index


def remember_deal(ctx: SyncContext, company_id: int, deal: CrmDeal) -> None:
    """A Deal the engine created is in the index now, not at the next refresh."""
    entry = ctx.caches.deal_indexes.get(company_id)
    if entry is not None:
        entry.index.put(deal)


async def _read(ctx: SyncContext, index: DealIndex, since: datetime | None, link_field_key: str) -> None:
    batch: list[CrmDeal] = []
    async for deal in ctx.crm.deals_updated_since(since, link_field_key):
        batch.append(deal)
    index.apply(batch)
