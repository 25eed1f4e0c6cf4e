"""How a chat's link follows a Person deleted or merged away in Pipedrive (the webhook's deliveries and the
sync's fallback alike), and whether a Person is gone.

The sync's fallback: a write Pipedrive refuses (an installation without the webhook, a delivery lost) is
checked by reading the Person; one that reads as deleted, or not at all, is forgotten and the chat matched
again.
"""

from __future__ import annotations

from dataclasses import replace

from server.domain.sync import ChatLink, CrmPerson, DealSource, LinkState
from server.services.sync.context import SyncContext


async def forget_person(ctx: SyncContext, company_id: int, person_id: int) -> None:
    """Drop the Person from the company's phone index (stored and held in memory) and from the creates
    that produced it, so its number or group gets a Person anew."""
    await ctx.store.forget_person_intents(company_id, person_id)
    await ctx.index_store.save_persons(company_id, [CrmPerson(person_id, "", is_deleted=True)])
    entry = ctx.caches.indexes.get(company_id)
    if entry is not None:
        entry.index.remove(person_id)


async def person_gone(ctx: SyncContext, person_id: int) -> bool:
    """Whether Pipedrive has deleted the Person (it reads as deleted, or not at all)."""
    person = await ctx.crm.person(person_id)
    return person is None or person.is_deleted


def moved_link(link: ChatLink, merged_id: int, survivor: CrmPerson) -> ChatLink:
    """``link`` pointing at ``survivor`` instead of the merged-away Person (any other link as it is)."""
    if link.person_id != merged_id:
        return link
    alternatives = tuple(p for p in dict.fromkeys(link.alternatives) if p not in (merged_id, survivor.id))
    return replace(
        link, person_id=survivor.id, person_name=survivor.name, alternatives=alternatives, person_link_url=""
    )


def unlinked_link(link: ChatLink, person_id: int) -> ChatLink:
    """``link`` without the deleted Person: matched again at the next sync (any other link as it is)."""
    if link.person_id != person_id:
        return link
    pinned = link.pinned_deal_id
    return replace(
        link,
        state=LinkState.PENDING if link.state is LinkState.LINKED else link.state,
        person_id=None,
        person_name="",
        rule="",
        alternatives=tuple(p for p in link.alternatives if p != person_id),
        deal_id=pinned,
        lead_id=None,
        deal_source=DealSource.PINNED if pinned is not None else DealSource.NONE,
        deal_checked=True,  # a chat creates at most one Deal or Lead; the next Person's open Deal is found
        person_link_url="",
        deal_link_url=link.deal_link_url if pinned is not None else "",
        searched_at=None,
    )
