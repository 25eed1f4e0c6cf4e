"""Catch-up: what a linked number sent and received while WaPipe did not hear it, read from the gateway's
history and fed through the same idempotent ingest path as webhooks.

This module owns the decisions: since when to read (the newest stored message less an overlap, as clocks
differ; the first-import window for a number with nothing stored), how many pages one run reads, and the
note a watchdog run leaves on the number when it found messages the webhooks missed. The job
(``server.jobs.inbound.catch_up_account``) acts on the outcome: it queues the chats' sync, a fresh run
when pages remain, and a retry after a transient failure.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from server.domain.clock import Clock
from server.domain.errors import Transient, WaPipeError
from server.domain.ports.storage import AccountStore, InboxStore
from server.domain.ports.whatsapp import WhatsAppTransport
from server.services.ingest import ingest_events

log = logging.getLogger(__name__)

FIRST_IMPORT = timedelta(days=7)  # how far back a newly linked number's history is imported
CATCH_UP_OVERLAP = timedelta(minutes=5)  # re-read a little before the newest message: clocks differ
HISTORY_PAGE = 100
HISTORY_PAGES_PER_RUN = 50


@dataclass
class CatchUpOutcome:
    """What one catch-up run found, and what the job is to do about it."""

    summary: str  # the job's result
    chats: set[int] = field(default_factory=set)  # chats with new messages: to sync
    media_chats: set[int] = field(default_factory=set)  # of those, the ones whose new messages carry media
    more: bool = False  # pages remain after this run's share: continue in a fresh run
    note: str = ""  # the status detail recorded on the number (a watchdog run that recovered messages)
    transient: Transient | None = None  # a page failed for now: retry (``chats`` holds the pages before)
    short_replies: list[tuple[int, str, str]] = field(default_factory=list)  # stop-word candidates (ingest)


async def catch_up(
    account_id: int,
    trigger: str,
    *,
    accounts: AccountStore,
    inbox: InboxStore,
    transports: Mapping[str, WhatsAppTransport],
    clock: Clock,
) -> CatchUpOutcome:
    """Read the number's history since the newest stored message (or the first import window) and ingest it.

    ``trigger`` is ``reconnect`` (the session came back: a gap is expected) or ``watchdog`` (a routine
    check of a session that looked fine: anything found was missed by webhooks)."""
    account = await accounts.by_id(account_id)
    if account is None:
        return CatchUpOutcome("account gone")
    transport = transports[account.transport]
    if not transport.capabilities.history_sync:
        return CatchUpOutcome("transport keeps no history")
    newest = await inbox.last_message_at(account_id)
    since = newest - CATCH_UP_OVERLAP if newest else clock.now() - FIRST_IMPORT
    found = CatchUpOutcome("")
    new = duplicates = 0
    offset: int | None = 0
    pages = 0
    try:
        while offset is not None and pages < HISTORY_PAGES_PER_RUN:
            batch = await transport.history(
                account.session_name, None, since=since, limit=HISTORY_PAGE, offset=offset
            )
            outcome = await ingest_events([batch], transport=account.transport, store=inbox)
            found.chats.update(chat_id for _, chat_id in outcome.new_messages)
            found.media_chats.update(outcome.media_chats)
            found.short_replies.extend(outcome.short_replies)
            new += len(outcome.new_messages)
            duplicates += outcome.duplicates
            offset = batch.next_offset
            pages += 1
    except Transient as error:
        found.transient = error
        return found
    except WaPipeError as error:
        log.warning("catch-up stopped", extra={"account": account_id, "reason": error.reason})
        found.summary = f"stopped: {error.reason}"
        return found
    found.more = offset is not None  # more than one run's worth
    if new and trigger == "watchdog":
        # The session looked fine, yet messages reached history only: its webhooks are not arriving.
        found.note = f"{new} messages missed by webhooks were recovered at {clock.now():%H:%M} UTC"
        await accounts.set_status(account.id, account.status, found.note)
        log.warning("catch-up recovered missed messages", extra={"account": account_id, "count": new})
    found.summary = f"{new} new, {duplicates} already stored"
    return found
