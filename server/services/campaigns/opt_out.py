"""Opting out: a contact's reply that is one of the company's stop words is stored as an opt-out (once
per number) and, when WaPipe knows the number's Person, the ``campaign_mark_opted_out`` job is queued to
record it in Pipedrive too (job id ``opt-out:<company>:<person>``). Every later campaign skips the number
and the Person; a running one skips them from its next message on. A reply from a chat known only by its
LID waits for its number first (``waiting``)."""

from __future__ import annotations

from datetime import datetime

from server.domain.ports.campaigns import OptOutStore
from server.domain.ports.queue import JobQueue
from server.domain.ports.storage import AuditLog
from server.domain.stop_words import DEFAULT_STOP_WORDS, matching_stop_word

MARK_JOB = "campaign_mark_opted_out"


def mark_job_id(company_id: int, person_id: int) -> str:
    return f"opt-out:{company_id}:{person_id}"


async def company_stop_words(opt_outs: OptOutStore, company_id: int) -> tuple[str, ...]:
    """The company's own stop words, else the defaults (a company that never changed them)."""
    own = await opt_outs.stop_words(company_id)
    return DEFAULT_STOP_WORDS if own is None else own


async def stop_word_of(opt_outs: OptOutStore, company_id: int, text: str) -> str | None:
    """The company's stop word the reply is, or ``None``."""
    return matching_stop_word(text, await company_stop_words(opt_outs, company_id))


async def note_reply(
    opt_outs: OptOutStore,
    queue: JobQueue,
    company_id: int,
    e164: str,
    text: str,
    at: datetime,
    audit: AuditLog | None = None,
) -> str | None:
    """The stop word the reply is (and the opt-out stored), or ``None`` when it is none."""
    word = await stop_word_of(opt_outs, company_id, text)
    if word is not None:
        await record_opt_out(opt_outs, queue, company_id, e164, word, at, audit)
    return word


async def record_opt_out(
    opt_outs: OptOutStore,
    queue: JobQueue,
    company_id: int,
    e164: str,
    word: str,
    at: datetime,
    audit: AuditLog | None = None,
) -> bool:
    """Stores the number's opt-out (``word``: the stop word it sent), audits it and queues the Person's
    mark in Pipedrive; whether it is new (a number already opted out changes nothing)."""
    person_id = await opt_outs.person_for(company_id, e164)
    if not await opt_outs.record(company_id, e164, person_id, word, at):
        return False
    if audit is not None:
        details = {"word": word, "person": person_id}
        await audit.record(company_id, 0, "campaign.opt_out", e164, details)
    if person_id is not None:
        await queue.enqueue(
            MARK_JOB,
            company_id,
            person_id,
            at.date().isoformat(),
            job_id=mark_job_id(company_id, person_id),
        )
    return True
