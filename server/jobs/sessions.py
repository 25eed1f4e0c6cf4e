"""Watching the linked numbers' sessions: a cron job asks each gateway session how it is, records it (the
numbers page and the panels show disconnected numbers with the reason), and runs catch-up on a timer.

Webhooks report most changes as they happen; this catches what they cannot: a gateway that restarted, a
session stuck ``WORKING`` that stopped delivering (its missed messages come back through catch-up).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from server.domain.errors import WaPipeError
from server.domain.whatsapp import SessionStatus
from server.jobs.deps import job_deps
from server.jobs.inbound import catch_up_job_id

log = logging.getLogger(__name__)


async def watch_sessions(ctx: dict[str, Any]) -> str:
    deps = job_deps(ctx)
    accounts, inbox = deps.accounts, deps.inbox
    now = deps.clock.now()
    every = deps.timings.catch_up_every
    checked = caught_up = unreachable = 0
    for account in await accounts.watched():
        transport = deps.transports.get(account.transport)
        if transport is None:
            continue
        try:
            status = await transport.status(account.session_name)
            me = await transport.me(account.session_name) if status is SessionStatus.CONNECTED else None
        except WaPipeError as error:
            unreachable += 1
            await accounts.set_status(account.id, account.status, f"gateway not reachable: {error.reason}")
            continue
        checked += 1
        applied = await inbox.record_session(account.id, status, "", me, None)
        back = applied and account.status != SessionStatus.CONNECTED.value  # it just came back
        if status is SessionStatus.CONNECTED and (back or _on_the_beat(now, every)):
            trigger = "reconnect" if back else "watchdog"
            await deps.queue.enqueue(
                "catch_up_account", account.id, trigger, job_id=catch_up_job_id(account.id)
            )
            caught_up += 1
    return f"{checked} checked, {caught_up} catching up, {unreachable} unreachable"


def _on_the_beat(now: datetime, every: timedelta) -> bool:
    """Whether the minute ``now`` falls in starts a catch-up period (the watcher runs once a minute)."""
    minutes = max(1, int(every.total_seconds() // 60))
    return (int(now.timestamp()) // 60) % minutes == 0
