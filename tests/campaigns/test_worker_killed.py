"""A campaign whose job runner is killed mid-run still writes to every recipient exactly once.

The WAHA sandbox is served on loopback by the test; WaPipe's job runner (the in-process runner with the
real jobs, over a SQLite file) runs in a child process. The gateway SIGKILLs that process as it accepts the
10th of 30 messages, before the answer reaches WaPipe: the row of that message says "sending", and the
send jobs still queued in the dead process's memory are gone. A second process starts as a restart would
(its clock past the campaign watchdog's staleness), the watchdog starts a new run, and it runs until the
campaign is finished. Reconciled on the gateway: one message per recipient number, none twice, none lost.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import uvicorn
from cryptography.fernet import Fernet
from sqlalchemy import insert

from sandbox.waha.app import create_app as create_waha
from sandbox.waha.clock import Clock as WahaClock
from sandbox.waha.state import SandboxState as WahaState
from server.crypto import SecretBox
from server.domain.campaigns import CampaignSource, CampaignStatus, Compose, FromMode, Pacing
from server.domain.clock import ControlledClock
from server.domain.ports.recipients import ListKind
from server.jobs.campaigns import campaign_watchdog, campaigns_for
from server.jobs.context import job_deps_for
from server.jobs.deps import job_ctx
from server.jobs.functions import FUNCTIONS
from server.jobs.inprocess import InProcessQueue
from server.services.campaigns.tick import tick
from server.storage.accounts import SqlAccountStore
from server.storage.campaigns import SqlCampaignStore
from server.storage.companies import SqlCompanyStore
from server.storage.engine import make_async_engine
from server.storage.installations import SqlInstallationStore
from server.storage.tables import Installation
from server.whatsapp.waha import WahaTransport
from tests.campaigns.conftest import CampaignWorld, person

SESSION = "wp-killed"
API_KEY = "killed-worker-key"
OUR_NUMBER = "4915100000009"
USER = 71
RECIPIENTS = 30
KILL_AT = 10
TEXT = "Hallo {{person.first_name}}, unser Angebot"
WAIT_S = 60  # a generous bound on a child's life: the test fails instead of hanging


def numbers() -> list[str]:
    return [f"+49176{20_000_000 + i * 7919:08d}" for i in range(RECIPIENTS)]


class KillOnAccept:
    """The gateway's app; SIGKILLs ``pid`` as it accepts the ``after``-th send, before answering."""

    def __init__(self, app: Any, after: int) -> None:
        self.app, self.after, self.seen, self.pid = app, after, 0, 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/api/sendText"):
            await self.app(scope, receive, send)
            return

        killed = False

        async def answering(message: Any) -> None:
            nonlocal killed
            if message["type"] == "http.response.start" and message["status"] < 300:
                self.seen += 1
                if self.seen == self.after and self.pid:
                    os.kill(self.pid, signal.SIGKILL)
                    killed = True
            if not killed:  # the answer to the killed process never leaves
                await send(message)

        await self.app(scope, receive, answering)


def job_runner(phase: str, db_url: str, waha_url: str, ids: dict[str, int]) -> None:
    """The child process (forked): WaPipe's jobs on their own event loop and database connections."""
    asyncio.events._set_running_loop(None)  # forked from inside the test's running loop
    asyncio.run(_run_jobs(phase, db_url, waha_url, ids))


async def _run_jobs(phase: str, db_url: str, waha_url: str, ids: dict[str, int]) -> None:
    engine = make_async_engine(db_url)
    clock = ControlledClock()
    headers = {"X-Api-Key": API_KEY}
    async with httpx.AsyncClient(base_url=waha_url, headers=headers, timeout=10) as http:
        transport = WahaTransport(http, webhook_url="http://127.0.0.1:9/waha", hmac_key="k" * 32)
        queue = InProcessQueue(FUNCTIONS, clock=clock)
        deps = job_deps_for(engine, queue=queue, kind="test", transports={"waha": transport}, clock=clock)
        box = SecretBox([Fernet.generate_key().decode()])
        deps = replace(deps, installations=SqlInstallationStore(engine, box))
        queue.ctx.update(job_ctx(deps))
        if phase == "first":
            compose = Compose(TEXT, FromMode.FIXED, (ids["account"],))
            await campaigns_for(deps).start(ids["company"], USER, ids["campaign"], compose, Pacing.off())
            await queue.drain()
        else:  # a restart: the time until the watchdog finds the run overdue has passed
            clock.advance((deps.timings.campaign_stale + timedelta(minutes=1)).total_seconds())
            await campaign_watchdog(queue.ctx)
            await queue.drain(until=clock.now() + timedelta(minutes=10))
    await engine.dispose()


