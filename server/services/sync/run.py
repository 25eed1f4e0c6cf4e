"""Sync one chat into Pipedrive: the use case behind the ``sync_chat`` job. Safe to run any number of times.

1. Fold messages stored since the last run into their local days (marking those days dirty) and
   download their attachments that are due (one that fails is retried on its own schedule).
2. Decide whether the chat is logged at all: excluded chats and numbers, groups (setting), channels,
   and hidden ``@lid`` senders whose number the transport cannot tell yet write nothing.
3. When a day is due (at once in real time; after the batch period otherwise): make sure the activity
   type and link fields exist, link the Person (and Deal or Lead), write the days, then upload the
   attachments and set the "WhatsApp chat link" fields (the transcript is what users wait for).
   Files of messages their senders deleted are deleted from Pipedrive's Files in every run until done.
   A write Pipedrive refuses because the chat's Person was deleted there (it reads as deleted, or not at
   all) matches the chat again and writes once more, onto the Person that has the number now.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from server.domain.days import company_zone, local_day
from server.domain.errors import InvalidInput, NotFound, Permanent
from server.domain.jids import is_lid, phone_chat_key
from server.domain.sync import ChatLink, LinkState, SyncChat, SyncSettings
from server.domain.whatsapp import Peer
from server.services.message_changes import absorb_changes
from server.services.person_links import forget_person, person_gone, unlinked_link
from server.services.sync.activities import flush_due_days
from server.services.sync.context import SyncBusy, SyncContext
from server.services.sync.deals import attach_deal, write_link_fields
from server.services.sync.media import delete_forgotten_files, fetch_chat_media, upload_chat_media
from server.services.sync.person_match import MatchStats, link_person
from server.services.sync.setup import ensure_setup

log = logging.getLogger(__name__)


def sync_job_id(chat_id: int) -> str:
    return f"sync:{chat_id}"


@dataclass
class SyncOutcome:
    chat_id: int
    state: str
    new_messages: int = 0
    writes: int = 0
    searches: int = 0
    media_stored: int = 0
    media_retry_at: datetime | None = None  # when a failing attachment of the chat is tried again
    uploads: int = 0
    merged_into: int | None = None
    more: bool = False  # messages arrived during the run: run again
    # for each day written with live messages it carried for the first time: how long the oldest waited
    lags: list[timedelta] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"chat {self.chat_id}: {self.state}, {self.new_messages} new, {self.writes} writes, "
            f"{self.searches} searches, {self.uploads} uploads"
        )


async def sync_chat(ctx: SyncContext, chat_id: int, *, chat: SyncChat | None = None) -> SyncOutcome:
    """One pass over the chat (``chat``: as the caller has just read it, saving a read)."""
    chat = chat if chat is not None and chat.id == chat_id else await ctx.store.chat(chat_id)
    if chat is None:
        return SyncOutcome(chat_id, "gone", merged_into=await ctx.store.successor_chat(chat_id))
    if not await ctx.store.acquire_chat(chat, owner=ctx.worker, lease=ctx.config.chat_lease, now=ctx.clock()):
        raise SyncBusy(f"chat {chat_id} is being synced elsewhere")
    renewing = asyncio.create_task(_keep_leased(ctx, chat_id))
    try:
        return await _sync(ctx, chat)
    finally:
        renewing.cancel()
        await asyncio.gather(renewing, return_exceptions=True)
        await ctx.store.release_chat(chat_id, owner=ctx.worker)


async def _keep_leased(ctx: SyncContext, chat_id: int) -> None:
    """Renew the run's lease (and its creates in flight) every third of it while the run lives, so a
    long run keeps its chat and a killed one frees it within one lease (``abandoned_chats``)."""
    every = ctx.config.chat_lease.total_seconds() / 3
    while True:
        await ctx.sleep(every)
        try:
            held = await ctx.store.renew_chat(
                chat_id, owner=ctx.worker, until=ctx.clock() + ctx.config.chat_lease
            )
        except Exception:  # the next renewal tries again; the lease lasts two more of these
            log.warning("the lease of chat %s could not be renewed", chat_id, exc_info=True)
            continue
        if not held:
            log.warning("chat %s: its lease ran out while its run went on (another run may take it)", chat_id)
            return


async def _sync(ctx: SyncContext, chat: SyncChat) -> SyncOutcome:
    settings = await ctx.store.settings(chat.company_id)
    link = await ctx.store.link(chat)
    outcome = SyncOutcome(chat.id, link.state.value)
    link, outcome.new_messages = await _absorb(ctx, chat, link, settings)
    media = await fetch_chat_media(ctx, chat)
    outcome.media_stored, outcome.media_retry_at = media.stored, media.retry_at
    await delete_forgotten_files(ctx, chat)  # whatever else the run writes, until each is done
    if _is_hidden_identity(chat):
        resolved = await _resolve_hidden(ctx, chat)
        if resolved is None:
            await _set_state(ctx, link, LinkState.WAITING_FOR_NUMBER)
            outcome.state = LinkState.WAITING_FOR_NUMBER.value
            return outcome
        if resolved.id != chat.id:
            outcome.state, outcome.merged_into = "merged", resolved.id
            return outcome
        chat = resolved
    if chat.is_group and not chat.display_name:  # named even when not imported: the settings list it
        chat = await _learn_group_name(ctx, chat)
    gate = _gate(chat, link, settings)
    if gate is not None:
        await _set_state(ctx, link, gate)
        await ctx.store.clear_all_dirty(chat.id)
        outcome.state = gate.value
        return outcome
    due_before = ctx.clock() - settings.import_frequency.batch_interval
    if not await ctx.store.has_dirty_days(chat.id, due_before=due_before):
        outcome.more = await ctx.store.has_unseen_messages(chat.id, link.cursor)
        return outcome
    settings = await ensure_setup(ctx, settings)
    stats = MatchStats()
    linked = await _link(ctx, chat, link, settings, stats, outcome)
    if linked is None:
        return outcome
    try:
        return await _write(ctx, chat, linked, settings, outcome, due_before)
    except Permanent:
        assert linked.person_id is not None
        if not await person_gone(ctx, linked.person_id):
            raise
    # The Person was deleted in Pipedrive (and no delivery said so yet): match again, write once more.
    await forget_person(ctx, chat.company_id, linked.person_id)
    unlinked = unlinked_link(await ctx.store.link(chat), linked.person_id)
    relinked = await _link(ctx, chat, unlinked, settings, stats, outcome)
    if relinked is None:
        return outcome
    return await _write(ctx, chat, relinked, settings, outcome, due_before)


async def _link(
    ctx: SyncContext,
    chat: SyncChat,
    link: ChatLink,
    settings: SyncSettings,
    stats: MatchStats,
    outcome: SyncOutcome,
) -> ChatLink | None:
    """Match the chat to its Person (recorded in ``outcome``); ``None`` when it is not linked, its days
    then dropped as there is nothing to write them to."""
    link = await link_person(ctx, chat, link, settings, stats)
    outcome.searches = stats.searches
    outcome.state = link.state.value
    if link.state is not LinkState.LINKED:
        await ctx.store.clear_all_dirty(chat.id)
        return None
    return link


async def _write(
    ctx: SyncContext,
    chat: SyncChat,
    link: ChatLink,
    settings: SyncSettings,
    outcome: SyncOutcome,
    due_before: datetime,
) -> SyncOutcome:
    """The linked chat's Deal or Lead, due days, attachments and link fields."""
    link = await attach_deal(ctx, chat, link, settings)
    flushed = await flush_due_days(ctx, chat, link, settings, due_before=due_before)
    outcome.writes += flushed.writes
    outcome.lags.extend(flushed.lags)
    outcome.uploads += await upload_chat_media(ctx, chat, link)
    link = await write_link_fields(ctx, chat, link, settings)
    outcome.more = await ctx.store.has_unseen_messages(chat.id, link.cursor)
    return outcome


