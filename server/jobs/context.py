"""What every job finds in ``ctx``: built once per worker (or per in-process runner) by a composition root."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from server.crypto import SecretBox
from server.domain.clock import Clock, SystemClock
from server.domain.ports.whatsapp import WhatsAppTransport
from server.domain.sync import MediaRetry
from server.jobs.person_events import PIPEDRIVE_WEBHOOK_PATH
from server.jobs.setup import PersonWebhookConfig
from server.jobs.timing import JobTimings
from server.pipedrive.connector import PipedriveConnector
from server.pipedrive.metering import MemoryUsageMeter
from server.pipedrive.oauth import PipedriveOAuth
from server.pipedrive.ratelimit import MemoryRateLimiter
from server.pipedrive.tokens import LocalRefreshLocks
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

CALLBACK_PATH = "/oauth/callback"


def runner_name(kind: str) -> str:
    return f"{kind}:{socket.gethostname()}:{os.getpid()}"


def job_context(
    engine: Database,
    *,
    kind: str,
    transports: dict[str, WhatsAppTransport] | None = None,
    pipedrive: Any = None,
    public_url: str | None = None,
    media_dir: Path | None = None,
) -> dict[str, Any]:
    """Stores and transports for jobs; the composition root adds ``queue`` once the queue exists.

    The sync engine runs when ``pipedrive`` (a ``PipedriveForCompany``, e.g. the connector) and
    ``public_url`` are given; attachments are kept under ``media_dir``.
    """
    from server.jobs.sync import sync_stores
    from server.services.sync.context import SyncConfig

    sync: dict[str, Any] = sync_stores(engine)
    if media_dir is not None:
        sync["media_files"] = DiskMediaFiles(media_dir)
    if pipedrive is not None and public_url is not None:
        sync["pipedrive"] = pipedrive
        sync["sync_config"] = SyncConfig(public_url=public_url)
    return {
        **sync,
        "engine": engine,
        "runner_name": runner_name(kind),
        "companies": SqlCompanyStore(engine),
        "heartbeats": SqlHeartbeatStore(engine),
        "accounts": SqlAccountStore(engine),
        "inbound_events": SqlInboundEventStore(engine),
        "inbox": SqlInboxStore(engine),
        "outbox": SqlOutboxStore(engine),
        "transports": transports or {},
    }


@dataclass(frozen=True)
class PipedriveWiring:
    """Everything that talks to Pipedrive on an installation's behalf, built once per process."""

    box: SecretBox
    oauth: PipedriveOAuth
    installations: SqlInstallationStore
    company_setup: SqlCompanySetupStore
    connector: PipedriveConnector
    data_retention_days: int
    sync: dict[str, Any] = field(default_factory=dict)  # the sync engine's config and media files
    person_webhook: PersonWebhookConfig | None = None  # where set-up subscribes Person changes

    def job_entries(self) -> dict[str, Any]:
        """What the install and sync jobs find in ``ctx``."""
        return {
            "installations": self.installations,
            "company_setup": self.company_setup,
            "pipedrive": self.connector,
            "data_retention_days": self.data_retention_days,
            "person_webhook": self.person_webhook,
            **self.sync,
        }


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
        sync=sync_entries(
            settings.public_url,
            settings.media_dir,
            lease=timedelta(seconds=settings.sync_lease),
            media_retry=MediaRetry(timedelta(seconds=settings.media_retry_base), settings.media_attempts),
        ),
        person_webhook=PersonWebhookConfig(
            settings.public_url.rstrip("/") + PIPEDRIVE_WEBHOOK_PATH, settings.secret_key.get_secret_value()
        ),
    )


def sync_entries(
    public_url: str, media_dir: Path, *, lease: timedelta | None = None, media_retry: MediaRetry | None = None
) -> dict[str, Any]:
    """The sync engine's configuration and media store for ``ctx`` (``lease``: how long a run holds a chat
    or a create in flight; ``media_retry``: how a failing attachment is retried; the defaults are
    production's)."""
    from server.services.sync.context import SyncConfig

    config = SyncConfig(public_url=public_url)
    if lease is not None:
        config = replace(config, chat_lease=lease, intent_lease=lease)
    if media_retry is not None:
        config = replace(config, media_retry=media_retry)
    return {"sync_config": config, "media_files": DiskMediaFiles(media_dir)}


def job_timings(settings: Settings) -> JobTimings:
    """The waits the settings choose."""
    return JobTimings(
        burst_window=timedelta(seconds=settings.sync_burst_window),
        busy_retry=timedelta(seconds=settings.busy_retry),
        retry_base=timedelta(seconds=settings.retry_base),
        catch_up_every=timedelta(seconds=settings.catch_up_every),
        sweep_after=timedelta(seconds=settings.sweep_after),
    )


def timing_entries(settings: Settings, clock: Clock | None = None) -> dict[str, Any]:
    """What jobs read the time and their waits from: ``ctx["clock"]`` and ``ctx["timings"]``."""
    return {"clock": clock or SystemClock(), "timings": job_timings(settings)}
