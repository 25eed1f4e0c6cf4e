"""What every job works with: one frozen ``JobDeps``, put in arq's ``ctx`` under one key by a composition
root (the arq worker, the web process's in-process runner, tests), and the per-run values arq adds.

This is the one module that reads ``ctx``: job bodies call ``job_deps(ctx)`` for their dependencies and
``job_try(ctx)`` / ``job_id(ctx)`` for the run's try count and id. Parts that not every process has (the
Pipedrive connector and what hangs off it, the sync engine's configuration, the media files) are ``None``
where they are missing; the other defaults are production's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from arq.connections import ArqRedis

from server.domain.clock import Clock, SystemClock
from server.domain.ports.pipedrive import PipedriveForCompany
from server.domain.ports.queue import JobQueue
from server.domain.ports.recipients import OptOutMarker, RecipientSource
from server.domain.ports.storage import MediaFiles
from server.domain.ports.whatsapp import WhatsAppTransport
from server.jobs.timing import JobTimings
from server.metrics.families import Metrics
from server.pipedrive.client import PipedriveClient
from server.services.cloud_templates import TemplateCache
from server.services.deliver import FileBytes, file_bytes_cache
from server.services.sent_media import FilePlaces, file_places_cache
from server.services.sync.context import SyncCaches, SyncConfig
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


class CampaignPipedrive(RecipientSource, OptOutMarker, Protocol):
    """A company's Pipedrive as campaigns use it (``server.pipedrive.recipients.PipedriveRecipients``)."""


CampaignPipedriveFor = Callable[[int], Awaitable[CampaignPipedrive]]
DEPS_KEY = "wapipe"  # where the composition root puts the JobDeps in arq's ctx
DEFAULT_RETENTION_DAYS = 30


@dataclass(frozen=True)
class PersonWebhookConfig:
    """Where Pipedrive delivers Person changes, and the server secret their credentials derive from."""

    url: str
    secret: str = field(repr=False)


@dataclass(frozen=True)
class JobDeps:
    """The stores, transports, queue, clock and configuration the jobs use, built once per process."""

    engine: Database
    queue: JobQueue
    companies: SqlCompanyStore
    heartbeats: SqlHeartbeatStore
    accounts: SqlAccountStore
    inbound_events: SqlInboundEventStore
    inbox: SqlInboxStore
    outbox: SqlOutboxStore
    sync_store: SqlSyncStore
    phone_index: SqlPhoneIndexStore
    runner_name: str = "worker"  # this process, as its heartbeats and sync leases name it
    transports: Mapping[str, WhatsAppTransport] = field(default_factory=dict)  # by kind: "waha", "cloud"
    clock: Clock = field(default_factory=SystemClock)
    timings: JobTimings = field(default_factory=JobTimings)  # every wait a job chooses
    metrics: Metrics = field(default_factory=Metrics)  # what the process counts (jobs, the sync's lag)
    # Pipedrive, built with the installations' encryption key (``PipedriveWiring``):
    pipedrive: PipedriveForCompany[PipedriveClient] | None = None  # the connector: a company's client
    installations: SqlInstallationStore | None = None
    company_setup: SqlCompanySetupStore | None = None
    person_webhook: PersonWebhookConfig | None = None  # where set-up subscribes Person changes
    data_retention_days: int = DEFAULT_RETENTION_DAYS  # an uninstalled company's data is kept this long
    # The sync engine runs when both ``pipedrive`` and ``sync_config`` are set:
    sync_config: SyncConfig | None = None
    media_files: MediaFiles | None = None  # attachments' files: on disk or in a bucket
    sync_caches: SyncCaches = field(default_factory=SyncCaches)  # kept for the process's lifetime
    # Campaigns read recipients and mark opt-outs through this; None: the admin installation (``pipedrive``)
    campaign_pipedrive: CampaignPipedriveFor | None = None
    # Pipedrive files sent lately (a campaign's attachment): their bytes and where they are, per process
    sent_files: FileBytes = field(default_factory=file_bytes_cache)
    file_places: FilePlaces = field(default_factory=file_places_cache)
    approved_templates: TemplateCache = field(default_factory=TemplateCache)  # Meta's, per Cloud API number

    @property
    def sync_enabled(self) -> bool:
        return self.pipedrive is not None and self.sync_config is not None


def job_ctx(deps: JobDeps) -> dict[str, Any]:
    """The ``ctx`` entries a composition root hands its job runner."""
    return {DEPS_KEY: deps}


def job_deps(ctx: Mapping[str, Any]) -> JobDeps:
    deps = ctx.get(DEPS_KEY)
    if not isinstance(deps, JobDeps):
        raise RuntimeError(
            f"the job context holds no JobDeps under {DEPS_KEY!r}: a composition root puts them"
        )
    return deps


def job_try(ctx: Mapping[str, Any]) -> int:
    """Which try of the job this run is, from 1 (arq's ``job_try``)."""
    return int(ctx.get("job_try", 1))


def job_due_at(ctx: Mapping[str, Any]) -> datetime | None:
    """When the running job became due to start (arq's ``score``, milliseconds since the epoch; the
    in-process runner gives the same), or ``None`` where the runner did not say."""
    score = ctx.get("score")
    if not isinstance(score, int | float):
        return None
    return datetime.fromtimestamp(score / 1000, UTC)


def job_id(ctx: Mapping[str, Any]) -> str:
    """The running job's id (arq's ``job_id``)."""
    return str(ctx.get("job_id", ""))


def arq_redis(ctx: Mapping[str, Any]) -> ArqRedis:
    """The Redis connection arq's worker puts in ``ctx`` (``redis``)."""
    redis: ArqRedis = ctx["redis"]
    return redis
