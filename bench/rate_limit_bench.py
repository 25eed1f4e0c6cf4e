"""Several worker processes sending to one Pipedrive token at once: what Pipedrive refuses (429) when each
process counts the rate limits alone (``MemoryRateLimiter``, a deployment without Redis) and when they count
them together in Redis (``RedisRateLimiter``).

The Pipedrive sandbox (the Lite plan: 80 requests per token per 2 s) is served on loopback by this process,
on the wall clock. Each worker is a process of its own (started fresh, with its own connections and its
own limiter) that sends its requests through WaPipe's request pipeline (``PipedriveApi``: the limiter,
429s retried with backoff), ``--concurrency`` at once, as a worker's jobs would; the workers start
together. Each limiter runs on a company and token of its own. Prints JSON: per limiter, the attempts,
the 429s (as the workers saw them and as the sandbox counted them), the requests that still failed after
their retries, the most answers other than 429 the workers received in any 2 s (all processes, and the
busiest process alone; received, so a little after Pipedrive counted them), the most attempts in any 2 s
and the wall time from the start to the last answer.

    .venv/bin/python -m bench.rate_limit_bench --redis redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from redis.asyncio import Redis

from bench.sandboxes import free_port, start_servers
from sandbox.pipedrive.app import create_app
from sandbox.pipedrive.seed import ALL_SCOPES
from sandbox.pipedrive.state import Clock, SandboxState
from server.domain.errors import Transient
from server.jobs.rate_limit_redis import WINDOW_PREFIX, RedisRateLimiter
from server.pipedrive.api import PipedriveApi
from server.pipedrive.oauth import TokenSet
from server.pipedrive.ratelimit import MemoryRateLimiter, RateLimiter, RateScope

WINDOW = 2.0  # Pipedrive's burst window
START_WITHIN = 60.0  # how long the workers may take to start (imports on a busy machine)


class FixedTokens:
    """One access token that stays valid for the run."""

    def __init__(self, tokens: TokenSet) -> None:
        self.tokens = tokens

    async def current(self) -> TokenSet:
        return self.tokens

    async def refresh_rejected(self, rejected: TokenSet) -> TokenSet:
        return self.tokens


def worker(job: dict[str, Any], start: Any, results: Any) -> None:
    """A worker process: its requests through its own limiter; what Pipedrive answered goes to ``results``."""
    results.put(asyncio.run(_work(job, start)))


async def _work(job: dict[str, Any], start: Any) -> dict[str, Any]:
    redis = Redis.from_url(job["redis"]) if job["kind"] == "redis" else None
    limiter: RateLimiter = MemoryRateLimiter() if redis is None else RedisRateLimiter(redis)
    answers: list[tuple[float, int]] = []

    async def record(response: httpx.Response) -> None:
        answers.append((time.time(), response.status_code))

    async with httpx.AsyncClient(event_hooks={"response": [record]}, timeout=30) as http:
        tokens = TokenSet(
            access_token=job["access_token"],
            refresh_token="unused",  # noqa: S106
            expires_at=datetime.now(UTC) + timedelta(hours=1),
            scopes=frozenset(ALL_SCOPES),
            api_domain=job["api_domain"],
        )
        api = PipedriveApi(
            http, FixedTokens(tokens), RateScope(job["token_key"], job["company_key"]), limiter=limiter
        )
        if redis is not None:
            await redis.ping()
        semaphore = asyncio.Semaphore(job["concurrency"])
        failed = 0

        async def one() -> None:
            nonlocal failed
            async with semaphore:
                try:
                    await api.send("GET", "/api/v1/users/me")
                except Transient:
                    failed += 1

        start.wait(START_WITHIN)
        await asyncio.gather(*(one() for _ in range(job["requests"])))
    if redis is not None:
        await redis.aclose()
    return {"answers": answers, "failed": failed}


def most_in_a_window(times: list[float]) -> int:
    times = sorted(times)
    most, first = 0, 0
    for last, at in enumerate(times):
        while times[first] <= at - WINDOW:
            first += 1
        most = max(most, last - first + 1)
    return most


async def forget(redis_url: str, token_key: str) -> None:
    """Remove the run's keys from the shared Redis (they would expire in a day)."""
    redis = Redis.from_url(redis_url)
    windows = [f"{WINDOW_PREFIX}{token_key}:{window}" for window in ("general", "search")]
    await redis.delete(*windows, *(key + ":sent" for key in windows))
    await redis.aclose()


async def run(kind: str, state: SandboxState, base_url: str, args: argparse.Namespace) -> dict[str, Any]:
    company = state.add_company(f"Bench {kind}", domain=f"bench-{kind}", plan="lite")
    admin = state.add_user(company.id, "Admin", f"admin@{kind}.bench.test", is_admin=True)
    job = {
        "kind": kind,
        "redis": args.redis,
        "access_token": state.token_for(company.id, admin.id, list(ALL_SCOPES)),
        "api_domain": base_url,
        "token_key": f"bench:{uuid.uuid4().hex}",  # nothing left from an earlier run counts
        "company_key": str(company.id),
        "requests": args.requests,
        "concurrency": args.concurrency,
    }
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(args.processes + 1)
    results = context.Queue()
    processes = [context.Process(target=worker, args=(job, start, results)) for _ in range(args.processes)]
    for process in processes:
        process.start()
    await asyncio.to_thread(start.wait, START_WITHIN)
    began = time.time()
    done = [await asyncio.to_thread(results.get, True, 600) for _ in processes]
    for process in processes:
        process.join()
    if kind == "redis":
        await forget(args.redis, job["token_key"])
    answers = [answer for result in done for answer in result["answers"]]
    answered = [at for at, status in answers if status != 429]
    usage = state.limiter.usage_for(company.id)
    return {
        "limiter": kind,
        "processes": args.processes,
        "requests": args.processes * args.requests,
        "attempts": len(answers),
        "refused_429": sum(1 for _, status in answers if status == 429),
        "refused_429_by_pipedrive": usage.rejected,
        "failed_after_retries": sum(result["failed"] for result in done),
        "most_answered_in_2s": most_in_a_window(answered),
        "most_answered_in_2s_one_process": max(
            most_in_a_window([at for at, status in result["answers"] if status != 429]) for result in done
        ),
        "most_attempts_in_2s": most_in_a_window([at for at, _ in answers]),
        "wall_seconds": round(max(at for at, _ in answers) - began, 2),
    }


async def main(args: argparse.Namespace) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    state = SandboxState(clock=Clock(follow_wall_clock=True), base_url=base_url)
    servers: list[Any] = []
    serving = await start_servers([(create_app(state), port)], servers, "bench.rate_limit_bench")
    report = {
        "plan": "lite, 80 requests per token per 2 s",
        "runs": [await run(kind, state, base_url, args) for kind in ("memory", "redis")],
    }
    for server in servers:
        server.should_exit = True
    await asyncio.gather(*serving)
    print(json.dumps(report, indent=2))


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--redis", required=True, help="the Redis the workers share (a key prefix of its own)"
    )
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--requests", type=int, default=100, help="per process")
    parser.add_argument("--concurrency", type=int, default=20, help="requests in flight per process")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
