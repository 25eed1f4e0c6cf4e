"""The real job functions, run by both backends against a migrated database."""

from __future__ import annotations

from collections.abc import Callable

from server.jobs.functions import MAX_JOBS
from server.jobs.worker import build_worker
from server.settings import Settings


def test_the_arq_worker_picks_up_deferred_jobs_within_a_tenth_of_a_second_and_runs_many_at_once(
    make_settings: Callable[..., Settings], redis_url: str
) -> None:
    worker = build_worker(make_settings(redis_url=redis_url))
    try:
        assert worker.poll_delay_s == 0.1  # arq's default, 0.5 s, would delay every burst's sync
        assert worker.max_jobs == MAX_JOBS == 40
    finally:
        # arq put its signal handlers on a loop of its own; closed here, in the main thread, not by the
        # garbage collector in whichever thread it happens to run
        worker.loop.close()
