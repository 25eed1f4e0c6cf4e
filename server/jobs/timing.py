"""How long the jobs wait: ``JobTimings``, part of the jobs' dependencies (``server.jobs.deps``), with the
settings' values put there by the composition root, never read from a module constant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class JobTimings:
    """Every wait a job chooses. The defaults are production's (``WAPIPE_*`` settings override them)."""

    # A chat's first new message, from when its webhook reached us, waits this long for the rest of its
    # burst, so a burst costs one Pipedrive write.
    burst_window: timedelta = timedelta(seconds=3.5)
    busy_retry: timedelta = timedelta(seconds=1)  # another worker holds the chat: look again after this
    retry_base: timedelta = timedelta(seconds=2)  # first retry after a transient failure; doubles per try
    catch_up_every: timedelta = timedelta(minutes=5)  # a connected number's history is re-read this often
    sweep_after: timedelta = timedelta(minutes=1)  # a stored webhook not processed by then is queued again
    campaign_poll: timedelta = timedelta(seconds=30)  # a campaign waiting on its outbox looks again
    campaign_stale: timedelta = timedelta(minutes=3)  # a campaign's run this late is lost: a new one starts
