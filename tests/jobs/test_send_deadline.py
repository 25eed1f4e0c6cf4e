"""A send that hangs (a gateway that neither answers nor fails) is given up at its deadline and retried, on
arq and the in-process runner alike, and its message still goes out once: a gateway that took the message
before it hung has it found by the retry, not sent again. One that never answers fails by name after the
job's tries. A send job that fails another way frees its id at once, so it can be queued again.

The deadline is a bound on a hung coroutine, measured on the event loop's clock: these tests set it to
50 ms (``DEADLINE``) instead of skipping it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from server.domain.clock import ControlledClock
from server.domain.models import OutboxEntry
from server.domain.whatsapp import OutboundMessage, SendResult
from server.jobs.deps import job_ctx
from server.jobs.functions import FUNCTIONS
from server.jobs.inprocess import InProcessQueue
from server.jobs.send import MAX_SEND_TRIES
from server.jobs.timing import JobTimings
from tests.job_deps import fake_deps
from tests.jobs.conftest import MakeHarness
from tests.jobs.test_send_mutants import ACCOUNT, FakeAccounts, FakeInbox, FakeInstallations, entry

DEADLINE = timedelta(milliseconds=50)
QUICK = JobTimings(send_deadline=DEADLINE, retry_base=timedelta(milliseconds=10))


@dataclass
class Outbox:
    """The outbox's rows as the send job changes them."""

    rows: dict[int, OutboxEntry]

    async def by_id(self, outbox_id: int) -> OutboxEntry | None:
        return self.rows.get(outbox_id)

    async def start_attempt(self, outbox_id: int, at: datetime) -> None:
        row = self.rows[outbox_id]
        self.rows[outbox_id] = replace(
            row, status="sending", attempts=row.attempts + 1, attempt_started_at=at
        )

    async def mark_sent(self, outbox_id: int, wa_message_id: str, message_key: str) -> None:
        self.rows[outbox_id] = replace(
            self.rows[outbox_id], status="sent", wa_message_id=wa_message_id, message_key=message_key
        )

    async def mark_failed(self, outbox_id: int, reason: str, message: str) -> None:
        self.rows[outbox_id] = replace(
            self.rows[outbox_id], status="failed", error_reason=reason, error_message=message
        )


@dataclass
class HangingGateway:
    """A WhatsApp gateway whose first ``hangs`` sends never answer; it takes the message before hanging
    when ``takes_first``. ``phone`` is what the contact's phone got."""

    hangs: int
    takes_first: bool = False
    fails_first: int = 0  # sends before the hanging ones that crash the job after the gateway took them
    phone: list[str] = field(default_factory=list)
    sends: int = 0
    looked: int = 0

    def answer(self, account_id: str, message: OutboundMessage, n: int) -> SendResult:
        return SendResult(
            account_id=account_id,
            client_ref=message.client_ref,
            wa_message_id=f"3EB0{n:04d}",
            chat_key="4917655501234@s.whatsapp.net",
            accepted_at=datetime.now().astimezone(),
        )

    async def send(self, account_id: str, message: OutboundMessage) -> SendResult:
        self.sends += 1
        if self.sends <= self.fails_first:
            self.phone.append(message.text or "")
            raise RuntimeError("the gateway's answer could not be read")
        if self.sends <= self.fails_first + self.hangs:
            if self.takes_first and self.sends == 1:
                self.phone.append(message.text or "")
            await asyncio.Event().wait()  # never answers
        self.phone.append(message.text or "")
        return self.answer(account_id, message, len(self.phone))

    async def find_sent(
        self, account_id: str, message: OutboundMessage, *, since: datetime
    ) -> SendResult | None:
        self.looked += 1
        return self.answer(account_id, message, 1) if self.phone else None


def send_ctx(outbox: Outbox, gateway: HangingGateway, **changes: Any) -> dict[str, Any]:
    deps = fake_deps(
        outbox=outbox,
        accounts=FakeAccounts([ACCOUNT]),
        transports={"waha": gateway},
        pipedrive=None,
        inbox=FakeInbox(),
        installations=FakeInstallations(),
        timings=QUICK,
        **changes,
    )
    return job_ctx(deps)


async def test_a_send_that_hangs_after_the_gateway_took_it_is_retried_and_found_not_sent_again(
    make_harness: MakeHarness,
) -> None:
    outbox = Outbox({17: entry()})
    gateway = HangingGateway(hangs=1, takes_first=True)
    h = make_harness(FUNCTIONS, ctx=send_ctx(outbox, gateway))
    await h.queue.enqueue("send_outbox", 17, job_id="send:17")
    await h.run()
    assert gateway.phone == ["Hallo Anna"]  # once
    assert (gateway.sends, gateway.looked) == (1, 1)  # the retry looked, found it, and sent nothing
    row = outbox.rows[17]
    assert (row.status, row.wa_message_id) == ("sent", "3EB00001")


async def test_a_send_that_hung_before_the_gateway_took_it_is_sent_by_the_retry(
    make_harness: MakeHarness,
) -> None:
    outbox = Outbox({17: entry()})
    gateway = HangingGateway(hangs=2)
    h = make_harness(FUNCTIONS, ctx=send_ctx(outbox, gateway))
    await h.queue.enqueue("send_outbox", 17, job_id="send:17")
    await h.run()
    assert gateway.phone == ["Hallo Anna"]
    assert (gateway.sends, gateway.looked) == (3, 2)  # each retry looked first
    assert outbox.rows[17].status == "sent"


async def test_a_gateway_that_never_answers_fails_the_row_by_name_after_the_jobs_tries() -> None:
    clock = ControlledClock()  # the retries' backoff is skipped; each try's deadline is not
    outbox = Outbox({17: entry()})
    gateway = HangingGateway(hangs=MAX_SEND_TRIES)
    runner = InProcessQueue(FUNCTIONS, ctx=send_ctx(outbox, gateway, clock=clock), clock=clock)
    await runner.enqueue("send_outbox", 17, job_id="send:17")
    async with asyncio.timeout(10):
        await runner.drain()
    row = outbox.rows[17]
    assert (row.status, row.error_reason) == ("failed", "send_timed_out")
    assert row.error_message == "WhatsApp did not answer within 0.05 seconds (gave up after 8 tries)"
    assert gateway.sends == MAX_SEND_TRIES and gateway.phone == []
    assert [o.outcome for o in runner.outcomes] == ["complete"]


async def test_a_send_job_that_fails_another_way_frees_its_id_and_the_next_run_finds_it_sent(
    make_harness: MakeHarness,
) -> None:
    """The gateway took the message, then the job crashed: it fails, as arq fails it, and its id is free at
    once, so whoever queues it again (a campaign's next look) has it looked up, not sent twice."""
    outbox = Outbox({17: entry()})
    gateway = HangingGateway(hangs=0, fails_first=1)
    h = make_harness(FUNCTIONS, ctx=send_ctx(outbox, gateway))
    assert await h.queue.enqueue("send_outbox", 17, job_id="send:17") is True
    await h.run()
    assert outbox.rows[17].status == "sending" and gateway.phone == ["Hallo Anna"]
    assert await h.queue.enqueue("send_outbox", 17, job_id="send:17") is True  # not held for an hour
    await h.run()
    assert gateway.phone == ["Hallo Anna"] and gateway.sends == 1
    assert outbox.rows[17].status == "sent"
