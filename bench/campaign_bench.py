"""Campaign benchmark (issue 20): a campaign to thousands of Persons with the pacing switched off, so what is
measured is the machinery, not the wait.

Three processes, as in production: the Pipedrive and WAHA sandboxes (``bench.campaign_sandboxes``; other
machines in production), WaPipe with its in-process job runner (``bench.campaign_runner``, started again
for each phase over one database) and this one, which drives them and measures from outside:

1. **Reading recipients**: ``Campaigns.create`` for the saved filter (all ``--recipients`` Persons) and for
   a selection of ids (``--selection``); Pipedrive requests and tokens from the sandbox's usage counters.
2. **Sending**: the filter campaign started with ``Pacing.off()``; wall and CPU time of the WaPipe process
   (``/proc``) from the start until the gateway has accepted every message; p50/p99 from each outbox row
   being created to the gateway accepting it (the sandbox's record of the send).
3. **Activity writes**: the Pipedrive requests the sync of the sent messages makes (every sent message is
   in its chat's daily "WhatsApp chat" activity), until Pipedrive has been quiet for ``--quiet`` seconds.
   The selection campaign then runs too (its messages are appended to those same activities).
4. **A killed worker**: another filter campaign; the gateway SIGKILLs WaPipe's process as it accepts the
   message that makes ``--kill-at`` of them (before WaPipe hears the answer: the worst moment), a fresh
   process starts, its campaign watchdog starts a new run (the campaign clock moves on as the restart
   time would pass), and it runs until done. Reconciled on the gateway: messages per recipient number.

    .venv/bin/python -m bench.campaign_bench                 # 5,000 recipients (see docs/benchmarks.md:
                                                             # on SQLite 2-3 sends/s, so most of an hour)
    .venv/bin/python -m bench.campaign_bench --quick         # 300 recipients, no selection campaign
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, select

from bench.campaign_processes import (
    Runner,
    cpu_s,
    get,
    sandboxes,
    sent_count,
    until_quiet,
    until_sent,
    wapipe,
)
from bench.sandboxes import free_port
from bench.sync_bench import database_url
from server.storage.migrate import upgrade
from server.storage.tables import Outbox

TEXT = "Hallo {{person.first_name}}, unser Frühjahrsangebot ist da. %s"


def spent(before: dict[str, Any], after: dict[str, Any], recipients: int) -> dict[str, Any]:
    requests = after["requests"] - before["requests"]
    tokens = after["tokens"] - before["tokens"]
    operations = Counter(after["by_operation"]) - Counter(before["by_operation"])
    return {
        "requests": requests,
        "tokens": tokens,
        "requests_per_recipient": round(requests / recipients, 4),
        "tokens_per_recipient": round(tokens / recipients, 3),
        "rejected_429": after["rejected"] - before["rejected"],
        "operations": dict(sorted(operations.items())),
    }


def percentiles(values: list[float]) -> list[float] | None:
    if not values:
        return None
    ordered = sorted(values)
    return [
        round(statistics.median(ordered), 4),
        round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 4),
    ]


async def accept_latencies(env: dict[str, Any], campaign_id: int, marker: str) -> list[float]:
    """Seconds from each of the campaign's outbox rows being created to the gateway accepting its message."""
    sends = (await get(env, f"/sent?marker={marker}&full=1"))["sends"]
    accepted = {number: ms / 1000 for number, ms in sends}
    engine = create_engine(env["db"])
    table = Outbox.__table__  # type: ignore[attr-defined]
    query = select(table.c.to_chat, table.c.created_at).where(table.c.client_ref.like(f"cmp{campaign_id}r%"))
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    engine.dispose()
    return [
        accepted[to.lstrip("+")] - created.timestamp() for to, created in rows if to.lstrip("+") in accepted
    ]


