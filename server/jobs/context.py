"""Building the jobs' dependencies (``JobDeps``, ``server.jobs.deps``) once per worker or in-process runner:
what the composition roots (the arq worker, the web process, tests) call."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import httpx

from server.crypto import SecretBox
from server.domain.clock import Clock, SystemClock
from server.domain.ports.queue import JobQueue
from server.domain.ports.whatsapp import WhatsAppTransport
from server.domain.sync import MediaRetry
from server.jobs.deps import JobDeps, PersonWebhookConfig
from server.jobs.person_events import PIPEDRIVE_WEBHOOK_PATH
from server.jobs.timing import JobTimings
from server.pipedrive.connector import PipedriveConnector
from server.pipedrive.metering import MemoryUsageMeter
from server.pipedrive.oauth import PipedriveOAuth
from server.pipedrive.ratelimit import MemoryRateLimiter
from server.pipedrive.tokens import LocalRefreshLocks
from server.services.sync.context import SyncConfig
from server.settings import Settings
from server.storage.accounts import SqlAccountStore
from server.storage.companies import SqlCompanyStore
from server.storage.company_setup import SqlCompanySetupStore
from server.storage.engine import Database
from server.storage.heartbeats import SqlHeartbeatStore
from server.storage.inbound_events import SqlInboundEventStore
from server.storage.inbox import SqlInboxStore
from server.storage.installations import SqlInstallationStore
from server.storage.media import DiskMediaFiles
from server.storage.outbox import SqlOutboxStore
from server.storage.sync import SqlSyncStore
from server.storage.sync_index import SqlPhoneIndexStore

CALLBACK_PATH = "/oauth/callback"


def runner_name(kind: str) -> str:
    return f"{kind}:{socket.gethostname()}:{os.getpid()}"


def job_deps_for(
    engine: Database,
    *,
    queue: JobQueue,
    kind: str,
    transports: Mapping[str, WhatsAppTransport] | None = None,
    pipedrive: PipedriveWiring | None = None,
    timings: JobTimings | None = None,
    clock: Clock | None = None,
) -> JobDeps:
    """The jobs' stores over ``engine``, with the queue they enqueue on and the numbers' ``transports``.

    Pipedrive (the connector, the installations, set-up and the sync engine's configuration) comes with
    ``pipedrive``; ``timings`` and ``clock`` default to production's (``job_timings`` reads the settings').
    """
    deps = JobDeps(
        engine=engine,
        queue=queue,
        companies=SqlCompanyStore(engine),
        heartbeats=SqlHeartbeatStore(engine),
        accounts=SqlAccountStore(engine),
        inbound_events=SqlInboundEventStore(engine),
        inbox=SqlInboxStore(engine),
        outbox=SqlOutboxStore(engine),
        sync_store=SqlSyncStore(engine),
        phone_index=SqlPhoneIndexStore(engine),
        runner_name=runner_name(kind),
        transports=transports if transports is not None else {},  # the same mapping the process holds
        clock=clock or SystemClock(),
        timings=timings or JobTimings(),
    )
    return deps if pipedrive is None else pipedrive.for_jobs(deps)


@dataclass(frozen=True)
class SyncWiring:
    """The sync engine's configuration and the attachments' store on disk."""

    config: SyncConfig
    media_files: DiskMediaFiles


@dataclass(frozen=True)
class PipedriveWiring:
    """Everything that talks to Pipedrive on an installation's behalf, built once per process."""

    box: SecretBox
    oauth: PipedriveOAuth
    installations: SqlInstallationStore
    company_setup: SqlCompanySetupStore
    connector: PipedriveConnector
    data_retention_days: int
    sync: SyncWiring | None = None  # the sync engine's config and media files
    person_webhook: PersonWebhookConfig | None = None  # where set-up subscribes Person changes

    def for_jobs(self, deps: JobDeps) -> JobDeps:
        """``deps`` with the install, set-up and sync jobs' Pipedrive parts."""
        deps = replace(
            deps,
            installations=self.installations,
            company_setup=self.company_setup,
            pipedrive=self.connector,
            data_retention_days=self.data_retention_days,
            person_webhook=self.person_webhook,
        )
        if self.sync is not None:
            deps = replace(deps, sync_config=self.sync.config, media_files=self.sync.media_files)
        return deps


def pipedrive_wiring(settings: Settings, engine: Database, http: httpx.AsyncClient) -> PipedriveWiring:
    """OAuth client, encrypted installation store and connector over the shared Pipedrive ``http``.

    Rate limits, usage and refresh locks are per process here; several workers share the refresh safety
    net of re-reading the stored tokens under the lock.
    """
    box = SecretBox.from_setting(settings.encryption_keys.get_secret_value())
    oauth = PipedriveOAuth(
        http,
        client_id=settings.pipedrive_client_id,
        client_secret=settings.pipedrive_client_secret.get_secret_value(),
        redirect_uri=settings.public_url.rstrip("/") + CALLBACK_PATH,
        oauth_url=settings.pipedrive_oauth_url,
    )
    installations = SqlInstallationStore(engine, box)
    connector = PipedriveConnector(
        http,
        oauth,
        installations,
        LocalRefreshLocks(),
        limiter=MemoryRateLimiter(),
        meter=MemoryUsageMeter(),
    )
    return PipedriveWiring(
        box=box,
        oauth=oauth,
        installations=installations,
        company_setup=SqlCompanySetupStore(engine),
        connector=connector,
        data_retention_days=settings.data_retention_days,
        sync=sync_wiring(
            settings.public_url,
            settings.media_dir,
            lease=timedelta(seconds=settings.sync_lease),
            media_retry=MediaRetry(timedelta(seconds=settings.media_retry_base), settings.media_attempts),
        ),
        person_webhook=PersonWebhookConfig(
            settings.public_url.rstrip("/") + PIPEDRIVE_WEBHOOK_PATH, settings.secret_key.get_secret_value()
        ),
    )


def sync_wiring(
    public_url: str, media_dir: Path, *, lease: timedelta | None = None, media_retry: MediaRetry | None = None
) -> SyncWiring:
    """The sync engine's configuration and media store (``lease``: how long a run holds a chat or a create
    in flight; ``media_retry``: how a failing attachment is retried; the defaults are production's)."""
    config = SyncConfig(public_url=public_url)
    if lease is not None:
        config = replace(config, chat_lease=lease, intent_lease=lease)
    if media_retry is not None:
        config = replace(config, media_retry=media_retry)
    return SyncWiring(config, DiskMediaFiles(media_dir))


def job_timings(settings: Settings) -> JobTimings:
    """The waits the settings choose."""
    return JobTimings(
        burst_window=timedelta(seconds=settings.sync_burst_window),
        busy_retry=timedelta(seconds=settings.busy_retry),
        retry_base=timedelta(seconds=settings.retry_base),
        catch_up_every=timedelta(seconds=settings.catch_up_every),
        sweep_after=timedelta(seconds=settings.sweep_after),
        campaign_poll=timedelta(seconds=settings.campaign_poll),
        campaign_stale=timedelta(seconds=settings.campaign_stale),
    )
