"""Catch-up: what a linked number sent and received while WaPipe did not hear it, read from the gateway's
history and fed through the same idempotent ingest path as webhooks.

This module owns the decisions:

- **Since when.** From the account's ``caught_up_until`` (every message sent before it is stored) or its
  newest stored message, whichever is earlier, less an overlap, as clocks differ; a number no catch-up has
  completed for yet reads the first-import window. Never from the newest stored message alone: messages
  that arrived live between a reconnect and its catch-up's run would put that after the gap.
- **How much one run reads.** A catch-up is a chain of runs (``CatchUpChain``): a run reads pages until
  none is left, it has read ``HISTORY_PAGES_PER_RUN``, or its time budget is spent (well inside the job's
  timeout); the next run, a fresh job, reads from the same ``since`` on from the page it stopped at. The
  gateway lists history newest first, so messages arriving meanwhile only push pages down: the next run
  reads a few again (stored once) and skips none.
- **When the history is complete.** A run that finds no page left marks the account caught up to when its
  chain began, if the session was connected then and is still, and nothing lowered the mark meanwhile
  (a session seen leaving the connected state does: ``InboxStore.record_session``). A failed or stopped
  run marks nothing, so the next catch-up reads from the same place.
- **The note** a watchdog run leaves on the number when it found messages the webhooks missed.

The job (``server.jobs.inbound.catch_up_account``) acts on the outcome: it queues the chats' sync, the
chain's next run, and a retry after a transient failure.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from server.domain.clock import Clock
from server.domain.errors import Transient, WaPipeError
from server.domain.models import Account
from server.domain.ports.storage import AccountStore, InboxStore
from server.domain.ports.whatsapp import WhatsAppTransport
from server.domain.stop_words import LidReply
from server.domain.whatsapp import SessionStatus
from server.services.ingest import ingest_events

log = logging.getLogger(__name__)

FIRST_IMPORT = timedelta(days=7)  # how far back a newly linked number's history is imported
CATCH_UP_OVERLAP = timedelta(minutes=5)  # read a little before where the history was complete: clocks differ
HISTORY_PAGE = 100
HISTORY_PAGES_PER_RUN = 50


@dataclass(frozen=True, slots=True)
class CatchUpChain:
    """One catch-up from its first run to its last; each run hands the next its own copy (a job argument)."""

    since: datetime  # every run reads the messages sent from this time on
    began: datetime  # when the first run started: where the history is complete once no page is left
    mark_was: datetime | None  # the account's ``caught_up_until`` then: the mark moves only if still this
    may_mark: bool  # the session was connected when the chain began (else the gap may not be over)
    offset: int = 0  # where the next run's first page starts

    def as_job_argument(self) -> dict[str, Any]:
        """Plain values, so a queued run survives a WaPipe upgrade that changes this class."""
        return {
            "since": self.since.isoformat(),
            "began": self.began.isoformat(),
            "mark_was": self.mark_was.isoformat() if self.mark_was else None,
            "may_mark": self.may_mark,
            "offset": self.offset,
        }

    @classmethod
    def from_job_argument(cls, value: Mapping[str, Any]) -> CatchUpChain:
        mark_was = value.get("mark_was")
        return cls(
            since=datetime.fromisoformat(value["since"]),
            began=datetime.fromisoformat(value["began"]),
            mark_was=datetime.fromisoformat(mark_was) if mark_was else None,
            may_mark=bool(value["may_mark"]),
            offset=int(value["offset"]),
        )


@dataclass
class CatchUpOutcome:
    """What one catch-up run found, and what the job is to do about it."""

    summary: str  # the job's result
    chats: set[int] = field(default_factory=set)  # chats with new messages: to sync
    media_chats: set[int] = field(default_factory=set)  # of those, the ones whose new messages carry media
    next: CatchUpChain | None = None  # pages remain after this run's share: continue in a fresh run
    note: str = ""  # the status detail recorded on the number (a watchdog run that recovered messages)
    transient: Transient | None = None  # a page failed for now: retry (``chats`` holds the pages before)
    short_replies: list[tuple[int, str, str]] = field(default_factory=list)  # stop-word candidates (ingest)
    lid_replies: list[LidReply] = field(default_factory=list)  # the same from chats known only by a LID


async def catch_up(
    account_id: int,
    trigger: str,
    *,
    accounts: AccountStore,
    inbox: InboxStore,
    transports: Mapping[str, WhatsAppTransport],
    clock: Clock,
    budget: timedelta,
    chain: CatchUpChain | None = None,
) -> CatchUpOutcome:
    """One run of a catch-up: a new chain's first (``chain`` ``None``) or the next run of ``chain``.

    ``trigger`` is ``reconnect`` (the session came back: a gap is expected) or ``watchdog`` (a routine
    check of a session that looked fine: anything found was missed by webhooks). ``budget``: the run
    reads no further page once this much time has passed since it started."""
    account = await accounts.by_id(account_id)
    if account is None:
        return CatchUpOutcome("account gone")
    transport = transports[account.transport]
    if not transport.capabilities.history_sync:
        return CatchUpOutcome("transport keeps no history")
    started = clock.now()
    if chain is None:
        chain = await _begin(account, inbox, started)
    found = CatchUpOutcome("")
    new = duplicates = 0
    offset: int | None = chain.offset
    pages = 0
    try:
        while offset is not None and pages < HISTORY_PAGES_PER_RUN and clock.now() - started < budget:
            batch = await transport.history(
                account.session_name, None, since=chain.since, limit=HISTORY_PAGE, offset=offset
            )
            outcome = await ingest_events([batch], transport=account.transport, store=inbox)
            found.chats.update(chat_id for _, chat_id in outcome.new_messages)
            found.media_chats.update(outcome.media_chats)
            found.short_replies.extend(outcome.short_replies)
            found.lid_replies.extend(outcome.lid_replies)
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
    if offset is not None:  # more than one run's worth, or the time is up: continue in a fresh run
        found.next = replace(chain, offset=offset)
    elif chain.may_mark:
        await accounts.mark_caught_up(account.id, chain.began, was=chain.mark_was)
    if new and trigger == "watchdog":
        # The session looked fine, yet messages reached history only: its webhooks are not arriving.
        found.note = f"{new} messages missed by webhooks were recovered at {clock.now():%H:%M} UTC"
        await accounts.set_status(account.id, account.status, found.note)
        log.warning("catch-up recovered missed messages", extra={"account": account_id, "count": new})
    found.summary = f"{new} new, {duplicates} already stored" + ("; more to read" if found.next else "")
    return found


async def _begin(account: Account, inbox: InboxStore, now: datetime) -> CatchUpChain:
    """A new chain: since when to read, decided once for all its runs."""
    mark = account.caught_up_until
    if mark is None:  # no catch-up has completed: the first link's window, whatever arrived live since
        since = now - FIRST_IMPORT
    else:
        newest = await inbox.last_message_at(account.id)
        # The earlier of the two: should the mark have passed a gap nobody has noticed yet, the newest stored
        # message is still from before that gap.
        since = min(mark, newest or mark) - CATCH_UP_OVERLAP
    connected = account.status == SessionStatus.CONNECTED.value
    return CatchUpChain(since=since, began=now, mark_was=mark, may_mark=connected)