async def _prepare(db_url: str) -> dict[str, int]:
    """A company with a connected number, its admin's installation, and a draft campaign to 30 Persons."""
    engine = make_async_engine(db_url)
    company = await SqlCompanyStore(engine).upsert(5101, name="Acme", api_domain="", timezone="Europe/Berlin")
    accounts = SqlAccountStore(engine)
    account = await accounts.create(
        company_id=company.id, owner_user_id=USER, transport="waha", session_name=SESSION
    )
    await accounts.set_number(account.id, "+" + OUR_NUMBER, SESSION)
    await accounts.set_status(account.id, "connected")
    now = datetime.now(UTC)
    async with engine.begin() as connection:
        await connection.execute(
            insert(Installation.__table__).values(  # type: ignore[attr-defined]
                company_id=company.id,
                pipedrive_user_id=USER,
                email="admin@acme.test",
                is_admin=True,
                status="active",
                name="Admin",
                scopes="",
                api_domain="",
                status_detail="",
                access_token_encrypted="",
                refresh_token_encrypted="",
                created_at=now,
                updated_at=now,
            )
        )
    records = [person(100 + i, f"Kunde{i} Test", number) for i, number in enumerate(numbers())]
    source = CampaignSource(ListKind.PERSON, ids=tuple(r.person_id for r in records))
    campaign = await SqlCampaignStore(engine).create(company.id, USER, "Killed", source, records, now)
    await engine.dispose()
    return {"company": company.id, "account": account.id, "campaign": campaign.id}


async def _child(phase: str, db_url: str, waha_url: str, ids: dict[str, int]) -> Any:
    process = multiprocessing.get_context("fork").Process(
        target=job_runner, args=(phase, db_url, waha_url, ids), daemon=True
    )
    process.start()
    return process


async def _ended(process: Any) -> int:
    """The child's exit code, once it has ended (the gateway goes on answering meanwhile)."""
    ended = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_reader(process.sentinel, ended.set)
    try:
        async with asyncio.timeout(WAIT_S):
            await ended.wait()
    finally:
        loop.remove_reader(process.sentinel)
    process.join()
    return int(process.exitcode)


async def test_a_worker_killed_mid_campaign_leaves_every_recipient_exactly_one_message(
    migrated_sqlite: str, unused_tcp_port: int
) -> None:
    ids = await _prepare(migrated_sqlite)
    waha = WahaState(clock=WahaClock(follow_wall_clock=True), seed_history=False)
    waha.create_session(SESSION)
    await waha.elapse(2)  # the session shows its QR code
    waha.scan(SESSION, OUR_NUMBER)
    await waha.settle()
    gateway = KillOnAccept(create_waha(waha, api_key=API_KEY), after=KILL_AT)
    server = uvicorn.Server(
        uvicorn.Config(gateway, host="127.0.0.1", port=unused_tcp_port, log_config=None, lifespan="off")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        assert not serving.done(), "the gateway stopped before it started"
        await asyncio.sleep(0.01)
    url = f"http://127.0.0.1:{unused_tcp_port}"
    try:
        first = await _child("first", migrated_sqlite, url, ids)
        gateway.pid = first.pid
        assert await _ended(first) == -signal.SIGKILL
        assert gateway.seen == KILL_AT  # killed as the 10th message was accepted, nothing after
        second = await _child("resume", migrated_sqlite, url, ids)
        assert await _ended(second) == 0
    finally:
        server.should_exit = True
        await serving

    sent = Counter("+" + entry.chat_id.split("@")[0] for entry in waha.session(SESSION).outbox)
    assert sent == Counter(numbers())  # each recipient once: none lost, none twice
    engine = make_async_engine(migrated_sqlite)
    campaign = await SqlCampaignStore(engine).get(ids["company"], ids["campaign"])
    await engine.dispose()
    assert campaign is not None and campaign.status is CampaignStatus.FINISHED


async def test_a_run_queues_again_the_send_jobs_a_lost_queue_took(world: CampaignWorld) -> None:
    for i, number in enumerate(numbers()[:3]):
        world.pipedrive.records[i + 1] = person(i + 1, f"Kunde{i} Test", number)
    source = CampaignSource(ListKind.PERSON, ids=(1, 2, 3))
    campaign = await world.campaigns.create(world.company_id, 7, source)
    compose = Compose(TEXT, FromMode.FIXED, (world.anna,))
    await world.campaigns.start(world.company_id, 7, campaign.id, compose, Pacing.off())
    ports = world.ports.tick_ports()
    first = await tick(ports, campaign.id, 1)
    assert first.queued == 3
    rows = await world.store.recipients(world.company_id, campaign.id)
    outbox_ids = [r.outbox_id for r in rows]
    assert None not in outbox_ids
    await world.outbox.mark_sent(rows[0].outbox_id or 0, "wa-1", "key-1")
    world.queue.jobs.clear()  # the queue is lost (a killed in-process runner, Redis flushed)
    world.queue.taken.clear()
    again = await tick(ports, campaign.id, 1)
    assert again.next_at is not None and not again.finished  # it looks again later
    assert [(job.args, job.job_id) for job in world.queue.named("send_outbox")] == [
        ((i,), f"send:{i}") for i in outbox_ids[1:]
    ]  # the message already sent is not queued again
    await tick(ports, campaign.id, 1)
    assert len(world.queue.named("send_outbox")) == 2  # still queued: the job ids dedupe
