"""The ``wapipe`` command as a user runs it: a real process, real exit codes and messages."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

WAPIPE = [sys.executable, "-m", "server.cli"]


def _run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WAPIPE_")}
    return subprocess.run(
        [*WAPIPE, *args],
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        timeout=timeout,
        check=False,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    "command", [[], ["serve"], ["worker"], ["migrate"], ["demo"], ["erase"], ["link-cloud"]]
)
def test_every_command_has_help(command: list[str]) -> None:
    result = _run(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: wapipe")


def test_the_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "wapipe"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "demo" in result.stdout


def test_production_without_secrets_stops_naming_the_variable(tmp_path: Path) -> None:
    result = _run("serve", env={"WAPIPE_VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "WAPIPE_SECRET_KEY is missing or a placeholder" in result.stderr


def test_migrate_then_serve_and_refuse_unmigrated(tmp_path: Path) -> None:
    env = {"WAPIPE_MODE": "test", "WAPIPE_VAR_DIR": str(tmp_path), "WAPIPE_LOG_FORMAT": "json"}
    refused = _run("serve", env=env)
    assert refused.returncode != 0
    assert "not migrated" in refused.stderr and "wapipe migrate" in refused.stderr

    migrated = _run("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert '"msg": "database migrated"' in migrated.stderr
    assert (tmp_path / "wapipe.db").exists()


def test_worker_without_redis_explains_itself(tmp_path: Path) -> None:
    env = {"WAPIPE_MODE": "test", "WAPIPE_VAR_DIR": str(tmp_path)}
    assert _run("migrate", env=env).returncode == 0
    result = _run("worker", "--burst", env=env)
    assert result.returncode != 0
    assert "needs WAPIPE_REDIS_URL" in result.stderr


def test_worker_burst_on_redis_starts_and_leaves_the_liveness_list_when_it_stops(
    tmp_path: Path, redis_url: str
) -> None:
    env = {
        "WAPIPE_MODE": "test",
        "WAPIPE_VAR_DIR": str(tmp_path),
        "WAPIPE_REDIS_URL": redis_url,
        "WAPIPE_LOG_FORMAT": "text",
    }
    assert _run("migrate", env=env).returncode == 0
    result = _run("worker", "--burst", env=env)
    assert result.returncode == 0, result.stderr
    assert "worker ready" in result.stderr + result.stdout
    import sqlite3

    with sqlite3.connect(tmp_path / "wapipe.db") as db:
        names = [row[0] for row in db.execute("SELECT name FROM worker_heartbeat")]
    assert names == []  # it stopped cleanly: only a killed worker stays listed (as not beating)


def test_demo_serves_the_app_and_the_pipedrive_sandbox(tmp_path: Path) -> None:
    port, pipedrive_port, waha_port = _free_port(), _free_port(), _free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WAPIPE_")}
    process = subprocess.Popen(
        [
            *WAPIPE,
            "demo",
            "--port",
            str(port),
            "--pipedrive-port",
            str(pipedrive_port),
            "--waha-port",
            str(waha_port),
        ],
        env={**clean, "WAPIPE_VAR_DIR": str(tmp_path), "WAPIPE_MEDIA_DIR": str(tmp_path / "media")},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wapipe, pipedrive = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{pipedrive_port}"
    lines: list[str] = []
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"{wapipe}/healthz", timeout=1)
                sandbox = httpx.get(f"{pipedrive}/", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail("the demo did not answer within 30 s")
                time.sleep(0.2)
        assert response.status_code == 200
        assert response.json()["status"] == "ok"
        assert "All systems working" in httpx.get(f"{wapipe}/").text
        assert sandbox.status_code == 200
        assert "Acme Sales GmbH" in sandbox.text
        # WaPipe is registered in the sandbox with its callback, so the install page opens.
        authorize = httpx.get(
            f"{pipedrive}/oauth/authorize",
            params={"client_id": "wapipe-demo-client", "redirect_uri": f"{wapipe}/oauth/callback"},
        )
        assert authorize.status_code == 200
        assert "Allow and install" in authorize.text
        # The WhatsApp sandbox answers with its key only, and shows its phone page.
        waha = f"http://127.0.0.1:{waha_port}"
        assert httpx.get(f"{waha}/api/sessions").status_code == 401
        assert (
            httpx.get(f"{waha}/api/sessions", headers={"X-Api-Key": "demo-waha-api-key"}).status_code == 200
        )
        assert httpx.get(f"{waha}/", follow_redirects=True).status_code == 200
        # By itself the demo installs WaPipe as the admin and links a number, then says where to click.
        deadline = time.monotonic() + 90
        while not any("Ready:" in line for line in lines):
            assert time.monotonic() < deadline and process.poll() is None, "".join(lines)[-3000:]
            time.sleep(0.2)
        sessions = httpx.get(f"{waha}/api/sessions", headers={"X-Api-Key": "demo-waha-api-key"}).json()
        assert [s["status"] for s in sessions] == ["WORKING"]
    finally:
        process.terminate()
        process.wait(timeout=15)
        reader.join(timeout=5)
    output = "".join(lines)
    assert f"WaPipe status page    {wapipe}/" in output
    assert f"Pipedrive sandbox     {pipedrive}/" in output
    assert "Ready: WaPipe is installed by Anna Admin and +49 170 1112223 is linked" in output
    assert f"The panel          {pipedrive}/host/person/1 " in output
    assert f"{waha}/_sim/phone/{sessions[0]['name']}" in output
    assert f"on its Deal {pipedrive}/host/deal/1" in output
    assert "could not install" not in output
    # The console is what a person reads: the addresses, WaPipe's events, where to click; every request
    # is in the full log, whose place the console names.
    log_file = tmp_path / "demo.log"
    assert f"Full log              {log_file}" in output
    ready_at = next(i for i, line in enumerate(lines) if "Ready:" in line)
    assert ready_at < 25, "".join(lines[:ready_at])
    assert "uvicorn.access" not in output and "httpx" not in output and "alembic" not in output
    written = log_file.read_text()
    assert '"GET /healthz HTTP/1.1" 200' in written and "Running upgrade" in written
    assert "server.services.install: installed" in written
    assert "httpx" not in written  # each call once: as the answering app's access line


def test_erase_names_bad_input_and_reports_as_json(tmp_path: Path) -> None:
    env = {"WAPIPE_MODE": "test", "WAPIPE_VAR_DIR": str(tmp_path)}
    assert _run("migrate", env=env).returncode == 0
    bad_phone = _run("erase", "--company", "1", "--phone", "0171 555", env=env)
    assert bad_phone.returncode != 0
    assert "phone_needs_country_code" in bad_phone.stderr and "has no country code" in bad_phone.stderr
    junk = _run("erase", "--company", "1", "--phone", "+49 176 5550\u200b1234", env=env)
    assert junk.returncode != 0 and "U+200B ZERO WIDTH SPACE" in junk.stderr  # refused, not cut short
    unknown = _run("erase", "--company", "1", "--phone", "+4917655501234", env=env)
    assert unknown.returncode != 0
    assert "no company with Pipedrive id 1" in unknown.stderr
    import json
    import sqlite3

    with sqlite3.connect(tmp_path / "wapipe.db") as db:
        db.execute(
            "INSERT INTO company (pipedrive_company_id, name, api_domain, timezone, created_at, updated_at) "
            "VALUES (1, 'A', 'a', 'UTC', '2026-11-28 00:00:00', '2026-11-28 00:00:00')"
        )
    erased = _run("erase", "--company", "1", "--phone", "+4917655501234", env=env)
    assert erased.returncode == 0, erased.stderr
    assert json.loads(erased.stdout)["erased"] == {
        "chats": 0,
        "messages": 0,
        "attachments": 0,
        "outgoing_messages": 0,
        "webhook_deliveries": 0,
    }


def test_link_cloud_names_what_is_missing(tmp_path: Path) -> None:
    env = {"WAPIPE_MODE": "test", "WAPIPE_VAR_DIR": str(tmp_path)}
    assert _run("migrate", env=env).returncode == 0
    args = ("link-cloud", "--company", "1", "--user", "11", "--phone-number-id", "106540352242922")
    unconfigured = _run(*args, env=env)
    assert unconfigured.returncode != 0 and "cloud_not_configured" in unconfigured.stderr
    configured = {
        **env,
        "WAPIPE_CLOUD_ACCESS_TOKEN": "graph-token-123",
        "WAPIPE_CLOUD_APP_SECRET": "app-secret-456",
        "WAPIPE_CLOUD_VERIFY_TOKEN": "verify-789",
    }
    unknown = _run(*args, env=configured)
    assert unknown.returncode != 0 and "no company with Pipedrive id 1" in unknown.stderr


def _start_demo(var_dir: Path, ports: tuple[int, int, int]) -> tuple[subprocess.Popen[str], list[str]]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WAPIPE_")}
    port, pipedrive_port, waha_port = (str(p) for p in ports)
    process = subprocess.Popen(
        [*WAPIPE, "demo", "--port", port, "--pipedrive-port", pipedrive_port, "--waha-port", waha_port],
        env={**clean, "WAPIPE_VAR_DIR": str(var_dir), "WAPIPE_MEDIA_DIR": str(var_dir / "media")},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True).start()
    return process, lines


def _files(folder: Path) -> set[Path]:
    """The stored files (not a download still being written: a temporary ``.download-*`` file)."""
    return {
        p.relative_to(folder)
        for p in folder.rglob("*")
        if p.is_file() and not p.name.startswith(".download-")
    }


def test_a_second_demo_is_refused_and_leaves_the_running_one_as_it_was(tmp_path: Path) -> None:
    """Started from the same folder (its lock) or on the same ports (from another folder), a second demo
    stops with a message before touching anything: the running demo keeps its database, media and log,
    and goes on working."""
    ports = (_free_port(), _free_port(), _free_port())
    var_dir = tmp_path / "var"
    running, lines = _start_demo(var_dir, ports)
    wapipe = f"http://127.0.0.1:{ports[0]}"
    key = {"X-Api-Key": "demo-waha-api-key"}
    try:
        deadline = time.monotonic() + 90
        while not any("Ready:" in line for line in lines):
            assert time.monotonic() < deadline and running.poll() is None, "".join(lines)[-3000:]
            time.sleep(0.2)
        database = (var_dir / "wapipe.db").stat().st_ino
        while not (media := _files(var_dir / "media")):  # the phone's history brings attachments
            assert time.monotonic() < deadline, "no attachment was stored"
            time.sleep(0.2)
        log_start = (var_dir / "demo.log").read_text()[:2000]

        same_folder = _run(
            "demo",
            "--port",
            str(_free_port()),
            "--pipedrive-port",
            str(_free_port()),
            "--waha-port",
            str(_free_port()),
            env={"WAPIPE_VAR_DIR": str(var_dir)},
        )
        assert same_folder.returncode != 0
        assert f"wapipe demo: another demo is already running from {var_dir} (process {running.pid})" in (
            same_folder.stderr
        )
        assert "Traceback" not in same_folder.stderr and "OperationalError" not in same_folder.stderr

        same_ports = _run("demo", "--port", str(ports[0]), env={"WAPIPE_VAR_DIR": str(tmp_path / "other")})
        assert same_ports.returncode != 0
        assert f"wapipe demo: port {ports[0]} on 127.0.0.1 is already in use" in same_ports.stderr
        assert not (tmp_path / "other" / "wapipe.db").exists()

        assert (var_dir / "wapipe.db").stat().st_ino == database
        assert _files(var_dir / "media") >= media
        assert (var_dir / "demo.log").read_text().startswith(log_start)
        assert "All systems working" in httpx.get(f"{wapipe}/", timeout=10).text
        sessions = httpx.get(f"http://127.0.0.1:{ports[2]}/api/sessions", headers=key, timeout=10).json()
        assert [s["status"] for s in sessions] == ["WORKING"]
        assert running.poll() is None
    finally:
        running.terminate()
        running.wait(timeout=15)
