"""What stops a second ``wapipe demo`` before it touches anything: the running demo's lock on its folder
(``var/demo.lock``), and its ports. A refused demo leaves the running one's database, media and log as
they were."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
from collections.abc import Iterator, Sequence
from pathlib import Path

LOCK_FILE = "demo.lock"


class DemoRefused(RuntimeError):
    """The demo cannot start here and now; the message says why and what to do."""


@contextlib.contextmanager
def demo_lock(var_dir: Path) -> Iterator[Path]:
    """Hold ``var_dir``'s demo lock until the block ends (an exclusive ``flock``: the system lets it go
    when the process ends, however it ends). Raises ``DemoRefused`` at once when another demo holds it."""
    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / LOCK_FILE
    handle = path.open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        if error.errno not in (errno.EAGAIN, errno.EACCES):
            raise
        raise DemoRefused(
            f"another demo is already running from {var_dir} ({holder}). Open it in the browser, or stop "
            "it (Ctrl+C in its terminal) before starting a new one; nothing of it was changed."
        ) from None
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()}\n")
        handle.flush()
        yield path
    finally:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()


def claim_ports(host: str, ports: Sequence[int]) -> list[socket.socket]:
    """A listening socket for each port, in order, or ``DemoRefused`` naming the port already taken (every
    socket claimed so far is closed again)."""
    claimed: list[socket.socket] = []
    try:
        for port in ports:
            sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
            claimed.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError as error:
                if error.errno != errno.EADDRINUSE:
                    raise DemoRefused(f"cannot listen on {host}:{port}: {error.strerror}") from None
                raise DemoRefused(
                    f"port {port} on {host} is already in use (a demo running from another folder, or "
                    "another program). Stop it, or choose free ports with --port, --pipedrive-port and "
                    "--waha-port; nothing was changed."
                ) from None
            sock.listen(128)
    except BaseException:
        for sock in claimed:
            sock.close()
        raise
    return claimed
