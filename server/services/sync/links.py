"""What users change about a chat's link (for the panel): re-link to another Person, pin a Deal, exclude.

Each change is stored under the chat's lease, marks the chat's days dirty so every activity already
written follows the change (participants, deal), and queues the chat's sync.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta

from server.domain.errors import NotFound, Transient
from server.domain.matching import MatchRule
from server.domain.ports.queue import JobQueue
from server.domain.ports.sync_store import SyncStore
from server.domain.sync import ChatLink, DealSource, LinkState
from server.services.sync.context import CHAT_LEASE
from server.services.sync.run import sync_job_id

LEASE_WAIT = timedelta(seconds=15)
WORKER = "panel"


async def relink_chat(
    store: SyncStore, queue: JobQueue, company_id: int, chat_id: int, person_id: int, *, now: datetime
) -> ChatLink:
    """Link the chat to ``person_id`` (rule ``manual``); the previous Person becomes an alternative."""

    def change(link: ChatLink) -> ChatLink:
        previous = [link.person_id] if link.person_id is not None else []
        alternatives = tuple(p for p in dict.fromkeys([*previous, *link.alternatives]) if p != person_id)
        pinned = link.pinned_deal_id
        return replace(
            link,
            state=LinkState.LINKED,
            person_id=person_id,
            person_name="",
            rule=MatchRule.MANUAL.value,
            alternatives=alternatives,
            deal_id=pinned,
            lead_id=None,
            deal_source=DealSource.PINNED if pinned else DealSource.NONE,
            deal_checked=pinned is not None,
            person_link_url="",
            deal_link_url="",
        )

    return await change_link(store, queue, company_id, chat_id, change, now=now)


async def pin_deal(
    store: SyncStore, queue: JobQueue, company_id: int, chat_id: int, deal_id: int | None, *, now: datetime
) -> ChatLink:
    """Send the chat's activities to ``deal_id`` from now on and for the days already written; ``None``
    unpins (the chat's Deal is chosen again)."""

    def change(link: ChatLink) -> ChatLink:
        if deal_id is None:
            return replace(
                link, pinned_deal_id=None, deal_id=None, deal_checked=False, deal_source=DealSource.NONE
            )
        return replace(
            link,
            pinned_deal_id=deal_id,
            deal_id=deal_id,
            deal_source=DealSource.PINNED,
            deal_checked=True,
            deal_link_url="",
        )

    return await change_link(store, queue, company_id, chat_id, change, now=now)


async def exclude_chat(
    store: SyncStore, queue: JobQueue, company_id: int, chat_id: int, excluded: bool, *, now: datetime
) -> ChatLink:
    """Exclude the chat from logging (nothing more is written), or include it again."""

    def change(link: ChatLink) -> ChatLink:
        state = LinkState.EXCLUDED if excluded else LinkState.PENDING
        return replace(
            link, excluded=excluded, state=state if excluded or link.person_id is None else LinkState.LINKED
        )

    return await change_link(store, queue, company_id, chat_id, change, now=now, mark_dirty=not excluded)


async def change_link(
    store: SyncStore,
    queue: JobQueue,
    company_id: int,
    chat_id: int,
    change: Callable[[ChatLink], ChatLink],
    *,
    now: datetime,
    mark_dirty: bool = True,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> ChatLink:
    """Apply ``change`` to the chat's link under its lease (a named error ``change`` raises leaves the link
    as it was); then the chat's sync is queued, its days marked to be written again unless ``mark_dirty``
    is false."""
    chat = await store.chat(chat_id)
    if chat is None or chat.company_id != company_id:
        raise NotFound(f"No chat {chat_id} in this company", reason="chat_not_found")
    waited = 0.0
    while not await store.acquire_chat(chat, owner=WORKER, lease=CHAT_LEASE, now=now):
        if waited >= LEASE_WAIT.total_seconds():
            raise Transient("The chat is being synced right now; try again in a moment", reason="chat_busy")
        await sleep(0.2)
        waited += 0.2
    try:
        updated = change(await store.link(chat))
        await store.save_link(updated)
        if mark_dirty:
            await store.mark_written_days_dirty(chat_id, now=now)
    finally:
        await store.release_chat(chat_id, owner=WORKER)
    await queue.enqueue("sync_chat", chat_id, job_id=sync_job_id(chat_id))
    return updated
