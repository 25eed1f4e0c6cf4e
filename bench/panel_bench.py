"""Panel benchmark: server time per panel request with a 500-message history and warm caches (p50/p99),
and the panel's load-to-interactive time in Chromium (until the SDK's ``initialize`` reached the host).

    .venv/bin/python -m bench.panel_bench            # prints JSON
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from server.domain.whatsapp import InboundMessage, Peer
from server.settings import Mode, load_settings
from server.storage.inbox import SqlInboxStore
from tests.panel.world import ANNA_NUMBER, panel_world
from tests.world import world_settings_overrides

HISTORY = 500
TARGET_P99_MS = 100.0


async def server_times(requests: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="wapipe-panel-bench-") as tmp:
        settings = load_settings(
            mode=Mode.TEST,
            var_dir=Path(tmp),
            media_dir=Path(tmp) / "media",
            log_format="text",
            **world_settings_overrides(),
        )
        async with panel_world(settings) as world:
            inbox = SqlInboxStore(world.resources.engine)
            contact = Peer(chat_key="4917655501234@s.whatsapp.net", e164="+4917655501234")
            me = Peer(chat_key=f"{ANNA_NUMBER}@s.whatsapp.net", e164="+" + ANNA_NUMBER)
            start = datetime.now(UTC) - timedelta(days=30)
            chat_id = await inbox.upsert_chat(1, contact, start)
            for index in range(HISTORY):
                mine = index % 2 == 0
                await inbox.add_message(
                    1,
                    chat_id,
                    InboundMessage(
                        account_id="wp-acme-anna",
                        wa_message_id=f"BENCH{index:05d}",
                        chat=contact,
                        sender=me if mine else contact,
                        from_me=mine,
                        sent_at=start + timedelta(minutes=index),
                        text=f"message {index} " + "x" * 80,
                    ),
                )
            params: dict[str, Any] = {
                "resource": "person",
                "selectedIds": world.persons["maria"],
                "id": "bench",
            }
            timings: dict[str, list[float]] = {"panel": [], "messages": []}
            for _ in range(3):  # warm the Pipedrive cache, templates and connections
                await world.client.get("/panel", params={**params, "token": world.token()})
            for _ in range(requests):
                began = time.perf_counter()
                answer = await world.client.get("/panel", params={**params, "token": world.token()})
                timings["panel"].append((time.perf_counter() - began) * 1000)
                assert answer.status_code == 200 and "message 499" in answer.text
                began = time.perf_counter()
                await world.client.get(
                    "/panel/messages", params={"person_id": world.persons["maria"]}, headers=world.headers()
                )
                timings["messages"].append((time.perf_counter() - began) * 1000)
    return {name: _summary(values) for name, values in timings.items()}


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
        "requests": len(ordered),
    }


def load_to_interactive(runs: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.e2e.demo_world import running_demo, running_sandboxes

    times: list[float] = []
    with (
        tempfile.TemporaryDirectory(prefix="wapipe-panel-bench-") as tmp,
        running_sandboxes() as sandboxes,
        running_demo(Path(tmp), sandboxes) as (_, addresses),
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page()
        for _ in range(runs):
            began = time.perf_counter()
            page.goto(f"{addresses.pipedrive}/host/person/1")
            page.wait_for_function("() => window.__pdHost && window.__pdHost.initialized === true")
            times.append((time.perf_counter() - began) * 1000)
        browser.close()
    return _summary(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--browser-runs", type=int, default=5)
    args = parser.parse_args()
    server = asyncio.run(server_times(args.requests))
    result = {
        "history_messages": HISTORY,
        "server": server,
        "target_p99_ms": TARGET_P99_MS,
        "meets_target": server["panel"]["p99_ms"] <= TARGET_P99_MS,
        "load_to_interactive": load_to_interactive(args.browser_runs),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