async def send_run(
    env: dict[str, Any], runner: Runner, campaign: dict[str, Any], marker: str
) -> dict[str, Any]:
    """Starts ``campaign``, waits for the gateway to have every message; wall and CPU time per recipient."""
    recipients = campaign["recipients"]
    await runner.ask({"cmd": "sql"})
    sandboxes_cpu = cpu_s(env["sandboxes_pid"])
    cpu, began = runner.cpu_s(), time.monotonic()
    await runner.ask({"cmd": "start", "campaign": campaign["campaign"], "text": TEXT % marker})
    count, last = await until_sent(env, marker, recipients, stall=60)
    wall, cpu = last - began, runner.cpu_s() - cpu
    sandboxes_cpu = cpu_s(env["sandboxes_pid"]) - sandboxes_cpu
    counted = await runner.ask({"cmd": "sql"})
    statements = counted["by_job"]
    latencies = await accept_latencies(env, campaign["campaign"], marker)
    return {
        "recipients": recipients,
        "sent": count,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "wall_ms_per_recipient": round(wall * 1000 / recipients, 2),
        "cpu_ms_per_recipient": round(cpu * 1000 / recipients, 2),
        "sends_per_s": round(count / wall, 1) if wall else None,
        "created_to_accepted_p50_p99_s": percentiles(latencies),
        "sandboxes_cpu_ms_per_recipient": round(sandboxes_cpu * 1000 / recipients, 2),
        "sql_statements_per_recipient_by_job": {
            job: round(n / recipients, 1) for job, n in statements.items() if n >= recipients / 10
        },
        "jobs_runs_and_mean_wall_s": counted["jobs"],
    }


