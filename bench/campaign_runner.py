"""WaPipe for the campaign benchmark: its web app served on loopback with its in-process job runner, in a
process of its own so the benchmark can read its CPU time and SIGKILL it mid-campaign.

``bench.campaign_bench`` starts it (several times over one database: the run that is killed, the fresh
process that resumes) and drives it with one JSON command per line on stdin; each answer is one JSON line
on stdout:

    {"cmd": "create", "filter_id": 1} | {"cmd": "create", "ids": [...]}   Campaigns.create (Persons)
    {"cmd": "start", "campaign": 1, "text": "..."}                       Campaigns.start, pacing off
    {"cmd": "status", "campaign": 1}                                     the campaign and its counts
    {"cmd": "wake", "campaign": 1, "since": 1700000000.0}                the restart path: see ``wake``
    {"cmd": "sql"}                                                       statements and job times since
    {"cmd": "exit"}

The first process (``--first``) links the number (the WAHA sandbox's phone scans the QR code) and sets up
Pipedrive (activity type, link fields, phone index), as install and the settings page leave them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event

from bench.sandboxes import SESSION
from bench.sync_bench import Connector, StaticTokens, _install, _ok, _warm_up, serving
from server.domain.campaigns import CampaignSource, Compose, FromMode, Pacing
from server.domain.clock import ControlledClock
from server.domain.ports.recipients import ListKind
from server.jobs.campaigns import campaigns_for
from server.jobs.context import sync_wiring
from server.jobs.deps import JobDeps, job_ctx, job_deps
from server.pipedrive.client import PipedriveClient
from server.pipedrive.metering import MemoryUsageMeter
from server.pipedrive.ratelimit import MemoryRateLimiter, RateScope
from server.settings import Mode, load_settings
from server.storage.accounts import SqlAccountStore
from server.storage.campaigns import SqlCampaignStore
from server.storage.companies import SqlCompanyStore
from server.web.app import create_app
from server.web.resources import Resources, Upstreams

OUR_NUMBER = "4915100000001"
API_KEY = "bench-waha-key"
WAKE_STEP_S = 1.0  # campaign-clock seconds skipped per step while waiting for the watchdog


def say(answer: dict[str, Any]) -> None:
    print(json.dumps(answer), flush=True)


async def lines() -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


class SqlCounter:
    """SQL statements WaPipe's process runs, by the job that ran them (or the web route's task)."""

    def __init__(self) -> None:
        self.by_job: Counter[str] = Counter()

    def count(self, *args: Any) -> None:
        task = asyncio.current_task()
        coro: Any = task.get_coro() if task is not None else None
        name = getattr(coro, "__qualname__", "other")
        frame = getattr(coro, "cr_frame", None)
        if frame is not None and "job" in frame.f_locals:  # the in-process runner's ``_run(job)``
            name = frame.f_locals["job"].function
        elif frame is not None and name.endswith("timed"):  # a job, timed by ``JobTimes``
            name = frame.f_locals["name"]
        elif name == "RequestResponseCycle.run_asgi":
            name = "web requests (webhooks)"
        self.by_job[name] += 1

    def take(self) -> dict[str, int]:
        counted, self.by_job = dict(self.by_job.most_common()), Counter()
        return counted


class JobTimes:
    """Wall time the in-process runner's jobs take, by function (from taking a slot to returning)."""

    def __init__(self, queue: Any) -> None:
        self.runs: Counter[str] = Counter()
        self.seconds: dict[str, float] = defaultdict(float)
        for function in queue._functions.values():
            function.coroutine = self._timed(function.name, function.coroutine)

    def _timed(self, name: str, coroutine: Any) -> Any:
        async def timed(ctx: dict[str, Any], *args: Any) -> Any:
            began = time.monotonic()
            try:
                return await coroutine(ctx, *args)
            finally:
                self.runs[name] += 1
                self.seconds[name] += time.monotonic() - began

        return timed

    def take(self) -> dict[str, list[float]]:
        """{function: [runs, mean seconds]} since the last ``take``."""
        taken = {n: [self.runs[n], round(self.seconds[n] / self.runs[n], 4)] for n in self.runs}
        self.runs, self.seconds = Counter(), defaultdict(float)
        return taken


