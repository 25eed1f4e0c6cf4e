"""The processes of ``bench.deploy_bench``: a PostgreSQL cluster and a Redis server of the benchmark's own
(so restarting them touches nothing else on the machine), WaPipe's processes as the Procfile starts them
(``wapipe migrate``, ``wapipe serve``, ``wapipe worker``), the balancer, and a supervisor that starts a
WaPipe process again when it exits, as a platform restarts a crashed dyno or container."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.campaign_processes import CLOCK_TICKS, cpu_s
from bench.sandboxes import free_port

PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, its tools run as the ``postgres`` user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class Cluster:
    """A throwaway PostgreSQL cluster (``initdb``, ``pg_ctl``) on a free loopback port, trust auth."""

    def __init__(self, folder: Path) -> None:
        if not PG_BIN:
            raise SystemExit("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
        self.bin = PG_BIN[-1]
        self.folder = folder
        self.data = folder / "pgdata"
        self.port = free_port()
        folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "wapipe", "--no-sync")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{folder}'\n"
                "max_connections = 300\nfsync = on\n"
            )

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(_as_postgres([str(self.bin / tool), *args]), check=True, capture_output=True)

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "postgres.log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> float:
        """``pg_ctl restart -m fast``: every connection is cut; seconds it took."""
        began = time.monotonic()
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.folder / "postgres.log"),
            "-m",
            "fast",
            "-w",
            "restart",
        )
        return time.monotonic() - began

    def admin_url(self, database: str = "postgres") -> str:
        return f"postgresql://wapipe@127.0.0.1:{self.port}/{database}"

    def pids(self) -> list[int]:
        """The postmaster and its children (backends, checkpointer, WAL writer, …)."""
        try:
            main = int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return []
        return [main, *children_of(main)]

    def cpu_s(self) -> float:
        """CPU time of the server so far: the postmaster's own, its ended children's (backends of closed
        connections) and its live children's. Counts restart from zero when PostgreSQL restarts."""
        pids = self.pids()
        if not pids:
            return 0.0
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pids[0]}/stat").read_text().rsplit(")", 1)[1].split()
            ended = (int(fields[13]) + int(fields[14])) / CLOCK_TICKS  # cutime, cstime
            return ended + sum(_cpu_or_zero(pid) for pid in pids)
        return 0.0


def _cpu_or_zero(pid: int) -> float:
    try:
        return cpu_s(pid)
    except (OSError, IndexError, ValueError):
        return 0.0


def machine_busy_s() -> float:
    """CPU seconds every core of the machine spent busy so far (``/proc/stat``), whoever used them."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


def children_of(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(entry.name))
    return found


class RedisServer:
    """``redis-server`` of the benchmark's own, without persistence: a restart loses what it held."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = (self.folder / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            ping = subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True)
            if ping.stdout.strip() == "PONG":
                return
            time.sleep(0.05)
        raise SystemExit("the benchmark's redis-server did not answer")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)

    def restart(self) -> float:
        """Stopped (its data is lost: no persistence) and started again on the same port; seconds."""
        began = time.monotonic()
        self.stop()
        self.start()
        return time.monotonic() - began

    def pids(self) -> list[int]:
        return [self.process.pid] if self.process is not None and self.process.poll() is None else []


@dataclass
class Proc:
    name: str
    args: list[str]
    process: subprocess.Popen[bytes]
    cpu_before: float = 0.0  # CPU of earlier incarnations (restarted processes)
    cpu_seen: float = 0.0  # this incarnation's CPU when the supervisor last looked (kept if it exits)


@dataclass
class Fleet:
    """WaPipe's processes by name (``web1``, ``worker2``, …), with a supervisor that restarts exits."""

    env: dict[str, str]
    logs: Path
    procs: dict[str, Proc] = field(default_factory=dict)
    restarts: Counter[str] = field(default_factory=Counter)  # by the supervisor, after an exit
    expected_down: set[str] = field(default_factory=set)  # stopped on purpose; not restarted
    cpu_dead: dict[str, float] = field(default_factory=dict)

    def start(self, name: str, args: list[str]) -> Proc:
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", *args], env=self.env, stdout=log, stderr=log
        )
        before = self.procs[name].cpu_before if name in self.procs else 0.0
        self.procs[name] = Proc(name, args, process, before)
        return self.procs[name]

    def pid(self, name: str) -> int:
        return self.procs[name].process.pid

    def cpu(self, name: str) -> float:
        proc = self.procs[name]
        with contextlib.suppress(OSError, IndexError, ValueError):
            return proc.cpu_before + cpu_s(proc.process.pid)
        return proc.cpu_before

    def kill(self, name: str) -> None:
        """SIGKILL: nothing of the process runs again; the supervisor starts a new one."""
        proc = self.procs[name]
        with contextlib.suppress(OSError, IndexError, ValueError):
            proc.cpu_before += cpu_s(proc.process.pid)
        proc.cpu_seen = 0.0
        proc.process.kill()
        proc.process.wait()

    def stop(self, name: str, timeout: float = 30) -> None:
        """SIGTERM, as a platform stops a process; SIGKILL after ``timeout``."""
        proc = self.procs[name]
        self.expected_down.add(name)
        with contextlib.suppress(OSError, IndexError, ValueError):
            proc.cpu_before += cpu_s(proc.process.pid)
        proc.cpu_seen = 0.0
        if proc.process.poll() is None:
            proc.process.send_signal(signal.SIGTERM)
            try:
                proc.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.process.kill()
                proc.process.wait()

    def restart(self, name: str) -> None:
        self.stop(name)
        self.start(name, self.procs[name].args)
        self.expected_down.discard(name)

    async def supervise(self, delay: float = 1.0) -> None:
        """Every WaPipe process that exited (and was not stopped on purpose) is started again."""
        while True:
            for name, proc in list(self.procs.items()):
                if proc.process.poll() is None:
                    with contextlib.suppress(OSError, IndexError, ValueError):
                        proc.cpu_seen = cpu_s(proc.process.pid)
                    continue
                if name in self.expected_down:
                    continue
                proc.cpu_before += proc.cpu_seen  # what it used until it exited (up to 0.2 s short)
                proc.cpu_seen = 0.0
                await asyncio.sleep(delay)
                if name in self.expected_down:
                    continue
                self.restarts[name] += 1
                self.start(name, proc.args)
            await asyncio.sleep(0.2)

    def stop_all(self) -> None:
        self.expected_down.update(self.procs)
        for proc in self.procs.values():
            if proc.process.poll() is None:
                proc.process.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.process.kill()
                proc.process.wait()


async def run_to_end(args: list[str], env: dict[str, str], limit_s: float = 180) -> str:
    """A WaPipe command (``migrate``) to its end; its output; raises when it fails."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(child.communicate(), timeout=limit_s)
    if child.returncode != 0:
        raise SystemExit(f"wapipe {' '.join(args)} failed: {output.decode()[-2000:]}")
    return output.decode()