async def killed_run(env: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """A campaign whose job runner is SIGKILLed at ``--kill-at`` of its sends; a fresh process finishes it."""
    marker = "[K]"
    async with wapipe(env) as runner:
        campaign = await runner.ask(
            {"cmd": "create", "filter_id": env["where"]["filter_id"], "name": "Killed"}
        )
        expected = campaign["recipients"]
        after = max(1, round(expected * args.kill_at))
        response = await env["http"].post(
            f"{env['where']['control']}/kill", json={"pid": runner.pid, "marker": marker, "after": after}
        )
        response.raise_for_status()
        await runner.ask({"cmd": "start", "campaign": campaign["campaign"], "text": TEXT % marker})
        await asyncio.wait_for(runner.child.wait(), timeout=600)
        killed = await get(env, "/killed")
    at_kill = await sent_count(env, marker)
    async with wapipe(env) as runner:
        began = time.monotonic()
        woke = await runner.ask(
            {"cmd": "wake", "campaign": campaign["campaign"], "since": killed["killed_at"]}
        )
        await until_sent(env, marker, expected, stall=args.stall)
        finished_after = time.monotonic() - began
        status = await runner.ask({"cmd": "status", "campaign": campaign["campaign"]})
        for _ in range(int(args.stall)):  # the last run marks the campaign finished once the outbox is empty
            if status["status"] == "finished":
                break
            await asyncio.sleep(1)
            status = await runner.ask({"cmd": "status", "campaign": campaign["campaign"]})
    sends = (await get(env, f"/sent?marker={marker}&full=1"))["sends"]
    per_number = Counter(number for number, _ in sends)
    wanted = set(env["where"]["numbers"].values())
    return {
        "recipients": expected,
        "killed_when_accepted": killed["seen"],
        "sent_at_kill": at_kill,
        "resume_pickup_campaign_clock_s": woke.get("pickup_s"),
        "resume_pickup_real_s": woke.get("real_s"),
        "resume_to_all_sent_real_s": round(finished_after, 1),
        "sent": len(sends),
        "recipients_reached": len(per_number.keys() & wanted),
        "duplicated": sum(1 for n in per_number.values() if n > 1),
        "lost": len(wanted - per_number.keys()),
        "to_numbers_not_in_campaign": len(per_number.keys() - wanted),
        "campaign_status": status["status"],
        "counts": status["counts"],
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {
        "scenario": {
            "recipients": args.recipients,
            "selection": args.selection,
            "pacing": "Pacing.off() (no gaps, no cap, no quiet hours)",
            "pipedrive_plan": "premium (400 requests / 2 s), daily budget 3,000,000 tokens",
            "database": "postgresql" if args.postgres else "sqlite",
            "job_runner": "in-process runner of WaPipe's web process",
        }
    }
    with tempfile.TemporaryDirectory() as tmp:
        async with sandboxes(args) as where, httpx.AsyncClient(timeout=60) as http:
            where_file = Path(tmp) / "where.json"
            where_file.write_text(json.dumps(where))
            db = database_url(args, Path(tmp))
            upgrade(db)
            env = {
                "where": where,
                "where_file": str(where_file),
                "db": db,
                "port": free_port(),
                "workdir": tmp,
                "http": http,
                "profile": args.profile,
                "sandboxes_pid": where["pid"],
            }
            async with wapipe(env, first=True) as runner:
                if "send" in args.phases or "read" in args.phases:
                    await first_phases(env, args, runner, report)
            if "killed" in args.phases:
                report["worker_killed"] = await killed_run(env, args)
            await http.post(f"{where['control']}/stop")
    return report


async def first_phases(
    env: dict[str, Any], args: argparse.Namespace, runner: Runner, report: dict[str, Any]
) -> None:
    """Reading recipients, sending, the activity writes; the selection campaign."""
    where = env["where"]
    before = await get(env, "/usage")
    by_filter = await runner.ask({"cmd": "create", "filter_id": where["filter_id"], "name": "Filter"})
    after_filter = await get(env, "/usage")
    report["read_by_filter"] = {
        "recipients": by_filter["recipients"],
        "seconds": round(by_filter["seconds"], 2),
        **spent(before, after_filter, by_filter["recipients"]),
    }
    selection = None
    if args.selection:
        ids = sorted(int(i) for i in where["numbers"])[: args.selection]
        selection = await runner.ask({"cmd": "create", "ids": ids, "name": "Selection"})
        after_ids = await get(env, "/usage")
        report["read_by_ids"] = {
            "recipients": selection["recipients"],
            "seconds": round(selection["seconds"], 2),
            **spent(after_filter, after_ids, selection["recipients"]),
        }
    if "send" not in args.phases:
        return
    started = await get(env, "/usage")
    report["send"] = await send_run(env, runner, by_filter, "[R1]")
    settled = await until_quiet(env, args.quiet, args.sync_limit)
    report["activity_writes"] = {
        "sync_settled_after_all_sent_s": settled["settled_after_s"],
        "activities": settled["activities"],
        **spent(started, settled, by_filter["recipients"]),
    }
    report["send"]["status"] = await runner.ask({"cmd": "status", "campaign": by_filter["campaign"]})
    if selection is not None:
        started = await get(env, "/usage")
        report["send_selection"] = await send_run(env, runner, selection, "[R2]")
        settled = await until_quiet(env, args.quiet, args.sync_limit)
        report["send_selection"]["activity_writes"] = spent(started, settled, selection["recipients"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipients", type=int, default=5000)
    parser.add_argument(
        "--selection", type=int, default=500, help="recipients of the campaign by ids (0: none)"
    )
    parser.add_argument(
        "--phases",
        default="send,killed",
        help="read: reading recipients; send: read, send, sync; killed: the kill",
    )
    parser.add_argument("--kill-at", type=float, default=0.4, help="share of sends accepted when killed")
    parser.add_argument(
        "--quiet", type=float, default=8.0, help="seconds without Pipedrive requests: settled"
    )
    parser.add_argument("--sync-limit", type=float, default=900.0, help="longest wait for the sync to settle")
    parser.add_argument(
        "--stall", type=float, default=90.0, help="no new send for this long: the run is over"
    )
    parser.add_argument("--quick", action="store_true", help="300 recipients, no selection campaign")
    parser.add_argument("--profile", default="", help="cProfile the first WaPipe process into this file")
    parser.add_argument("--postgres", default="", help="admin URL of a PostgreSQL server, instead of SQLite")
    args = parser.parse_args()
    if args.quick:
        args.recipients, args.selection, args.quiet, args.stall = 300, 0, 5.0, 45.0
    print(json.dumps(asyncio.run(run(args)), indent=2))


if __name__ == "__main__":
    main()
