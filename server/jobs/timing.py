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
    # A catch-up run reads no further page after this; the rest waits for the next run, a fresh job. With
    # one page's read and ingest on top it stays well inside the job's timeout (300 s), which is not retried.
    catch_up_budget: timedelta = timedelta(minutes=2)
    catch_up_pause: timedelta = timedelta(seconds=1)  # between a catch-up's runs: other jobs go first
    sweep_after: timedelta = timedelta(minutes=1)  # a stored webhook not processed by then is queued again
    campaign_poll: timedelta = timedelta(seconds=30)  # a campaign waiting on its outbox looks again
    campaign_stale: timedelta = timedelta(minutes=3)  # a campaign's run this late is lost: a new one starts
    # A send still going after this (a gateway that neither answers nor fails) is given up for now and
    # retried like a transient failure: its message may have gone, so the retry looks for it first. Less
    # than the send job's timeout, which would fail the job instead of retrying it.
    send_deadline: timedelta = timedelta(minutes=2)
    # A stop word from a chat known only by its LID waits for its number: its gateway is asked again this
    # often (the chats WaPipe learns numbers in are looked at every minute).
    opt_out_recheck: timedelta = timedelta(hours=1)
    # An embedded WhatsApp session is held by one worker through a lease this long, renewed this often (less
    # than the lease); a worker looks for sessions nobody runs this often (``server.jobs.session_host``).
    session_lease_ttl: timedelta = timedelta(seconds=15)
    session_lease_renew: timedelta = timedelta(seconds=5)
    session_lease_poll: timedelta = timedelta(seconds=5)
    # An embedded session that cannot connect tries again after ``retry_base``, twice as long each time,
    # never waiting longer than this.
    session_retry_max: timedelta = timedelta(minutes=5)
    heartbeat_every: timedelta = timedelta(seconds=5)  # each process records that it is alive this often
