"""What one sync run needs: the stores, the company's Pipedrive, the WhatsApp transport, and the clock."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from server.domain.deal_index import DealIndex
from server.domain.matching import PhoneIndex
from server.domain.ports.pipedrive import CrmGateway
from server.domain.ports.storage import InboxStore, MediaFiles
from server.domain.ports.sync_store import PhoneIndexStore, SyncStore
from server.domain.ports.whatsapp import WhatsAppTransport
from server.domain.sync import CrmUser, MediaRetry

DEFAULT_UPLOAD_LIMIT = 50 * 1024 * 1024  # Pipedrive documents no file size limit; stay well below any
CHAT_LEASE = timedelta(seconds=15)  # a sync run holds its chat this long, renewed every third of it
INTENT_LEASE = timedelta(minutes=2)  # a create in flight is another run's to finish for this long


class SyncBusy(Exception):
    """Another worker holds this chat (or this create): try again in a moment."""


@dataclass(frozen=True)
class SyncConfig:
    public_url: str
    upload_limit_bytes: int = DEFAULT_UPLOAD_LIMIT
    index_refresh_every: timedelta = timedelta(seconds=60)
    deal_refresh_every: timedelta = timedelta(seconds=30)  # a chat's Deal is picked again at each write
    deal_reload_every: timedelta = timedelta(minutes=15)
    research_unlinked_after: timedelta = timedelta(hours=6)  # auto-add off: search an unknown number again
    chat_lease: timedelta = CHAT_LEASE
    intent_lease: timedelta = INTENT_LEASE
    listing_lease: timedelta = CHAT_LEASE  # a company's full listing of Persons, renewed at every page
    media_retry: MediaRetry = field(default_factory=MediaRetry)  # a failing attachment's own retries


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class IndexEntry:
    index: PhoneIndex
    refreshed_at: datetime
    refreshes_started: int = 1  # counts refreshes, so a waiting lookup can tell one began after it asked


@dataclass
class DealIndexEntry:
    index: DealIndex
    loaded_at: datetime
    refreshed_at: datetime
    refreshes_started: int = 1


@dataclass
class SyncCaches:
    """Per-process caches shared by sync runs: a worker keeps them for its lifetime."""

    indexes: dict[int, IndexEntry] = field(default_factory=dict)
    deal_indexes: dict[int, DealIndexEntry] = field(default_factory=dict)
    users: dict[int, tuple[datetime, list[CrmUser]]] = field(default_factory=dict)
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    def lock(self, name: str) -> asyncio.Lock:
        return self.locks.setdefault(name, asyncio.Lock())


@dataclass
class SyncContext:
    """Everything a sync run touches. ``crm`` is ``None`` while the company has no usable installation."""

    store: SyncStore
    index_store: PhoneIndexStore
    inbox: InboxStore
    media: MediaFiles
    config: SyncConfig
    crm: CrmGateway
    transport: WhatsAppTransport | None = None
    clock: Callable[[], datetime] = utc_now
    worker: str = "worker"
    caches: SyncCaches = field(default_factory=SyncCaches)
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep  # between renewals of the run's lease

    def chat_url(self, chat_id: int) -> str:
        """The chat in WaPipe's web view: the "WhatsApp chat link" field's value."""
        return f"{self.config.public_url.rstrip('/')}/chats/{chat_id}"
