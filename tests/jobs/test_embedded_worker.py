"""``wapipe worker`` with ``WAPIPE_WHATSAPP=embedded``, a real process on Redis: it starts the session of a
linked number on neonize's real client, and where WhatsApp cannot be reached the numbers page says so by
name. WhatsApp is made unreachable the same way on every machine: the session's traffic goes through a
proxy address nothing listens on (``WAPIPE_WHATSAPP_PROXY``). This test waits real seconds, as it runs a
real process; the deadline is a bound for a loaded machine, not a figure."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from server.settings import Settings
from server.storage.accounts import SqlAccountStore
from tests.web.inbound_world import inbound_world
from tests.web.test_numbers import USER, token

DEADLINE_S = 40.0


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_worker_runs_the_embedded_session_and_the_page_names_whatsapp_unreachable(
    make_settings: Callable[..., Settings], redis_url: str, tmp_path: Path
) -> None:
    proxy = f"socks5://127.0.0.1:{closed_port()}"
    settings = make_settings(public_url="http://wapipe.test", whatsapp="embedded", redis_url=redis_url)
    async with inbound_world(settings) as world:  # a web process on Redis: it runs no session itself
        assert world.resources.sessions is None
        await world.install_users(USER, admin=USER)
        company_id = world.account.company_id
        account = await SqlAccountStore(world.resources.engine).create(
            company_id=company_id,
            owner_user_id=USER,
            transport="embedded",
            session_name="wapipe-c1-u501-worker",
        )
        env = {
            **os.environ,
            "WAPIPE_MODE": "test",
            "WAPIPE_DATABASE_URL": settings.effective_database_url,
            "WAPIPE_REDIS_URL": redis_url,
            "WAPIPE_VAR_DIR": str(tmp_path / "worker"),
            "WAPIPE_WHATSAPP": "embedded",
            "WAPIPE_WHATSAPP_PROXY": proxy,
            "WAPIPE_SESSION_LEASE_POLL": "0.2",
            "WAPIPE_LOG_FORMAT": "text",
        }
        log = (tmp_path / "worker.log").open("w")
        worker = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "server.cli", "worker", env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            headers = {"X-Pipedrive-Token": token(settings)}
            deadline = time.monotonic() + DEADLINE_S
            listing = ""
            while time.monotonic() < deadline and worker.returncode is None:
                listing = (await world.client.get("/numbers/list", headers=headers)).text
                if "Cannot reach WhatsApp" in listing:
                    break
                await asyncio.sleep(0.2)
            assert worker.returncode is None, (tmp_path / "worker.log").read_text()[-3000:]
            assert "Cannot reach WhatsApp" in listing, (tmp_path / "worker.log").read_text()[-3000:]
            assert "cannot reach WhatsApp: failed to dial whatsapp web websocket" in listing
            stored = await SqlAccountStore(world.resources.engine).get(company_id, account.id)
            assert stored is not None and stored.status == "unreachable"
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(worker.wait(), timeout=20)
            finally:
                if worker.returncode is None:
                    worker.kill()
                log.close()
        assert worker.returncode == 0, (tmp_path / "worker.log").read_text()[-3000:]
        assert "session wapipe-c1-u501-worker runs here" in (tmp_path / "worker.log").read_text()