async def _absorb(
    ctx: SyncContext, chat: SyncChat, link: ChatLink, settings: SyncSettings
) -> tuple[ChatLink, int]:
    """Mark the days of messages stored since ``link.cursor`` dirty and move the cursor past them; mark
    the days of messages edited or deleted since the last run dirty too."""
    zone = company_zone(settings.timezone)
    await absorb_changes(ctx, chat.id, zone)
    messages = await ctx.store.messages_after(chat.id, link.cursor)
    if not messages:
        return link, 0
    days = {local_day(message.sent_at, zone) for message in messages}
    arrived: dict[date, datetime] = {}  # each day's oldest live message, for the lag of its write
    for message in messages:
        if message.received_at is not None:
            day = local_day(message.sent_at, zone)
            arrived[day] = min(arrived.get(day, message.received_at), message.received_at)
    cursor = max(message.id for message in messages)
    await ctx.store.mark_days_dirty(chat.id, days, now=ctx.clock(), cursor=cursor, arrived=arrived)
    return replace(link, cursor=cursor), len(messages)


def _gate(chat: SyncChat, link: ChatLink, settings: SyncSettings) -> LinkState | None:
    """Why nothing of this chat is written, or ``None`` when it is logged."""
    if link.excluded or settings.excludes(chat.e164):
        return LinkState.EXCLUDED
    if chat.is_group:
        return None if settings.groups_enabled else LinkState.GROUP_NOT_IMPORTED
    if chat.e164 is None:
        return LinkState.NOT_A_CONTACT
    return None


def _is_hidden_identity(chat: SyncChat) -> bool:
    return not chat.is_group and not chat.e164 and is_lid(chat.chat_key)


async def _resolve_hidden(ctx: SyncContext, chat: SyncChat) -> SyncChat | None:
    """Ask the transport for the number behind a ``@lid`` chat; merge the chat into the number's chat."""
    if ctx.transport is None or not ctx.transport.capabilities.lid_resolution:
        return None
    peer = await ctx.transport.resolve_lid(chat.session_name, chat.chat_key)
    if not peer.e164:
        return None
    phone_key = phone_chat_key(peer.e164)
    await ctx.inbox.learn_identity(chat.account_id, chat.chat_key, phone_key, peer.e164)
    return await ctx.store.chat_by_key(chat.account_id, phone_key)


async def _learn_group_name(ctx: SyncContext, chat: SyncChat) -> SyncChat:
    """Ask the gateway for the group's subject (messages name only the sender) and keep it on the chat."""
    if ctx.transport is None:
        return chat
    try:
        info = await ctx.transport.group_info(chat.session_name, chat.chat_key)
    except (NotFound, InvalidInput):
        return chat
    subject = (info.subject or "").strip()[:255]
    if not subject:
        return chat
    peer = Peer(chat_key=chat.chat_key, is_group=True, display_name=subject)
    await ctx.inbox.upsert_chat(chat.account_id, peer, datetime.min.replace(tzinfo=UTC))
    return replace(chat, display_name=subject)


async def _set_state(ctx: SyncContext, link: ChatLink, state: LinkState) -> None:
    if link.state is not state:
        await ctx.store.save_link(replace(link, state=state))


def is_busy(error: BaseException) -> bool:
    return isinstance(error, SyncBusy)
