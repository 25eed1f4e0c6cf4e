"""The campaign benchmark's processes, driven from ``bench.campaign_bench``: the sandboxes
(``bench.campaign_sandboxes``) and WaPipe (``bench.campaign_runner``, one ``Runner`` per process), the CPU
time of a process, and waiting on the gateway's and Pipedrive's counters (the sandboxes' controls)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class Runner:
    """One WaPipe process (``bench.campaign_runner``): commands in, answers out."""

    def __init__(self, child: asyncio.subprocess.Process) -> None:
        self.child = child

    @property
    def pid(self) -> int:
        return self.child.pid

    async def answer(self, wait: float = 600) -> dict[str, Any]:
        assert self.child.stdout is not None
        while True:
            line = await asyncio.wait_for(self.child.stdout.readline(), wait)
            if not line:
                raise RuntimeError(f"WaPipe's process ended ({await self.child.wait()})")
            with contextlib.suppress(json.JSONDecodeError):
                answer = json.loads(line)
                if isinstance(answer, dict):
                    return answer

    async def ask(self, command: dict[str, Any], wait: float = 600) -> dict[str, Any]:
        assert self.child.stdin is not None
        self.child.stdin.write((json.dumps(command) + "\n").encode())
        await self.child.stdin.drain()
        return await self.answer(wait)

    def cpu_s(self) -> float:
        return cpu_s(self.pid)


def cpu_s(pid: int) -> float:
    """User and system CPU time of process ``pid`` so far, all its threads (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


@contextlib.asynccontextmanager
async def sandboxes(args: argparse.Namespace) -> AsyncIterator[dict[str, Any]]:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.campaign_sandboxes",
        "--persons",
        str(args.recipients),
        "--waha-api-key",
        "bench-waha-key",
        stdout=asyncio.subprocess.PIPE,
        limit=1 << 24,  # the ready line names every Person's number
    )
    assert child.stdout is not None
    try:
        line = await asyncio.wait_for(child.stdout.readline(), timeout=120)
        if not line:
            raise SystemExit(f"bench.campaign_sandboxes exited with {await child.wait()} before it was ready")
        yield {**json.loads(line), "pid": child.pid}
    finally:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(child.wait(), timeout=10)
        if child.returncode is None:
            child.kill()
            await child.wait()


@contextlib.asynccontextmanager
async def wapipe(env: dict[str, Any], *, first: bool = False) -> AsyncIterator[Runner]:
    command = [sys.executable, "-m", "bench.campaign_runner", "--where", env["where_file"], "--db", env["db"]]
    command += ["--port", str(env["port"]), "--workdir", env["workdir"]] + (["--first"] if first else [])
    if first and env.get("profile"):
        command += ["--profile", env["profile"]]
    child = await asyncio.create_subprocess_exec(
        *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    runner = Runner(child)
    try:
        ready = await runner.answer(wait=120)
        assert ready.get("ready"), ready
        yield runner
    finally:
        if child.returncode is None and child.stdin is not None:
            with contextlib.suppress(ConnectionError):
                child.stdin.write(b'{"cmd": "exit"}\n')
                await child.stdin.drain()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(child.wait(), timeout=30)
        if child.returncode is None:
            child.kill()
        await child.wait()


async def get(env: dict[str, Any], path: str) -> dict[str, Any]:
    response = await env["http"].get(f"{env['where']['control']}{path}")
    response.raise_for_status()
    return dict(response.json())


async def sent_count(env: dict[str, Any], marker: str) -> int:
    return int((await get(env, f"/sent?marker={marker}"))["count"])


async def until_sent(env: dict[str, Any], marker: str, expected: int, *, stall: float) -> tuple[int, float]:
    """Polls the gateway until ``expected`` messages holding ``marker`` went out, or none did for ``stall``
    seconds; (how many, when the last one was seen, monotonic)."""
    count, last_change = 0, time.monotonic()
    while True:
        now = await sent_count(env, marker)
        if now != count:
            count, last_change = now, time.monotonic()
        if count >= expected or time.monotonic() - last_change > stall:
            return count, last_change
        await asyncio.sleep(0.05)


async def until_quiet(env: dict[str, Any], quiet: float, limit: float) -> dict[str, Any]:
    """Waits until WaPipe has made no Pipedrive request for ``quiet`` seconds; the usage then."""
    usage, changed, began = await get(env, "/usage"), time.monotonic(), time.monotonic()
    while time.monotonic() - changed < quiet and time.monotonic() - began < limit:
        await asyncio.sleep(0.5)
        now = await get(env, "/usage")
        if now["requests"] != usage["requests"]:
            usage, changed = now, time.monotonic()
    usage["settled_after_s"] = round(changed - began, 1)
    return usage
