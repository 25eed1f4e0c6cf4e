"""Opt-outs waiting for their number. WhatsApp may name a one-to-one chat only by the contact's LID
(``<n>@lid``) and no phone number; opt-outs are kept by number, since campaigns are sent to numbers. So a
stop word from such a chat is never dropped: it is kept until the number behind the LID is known.

- ``note_lid_reply``: is the reply a stop word? Then the number WaPipe has learnt for the LID in the
  company's chats (a webhook's alternate id, the sync's look-up), else, with ``ask_gateway``, the number's
  gateway (``WhatsAppTransport.resolve_lid``). Found: the opt-out is recorded as any other
  (``opt_out.record_opt_out``, dated when the reply was sent). Not found: it is kept (``WaitingOptOutStore``,
  once per company and LID) and the outcome says ``waiting``.
- ``settle_waiting`` (the ``settle_waiting_opt_outs`` cron): records every waiting opt-out whose LID a
  chat of its own company now knows, and asks the gateway again for the ones due, each at most every
  ``recheck``.

A waiting opt-out goes only once recorded by its number, or with its company's purge.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from server.domain.errors import Transient, WaPipeError
from server.domain.ports.campaigns import OptOutStore, WaitingOptOut, WaitingOptOutStore
from server.domain.ports.queue import JobQueue
from server.domain.ports.storage import AccountStore, AuditLog
from server.domain.ports.whatsapp import WhatsAppTransport
from server.domain.stop_words import LidReply
from server.services.campaigns.opt_out import record_opt_out, stop_word_of

log = logging.getLogger(__name__)
SETTLE_BATCH = 100  # waiting opt-outs looked at per run of the cron, of each kind


class LidOutcome(StrEnum):
    NO_STOP_WORD = "no stop word"
    OPTED_OUT = "opted out"
    WAITING = "waiting for its number"


@dataclass(frozen=True)
class WaitingPorts:
    opt_outs: OptOutStore
    waiting: WaitingOptOutStore
    accounts: AccountStore
    transports: Mapping[str, WhatsAppTransport]
    queue: JobQueue
    audit: AuditLog | None = None


async def note_lid_reply(
    ports: WaitingPorts, reply: LidReply, *, now: datetime, recheck: timedelta, ask_gateway: bool
) -> LidOutcome:
    """The reply's stop word recorded as an opt-out by the number behind its LID, or kept waiting for it.
    A gateway's transient failure is raised (after the stop word is kept): the caller tries again."""
    word = await stop_word_of(ports.opt_outs, reply.company_id, reply.text)
    if word is None:
        return LidOutcome.NO_STOP_WORD
    number = await ports.waiting.number_for_lid(reply.company_id, reply.lid)
    if number is None:
        await ports.waiting.keep(reply.company_id, reply.account_id, reply.lid, word, reply.at, now + recheck)
        if ask_gateway:
            number = await number_from_gateway(ports, reply.company_id, reply.account_id, reply.lid)
    if number is None:
        return LidOutcome.WAITING
    await _record(ports, reply.company_id, reply.lid, number, word, reply.at)
    return LidOutcome.OPTED_OUT


async def settle_waiting(
    ports: WaitingPorts, *, now: datetime, recheck: timedelta, batch: int = SETTLE_BATCH
) -> int:
    """Records the waiting opt-outs whose number is known now; how many."""
    recorded = 0
    for waiting, number in await ports.waiting.with_numbers(batch):
        await _record(ports, waiting.company_id, waiting.lid, number, waiting.word, waiting.at)
        recorded += 1
    for waiting in await ports.waiting.due(now, batch):
        found = await _ask_again(ports, waiting)
        if found is None:
            await ports.waiting.asked(waiting.company_id, waiting.id, now + recheck)
            continue
        await _record(ports, waiting.company_id, waiting.lid, found, waiting.word, waiting.at)
        recorded += 1
    return recorded


async def number_from_gateway(ports: WaitingPorts, company_id: int, account_id: int, lid: str) -> str | None:
    """The number the gateway of the company's number ``account_id`` knows for ``lid``; ``None`` when it
    does not know it (yet), cannot look LIDs up, or the number is gone. Transient failures are raised."""
    account = await ports.accounts.get(company_id, account_id)
    if account is None:
        return None
    transport = ports.transports.get(account.transport)
    if transport is None or not transport.capabilities.lid_resolution:
        return None
    try:
        peer = await transport.resolve_lid(account.session_name, lid)
    except Transient:
        raise
    except WaPipeError as error:  # refused (not a LID, the session is gone): the chats may still learn it
        log.warning(
            "the gateway could not look a LID up", extra={"account": account_id, "reason": error.reason}
        )
        return None
    return peer.e164


async def _ask_again(ports: WaitingPorts, waiting: WaitingOptOut) -> str | None:
    try:
        return await number_from_gateway(ports, waiting.company_id, waiting.account_id, waiting.lid)
    except Transient as error:  # asked again at the next re-check
        log.info("a waiting opt-out's gateway failed for now", extra={"reason": error.reason})
        return None


async def _record(
    ports: WaitingPorts, company_id: int, lid: str, number: str, word: str, at: datetime
) -> None:
    await record_opt_out(ports.opt_outs, ports.queue, company_id, number, word, at, ports.audit)
    await ports.waiting.settle(company_id, lid)
