"""Following Persons that change in Pipedrive: merged, deleted, created or edited.

- Merged (a delete carrying ``merged_to_id``): every chat of the company linked to the merged-away Person
  is linked to the surviving one. The rule it matched by stays; Pipedrive has moved the activities and
  Deals already written, so no day is written again. The phone index forgets the merged Person and takes
  the survivor as Pipedrive has it now (one read).
- Deleted: its chats are unlinked and matched again at their next sync (queued now), so the next message
  goes to the Person that has the number then (or a new one), never onto the deleted Person. A pinned Deal
  stays; otherwise the new Person's open Deal is chosen (no second Deal or Lead is created for the chat).
- Created or changed: the index entry follows the delivery's data, so a new or edited number is found
  without asking Pipedrive for a list of changes.

The link changes themselves are in ``person_links``, which the sync's fallback shares.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from server.domain.errors import NotFound
from server.domain.person_events import PersonEvent
from server.domain.ports.queue import JobQueue
from server.domain.sync import ChatLink, CrmPerson
from server.services.person_links import forget_person, moved_link, unlinked_link
from server.services.sync.context import SyncContext
from server.services.sync.links import change_link
from server.services.sync.phone_index import remember_person


async def follow_person_event(ctx: SyncContext, queue: JobQueue, company_id: int, event: PersonEvent) -> str:
    """Apply one delivery to the company's links and phone index; what was done, for the job's result."""
    if event.action == "delete":
        await forget_person(ctx, company_id, event.person_id)
        if event.merged_to_id is not None:
            survivor = await ctx.crm.person(event.merged_to_id)
            if survivor is not None and not survivor.is_deleted:
                await remember_person(ctx, company_id, survivor)
                moved = await _move_chats(ctx, queue, company_id, event.person_id, survivor)
                return f"person {event.person_id} merged into {survivor.id}: {moved} chats moved"
        unlinked = await _unlink_chats(ctx, queue, company_id, event.person_id)
        return f"person {event.person_id} deleted: {unlinked} chats to match again"
    if event.person is None:
        return f"person {event.person_id} {event.action}d: no data"
    if event.person.is_deleted:
        await forget_person(ctx, company_id, event.person_id)
    else:
        await remember_person(ctx, company_id, event.person)
    return f"person {event.person_id} {event.action}d: index updated"


async def _move_chats(
    ctx: SyncContext, queue: JobQueue, company_id: int, merged_id: int, survivor: CrmPerson
) -> int:
    return await _change_chats(
        ctx, queue, company_id, merged_id, lambda link: moved_link(link, merged_id, survivor)
    )


async def _unlink_chats(ctx: SyncContext, queue: JobQueue, company_id: int, person_id: int) -> int:
    return await _change_chats(ctx, queue, company_id, person_id, lambda link: unlinked_link(link, person_id))


async def _change_chats(
    ctx: SyncContext, queue: JobQueue, company_id: int, person_id: int, change: Callable[[ChatLink], ChatLink]
) -> int:
    """Apply ``change`` to every chat linked to the Person, each under its lease; its sync is queued and no
    day is written again for it alone."""
    chat_ids = await ctx.store.chats_linked_to(company_id, person_id)
    for chat_id in chat_ids:
        with contextlib.suppress(NotFound):  # the chat was merged away or erased meanwhile
            await change_link(
                ctx.store, queue, company_id, chat_id, change, now=ctx.clock(), mark_dirty=False
            )
    return len(chat_ids)
