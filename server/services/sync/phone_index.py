"""The company's person phones, kept locally so a known number costs no Pipedrive search.

One index per company, persisted (``PhoneIndexStore``) and held in memory per worker. The first use
builds it from every Person; afterwards it is refreshed with ``updated_since`` at most once per
``SyncConfig.index_refresh_every``, and at once when a number is not in it (``fresh=True``): the index
then holds every Person Pipedrive had when the lookup began, so a miss means no Person has the number
and it costs one list request shared by every chat waiting, not a series of 20-token searches.
Persons the engine creates are added at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from server.domain.matching import PersonPhones, PhoneIndex
from server.domain.sync import CrmPerson
from server.services.sync.context import IndexEntry, SyncContext

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
    if not await ctx.index_store.is_built(company_id):  # never built: read every Person once
        await _refresh(ctx, company_id, index, link_field_key, now)
        return IndexEntry(index, now)
    index.apply(await ctx.index_store.persons(company_id))
    index.watermark = await ctx.index_store.watermark(company_id)
    await _refresh(ctx, company_id, index, link_field_key, now)
    return IndexEntry(index, now)


async def _refresh(
    ctx: SyncContext, company_id: int, index: PhoneIndex, link_field_key: str, now: datetime
) -> None:
    since = index.watermark - WATERMARK_OVERLAP if index.watermark is not None else None
    batch: list[CrmPerson] = []
    async for person in ctx.crm.persons_updated_since(since, link_field_key):
        batch.append(person)
        if len(batch) >= 500:
            await _apply(ctx, company_id, index, batch)
            batch = []
    await _apply(ctx, company_id, index, batch)
    await ctx.index_store.set_watermark(company_id, index.watermark)


async def _apply(ctx: SyncContext, company_id: int, index: PhoneIndex, batch: list[CrmPerson]) -> None:
    """Apply a page; only Persons changed since the version held are written to the store (the
    watermark's overlap and Persons imported in the same second come back on every refresh)."""
    changed = [person for person in batch if not index.holds(person_phones(person))]
    index.apply(person_phones(person) for person in batch)
    if changed:
        await ctx.index_store.save_persons(company_id, changed)
