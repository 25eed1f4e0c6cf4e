"""``apply_retention`` (daily cron): delete each company's messages and attachment files older than the
days its admin chose on the settings page (``server.storage.retention`` says what is kept and why).

``retry_media_deletions`` (every five minutes) tries again the files whose deletion failed or never ran.

A company whose timezone is unknown is skipped (its days cannot be told apart); the others still run.
Running it twice deletes nothing more. Edits and deletions that waited for their message longer than 8
days are given up on the same run, whatever the companies' periods.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from server.domain.days import company_zone
from server.domain.errors import InvalidInput
from server.jobs.deps import job_deps
from server.storage.media_deletions import retry_deletions
from server.storage.retention import RetentionOutcome, SqlRetention
from server.storage.waiting_changes import forget_expired_changes

log = logging.getLogger(__name__)


async def apply_retention(ctx: dict[str, Any], now: datetime | None = None) -> list[RetentionOutcome]:
    """What was deleted, per company with a retention period."""
    deps = job_deps(ctx)
    engine = deps.engine
    retention = SqlRetention(engine, deps.media_files)  # without attachment storage: this machine's disk
    moment = now or datetime.now(UTC)
    given_up = await forget_expired_changes(engine, moment)
    if given_up:
        log.info("changes to messages never stored given up", extra={"count": given_up})
    outcomes: list[RetentionOutcome] = []
    for policy in await retention.policies():
        try:
            zone = company_zone(policy.timezone)
        except InvalidInput:
            log.warning("retention skipped: unknown timezone", extra={"company": policy.company_id})
            continue
        outcome = await retention.apply(policy, zone, moment)
        outcomes.append(outcome)
        log.info(
            "retention applied",
            extra={
                "company": policy.company_id,
                "message_days": policy.message_days,
                "media_days": policy.media_days,
                **outcome.as_dict(),
            },
        )
    return outcomes


async def retry_media_deletions(ctx: dict[str, Any], now: datetime | None = None) -> dict[str, int]:
    """Try again the attachment files whose deletion failed or never ran (``server.storage.media_deletions``);
    what became of them."""
    deps = job_deps(ctx)
    outcome = await retry_deletions(deps.engine, deps.media_files, now or deps.clock.now())
    if outcome.deleted or outcome.failed or outcome.in_use:
        log.info("attachment files deleted again", extra=outcome.as_dict())
    return outcome.as_dict()
