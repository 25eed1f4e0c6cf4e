"""Building the jobs' dependencies (``JobDeps``, ``server.jobs.deps``) once per worker or in-process runner:
what the composition roots (the arq worker, the web process, tests) call."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta

import httpx
from redis.asyncio import Redis

from server.crypto import SecretBox
from server.domain.clock import Clock, SystemClock
from server.domain.ports.queue import JobQueue
from server.domain.ports.storage import MediaFiles
from server.domain.ports.whatsapp import WhatsAppTransport
from server.domain.sync import MediaRetry
from server.jobs.deps import JobDeps, PersonWebhookConfig
from server.jobs.person_events import PIPEDRIVE_WEBHOOK_PATH
from server.jobs.pipedrive_counts import CountedUsage
from server.jobs.rate_limit_redis import RedisRateLimiter
from server.jobs.refresh_lock_redis import RedisRefreshLocks, RefreshLockTimings
from server.jobs.timing import JobTimings
from server.metrics.families import Metrics
from server.pipedrive.connector import PipedriveConnector
from server.pipedrive.oauth import PipedriveOAuth
from server.pipedrive.ratelimit import MemoryRateLimiter, RateLimiter, Sleep
from server.pipedrive.tokens import LocalRefreshLocks, RefreshLock
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
    metrics: Metrics | None = None,
) -> JobDeps:
    """The jobs' stores over ``engine``, with the queue they enqueue on and the numbers' ``transports``.

    Pipedrive (the connector, the installations, set-up and the sync engine's configuration and attachments'
    files) comes with ``pipedrive``; ``timings`` and ``clock`` default to production's (``job_timings`` reads
    the settings'); ``metrics``: what the process counts into (by default a registry nobody scrapes). The
    inbox deletes a deleted message's file from the same store (without ``pipedrive``: from this machine's
    disk).
    """
    files = pipedrive.sync.media_files if pipedrive is not None and pipedrive.sync is not None else None
    deps = JobDeps(
        engine=engine,
        queue=queue,
        companies=SqlCompanyStore(engine),
        heartbeats=SqlHeartbeatStore(engine),
        accounts=SqlAccountStore(engine),
        inbound_events=SqlInboundEventStore(engine),
        inbox=SqlInboxStore(engine, files),
        outbox=SqlOutboxStore(engine),
        sync_store=SqlSyncStore(engine),
        phone_index=SqlPhoneIndexStore(engine),
        runner_name=runner_name(kind),
        transports=transports if transports is not None else {},  # the same mapping the process holds
        clock=clock or SystemClock(),
        timings=timings or JobTimings(),
        metrics=metrics or Metrics(),
    )
    return deps if pipedrive is None else pipedrive.for_jobs(deps)


@dataclass(frozen=True)
class SyncWiring:
    """The sync engine's configuration and the attachments' files (on disk or in a bucket)."""

    config: SyncConfig
    media_files: MediaFiles


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


def pipedrive_wiring(
    settings: Settings,
    engine: Database,
    http: httpx.AsyncClient,
    redis: Redis | None = None,
    *,
    media: MediaFiles,
    sleep: Sleep = asyncio.sleep,
    metrics: Metrics | None = None,
) -> PipedriveWiring:
    """OAuth client, encrypted installation store and connector over the shared Pipedrive ``http``; the sync
    engine keeps attachments in ``media`` (``server.media_store.open_media_files``).

    Pipedrive's rate limits are counted and token refreshes locked on ``redis`` when the deployment runs on
    it (every worker and the web process share them), else in this process (the in-process runner is the
    only one). The counts of requests, 429s and tokens go into ``metrics``, per process.
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
        refresh_locks(settings, redis),
        limiter=rate_limiter(redis),
        meter=CountedUsage(metrics) if metrics is not None else None,
        sleep=sleep,
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
            media,
            lease=timedelta(seconds=settings.sync_lease),
            media_retry=MediaRetry(timedelta(seconds=settings.media_retry_base), settings.media_attempts),
        ),
        person_webhook=PersonWebhookConfig(
            settings.public_url.rstrip("/") + PIPEDRIVE_WEBHOOK_PATH, settings.secret_key.get_secret_value()
        ),
    )


def rate_limiter(redis: Redis | None) -> RateLimiter:
    """Pipedrive's rate limits: on Redis when there is one, so every process counts together, else in this
    process."""
    return MemoryRateLimiter() if redis is None else RedisRateLimiter(redis)


def refresh_locks(settings: Settings, redis: Redis | None) -> RefreshLock:
    """The Pipedrive refresh lock: on Redis when there is one, else in this process."""
    if redis is None:
        return LocalRefreshLocks()
    timings = RefreshLockTimings(
        ttl=timedelta(seconds=settings.refresh_lock_ttl),
        wait=timedelta(seconds=settings.refresh_lock_wait),
        poll=timedelta(seconds=settings.refresh_lock_poll),
    )
    return RedisRefreshLocks(redis, timings)


def sync_wiring(
    public_url: str,
    media: MediaFiles,
    *,
    lease: timedelta | None = None,
    media_retry: MediaRetry | None = None,
) -> SyncWiring:
    """The sync engine's configuration over the attachments' ``media`` (``lease``: how long a run holds a
    chat, a create in flight or a company's listing of Persons; ``media_retry``: how a failing attachment
    is retried; the defaults are production's)."""
    config = SyncConfig(public_url=public_url)
    if lease is not None:
        config = replace(config, chat_lease=lease, intent_lease=lease, listing_lease=lease)
    if media_retry is not None:
        config = replace(config, media_retry=media_retry)
    return SyncWiring(config, media)


def job_timings(settings: Settings) -> JobTimings:
    """The waits the settings choose."""
    return JobTimings(
        burst_window=timedelta(seconds=settings.sync_burst_window),
        busy_retry=timedelta(seconds=settings.busy_retry),
        retry_base=timedelta(seconds=settings.retry_base),
        catch_up_every=timedelta(seconds=settings.catch_up_every),
        catch_up_budget=timedelta(seconds=settings.catch_up_budget),
        catch_up_pause=timedelta(seconds=settings.catch_up_pause),
        sweep_after=timedelta(seconds=settings.sweep_after),
        campaign_poll=timedelta(seconds=settings.campaign_poll),
        campaign_stale=timedelta(seconds=settings.campaign_stale),
        send_deadline=timedelta(seconds=settings.send_deadline),
        opt_out_recheck=timedelta(seconds=settings.opt_out_recheck),
        session_lease_ttl=timedelta(seconds=settings.session_lease_ttl),
        session_lease_renew=timedelta(seconds=settings.session_lease_renew),
        session_lease_poll=timedelta(seconds=settings.session_lease_poll),
        session_retry_max=timedelta(seconds=settings.session_retry_max),
        heartbeat_every=timedelta(seconds=settings.heartbeat_every),
    )