class Bench:
    """The commands, over the running app's job dependencies."""

    def __init__(self, deps: JobDeps, clock: ControlledClock, company_id: int, user_id: int, account_id: int):
        self.deps, self.clock = deps, clock
        self.company_id, self.user_id, self.account_id = company_id, user_id, account_id
        self.campaigns = campaigns_for(deps)
        self.store = SqlCampaignStore(deps.engine)
        self.statements = SqlCounter()
        self.jobs: JobTimes | None = None

    async def sql(self, body: dict[str, Any]) -> dict[str, Any]:
        """The SQL statements counted since the last ``sql``, by job."""
        return {"by_job": self.statements.take(), "jobs": self.jobs.take() if self.jobs else {}}

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("filter_id") is not None:
            source = CampaignSource(ListKind.PERSON, filter_id=int(body["filter_id"]), filter_name="Mobile")
        else:
            source = CampaignSource(ListKind.PERSON, ids=tuple(int(i) for i in body["ids"]))
        began = time.monotonic()
        campaign = await self.campaigns.create(self.company_id, self.user_id, source, body.get("name", ""))
        tally = await self.store.tally(self.company_id, campaign.id)
        return {"campaign": campaign.id, "recipients": tally.total, "seconds": time.monotonic() - began}

    async def start(self, body: dict[str, Any]) -> dict[str, Any]:
        compose = Compose(str(body["text"]), FromMode.FIXED, (self.account_id,))
        began = time.monotonic()
        campaign = await self.campaigns.start(
            self.company_id, self.user_id, int(body["campaign"]), compose, Pacing.off()
        )
        return {"status": campaign.status.value, "seconds": time.monotonic() - began}

    async def status(self, body: dict[str, Any]) -> dict[str, Any]:
        progress = await self.campaigns.progress(self.company_id, int(body["campaign"]))
        return {
            "status": progress.campaign.status.value,
            "counts": {k.value: v for k, v in progress.counts.items()},
            "skipped": {k.value: v for k, v in progress.skipped_by_reason.items()},
            "tick_seq": progress.campaign.tick_seq,
        }

    async def wake(self, body: dict[str, Any]) -> dict[str, Any]:
        """This process starts where a killed one left off: its clock moves on, a second per step, as the
        time a restart takes would pass, until the campaign watchdog starts a new run of the campaign.
        The answer is the campaign-clock time from ``since`` (the kill) to that run."""
        campaign_id, since = int(body["campaign"]), float(body["since"])
        before = await self.store.by_id(campaign_id)
        assert before is not None
        began = time.monotonic()
        while True:
            now = await self.store.by_id(campaign_id)
            assert now is not None
            if now.tick_seq != before.tick_seq:
                break
            if self.clock.now().timestamp() - since > 3600:
                return {"pickup_s": None, "note": "no new run within an hour of campaign clock"}
            self.clock.advance(WAKE_STEP_S)
            await asyncio.sleep(0.01)
        return {
            "pickup_s": round(self.clock.now().timestamp() - since, 1),
            "skipped_s": round(self.clock.skipped.total_seconds(), 1),
            "real_s": round(time.monotonic() - began, 2),
        }


async def wire(
    args: argparse.Namespace,
    where: dict[str, Any],
    resources: Resources,
    http: httpx.AsyncClient,
    clock: ControlledClock,
) -> Bench:
    ours = await SqlCompanyStore(resources.engine).upsert(
        where["company"], name="Campaign GmbH", api_domain=where["pipedrive"], timezone="Europe/Berlin"
    )
    accounts = SqlAccountStore(resources.engine)
    if args.first:
        await accounts.create(
            company_id=ours.id, owner_user_id=where["admin"], transport="waha", session_name=SESSION
        )
        await _install(resources, ours.id, where, "realtime")
    account = (await accounts.for_company(ours.id))[0]
    client = PipedriveClient(
        http,
        StaticTokens.of(where),
        RateScope("admin", str(where["company"])),
        limiter=MemoryRateLimiter(),
        meter=MemoryUsageMeter(),
    )
    queue: Any = resources.queue
    ctx = queue.ctx
    sync = sync_wiring(resources.settings.public_url, resources.media)
    deps = replace(
        job_deps(ctx), sync_config=sync.config, media_files=sync.media_files, pipedrive=Connector(client)
    )
    ctx.update(job_ctx(deps))
    if args.first:
        async with httpx.AsyncClient(timeout=60) as control:
            await resources.transports["waha"].connect(SESSION)
            await _ok(control.post(f"{where['waha']}/_sim/clock", json={"advance": 2}))
            await _ok(
                control.post(
                    f"{where['waha']}/_sim/{SESSION}/scan", json={"phone": OUR_NUMBER, "pushName": "Bench"}
                )
            )
            for _ in range(200):  # the session's status webhook marks the number connected
                account = (await accounts.for_company(ours.id))[0]
                if account.status == "connected":
                    break
                await asyncio.sleep(0.05)
        await _warm_up(ctx, ours.id, "realtime")
    return Bench(deps, clock, ours.id, where["admin"], account.id)


async def run(args: argparse.Namespace, where: dict[str, Any]) -> None:
    workdir = Path(args.workdir)
    settings = load_settings(
        mode=Mode.TEST,
        var_dir=workdir,
        media_dir=workdir / "media",
        log_format="text",
        log_level="WARNING",
        database_url=args.db,
        public_url=f"http://127.0.0.1:{args.port}",
        waha_url=where["waha"],
        waha_api_key=API_KEY,
    )
    clock = ControlledClock()  # the wall clock, until ``wake`` moves it on
    app = create_app(settings, Upstreams(clock=clock))
    commands = await lines()
    async with httpx.AsyncClient(base_url=where["pipedrive"], timeout=60) as http, serving(app, args.port):
        statements = SqlCounter()
        event.listen(app.state.resources.engine.sync_engine, "before_cursor_execute", statements.count)
        bench = await wire(args, where, app.state.resources, http, clock)
        bench.statements = statements
        bench.jobs = JobTimes(app.state.resources.queue)
        say({"ready": True, "account": bench.account_id})
        while line := await commands.readline():
            body = json.loads(line)
            if body["cmd"] == "exit":
                break
            handler = getattr(bench, body["cmd"])
            say(await handler(body))
    say({"stopped": True})


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--where", required=True, help="the sandboxes' ready line, in a file")
    parser.add_argument("--db", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--first", action="store_true", help="link the number and set up Pipedrive")
    parser.add_argument("--profile", default="", help="write cProfile statistics of the process here")
    args = parser.parse_args()
    if not args.profile:
        asyncio.run(run(args, json.loads(Path(args.where).read_text())))
        return
    import cProfile

    with cProfile.Profile() as profile:
        asyncio.run(run(args, json.loads(Path(args.where).read_text())))
    profile.dump_stats(args.profile)


if __name__ == "__main__":
    main()
