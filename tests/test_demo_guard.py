"""What stops a second demo before it touches anything: the first one's lock on its folder, its ports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from server.demo_guard import DemoRefused, claim_ports, demo_lock


def test_a_held_lock_refuses_a_second_demo_naming_the_folder_and_the_process(tmp_path: Path) -> None:
    with demo_lock(tmp_path) as lock:
        assert lock.read_text() == f"process {os.getpid()}\n"
        with pytest.raises(DemoRefused) as refused, demo_lock(tmp_path):
            pytest.fail("a second demo got the lock")
        assert f"another demo is already running from {tmp_path} (process {os.getpid()})" in str(
            refused.value
        )
        assert lock.read_text() == f"process {os.getpid()}\n"  # the refused one wrote nothing
    with demo_lock(tmp_path):  # let go at the end of the block: the next demo may start
        pass


def test_the_lock_is_refused_to_another_process_and_let_go_when_the_holder_ends(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, pathlib\n"
            "from server.demo_guard import demo_lock\n"
            "with demo_lock(pathlib.Path(sys.argv[1])):\n"
            "    print('held', flush=True)\n"
            "    sys.stdin.readline()\n",
            str(tmp_path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(DemoRefused, match=rf"\(process {holder.pid}\)"), demo_lock(tmp_path):
            pass
    finally:
        holder.kill()  # however the holder ends, the system lets its lock go
        holder.wait(timeout=10)
    with demo_lock(tmp_path):
        pass


def test_a_port_in_use_is_named_and_the_ports_claimed_before_it_are_let_go() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        busy = taken.getsockname()[1]
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            free = probe.getsockname()[1]
        with pytest.raises(DemoRefused, match=rf"port {busy} on 127.0.0.1 is already in use"):
            claim_ports("127.0.0.1", [free, busy])
        claimed = claim_ports("127.0.0.1", [free])  # the first port was closed again when the second failed
        try:
            assert [s.getsockname()[1] for s in claimed] == [free]
            with socket.create_connection(("127.0.0.1", free), timeout=5):
                pass  # listening: a browser that comes early waits for the app
        finally:
            for sock in claimed:
                sock.close()
