"""The company's person phones, kept locally so a known number costs no Pipedrive search.

One index per company, persisted (``PhoneIndexStore``) and held in memory per worker. A worker's first
use reads the stored index and asks Pipedrive only what changed since its ``updated_since`` mark; only
while the company's Persons were never listed in full does it list every Person, and then under the
company's listing lease (``SyncConfig.listing_lease``, renewed at every page), so of several workers
starting cold at once one lists and the others' runs are busy (``SyncBusy``: looked at again in a moment)
until they can read what it stored: N workers cost one full listing per company, not N. A listing that
fails frees the lease for the next run to start over. Afterwards the index is refreshed with
``updated_since`` at most once per ``SyncConfig.index_refresh_every``, and at once when a number is not
in it (``fresh=True``): the index then holds every Person Pipedrive had when the lookup began, so a miss
means no Person has the number and it costs one list request shared by every chat waiting, not a series
of 20-token searches. Persons the engine creates are added at once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from server.domain.matching import PersonPhones, PhoneIndex
from server.domain.sync import CrmPerson
from server.services.sync.context import IndexEntry, SyncBusy, SyncContext

log = logging.getLogger(__name__)

PAGE = 500  # Persons applied and stored at a time: one list page
WATERMARK_OVERLAP = timedelta(seconds=1)  # updated_since is inclusive; a second back covers clock rounding


def person_phones(person: CrmPerson) -> PersonPhones:
    return PersonPhones(person.id, person.phones, person.update_time, person.is_deleted)


async def company_index(
    ctx: SyncContext, company_id: int, *, region: str | None, link_field_key: str, fresh: bool = False
) -> PhoneIndex:
    """The company's index, built on first use and refreshed when it is older than the refresh period.

    ``fresh``: it must also hold every change made before this call: a refresh that started after the
    call (another chat's, while this one waited for the lock) serves, else this call refreshes.
    """
    held = ctx.caches.indexes.get(company_id)
    asked = held.refreshes_started if held is not None else -1
    async with ctx.caches.lock(f"index:{company_id}"):
        now = ctx.clock()
        entry = ctx.caches.indexes.get(company_id)
        if entry is None:
            entry = await _load(ctx, company_id, region, link_field_key, now)
            ctx.caches.indexes[company_id] = entry
        elif now - entry.refreshed_at >= ctx.config.index_refresh_every or (
            fresh and entry.refreshes_started <= asked
        ):
            entry.refreshes_started += 1
            await _refresh(ctx, company_id, entry.index, link_field_key, now)
            entry.refreshed_at = now
        return entry.index


async def remember_person(ctx: SyncContext, company_id: int, person: CrmPerson) -> None:
    """A Person the engine created (or found) goes into the index now, not at the next refresh."""
    await ctx.index_store.save_persons(company_id, [person])
    entry = ctx.caches.indexes.get(company_id)
    if entry is not None:
        entry.index.put(person_phones(person))


async def _load(
    ctx: SyncContext, company_id: int, region: str | None, link_field_key: str, now: datetime
) -> IndexEntry:
    index = PhoneIndex(region)
    if not await ctx.index_store.is_built(company_id) and await _list_all(
        ctx, company_id, index, link_field_key, now
    ):
        return IndexEntry(index, now)
    index.apply(await ctx.index_store.persons(company_id))  # another worker (or this one earlier) listed
    index.watermark = await ctx.index_store.watermark(company_id)
    await _refresh(ctx, company_id, index, link_field_key, now)
    return IndexEntry(index, now)


async def _list_all(
    ctx: SyncContext, company_id: int, index: PhoneIndex, link_field_key: str, now: datetime
) -> bool:
    """Read every Person once for every worker, under the company's listing lease; ``False`` when another
    worker completed the listing meanwhile (the stored index is then read instead)."""
    store, lease = ctx.index_store, ctx.config.listing_lease
    if not await store.claim_listing(company_id, owner=ctx.worker, lease=lease, now=now):
        raise SyncBusy(f"the Persons of company {company_id} are being listed by another worker")
    try:
        if await store.is_built(company_id):  # listed since this run looked
            await store.release_listing(company_id, owner=ctx.worker)
            return False

        async def renew() -> None:
            until = ctx.clock() + lease
            if not await store.renew_listing(company_id, owner=ctx.worker, until=until):
                log.warning("company %s: the listing of its Persons outlived its lease", company_id)

        await _pull(ctx, company_id, index, link_field_key, None, after_page=renew)
    except Exception:
        await store.release_listing(company_id, owner=ctx.worker)  # the next run may start over at once
        raise
    await store.finish_listing(company_id, owner=ctx.worker, watermark=index.watermark, listed_at=now)
    return True


async def _refresh(
    ctx: SyncContext, company_id: int, index: PhoneIndex, link_field_key: str, now: datetime
) -> None:
    since = index.watermark - WATERMARK_OVERLAP if index.watermark is not None else None
    await _pull(ctx, company_id, index, link_field_key, since)
    await ctx.index_store.set_watermark(company_id, index.watermark)


async def _pull(
    ctx: SyncContext,
    company_id: int,
    index: PhoneIndex,
    link_field_key: str,
    since: datetime | None,
    *,
    after_page: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Every Person changed since ``since`` (every Person for ``None``) into the index and the store."""
    batch: list[CrmPerson] = []
    async for person in ctx.crm.persons_updated_since(since, link_field_key):
        batch.append(person)
        if len(batch) >= PAGE:
            await _apply(ctx, company_id, index, batch)
            batch = []
            if after_page is not None:
                await after_page()
    await _apply(ctx, company_id, index, batch)


async def _apply(ctx: SyncContext, company_id: int, index: PhoneIndex, batch: list[CrmPerson]) -> None:
    """Apply a page; only Persons changed since the version held are written to the store (the
    watermark's overlap and Persons imported in the same second come back on every refresh)."""
    changed = [person for person in batch if not index.holds(person_phones(person))]
    index.apply(person_phones(person) for person in batch)
    if changed:
        await ctx.index_store.save_persons(company_id, changed)
