"""WaPipe's database and sync engine wired to the Pipedrive sandbox, with a scriptable WhatsApp side.

Messages are stored through the real inbox store; ``sync`` runs the real ``sync_chat`` job function
(retries included) against the sandbox through the production Pipedrive client.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from arq.worker import Retry
from sqlalchemy import insert, select, update

from sandbox.pipedrive.app import create_app
from sandbox.pipedrive.seed import ALL_SCOPES
from sandbox.pipedrive.state import Clock, SandboxState
from server.domain.clock import ControlledClock
from server.domain.errors import GatewayUnavailable, MediaExpired, NotFound
from server.domain.sync import SETTINGS_DEFAULTS
from server.domain.whatsapp import (
    GroupInfo,
    InboundMessage,
    MediaKind,
    MediaRef,
    MessageOrigin,
    Peer,
)
from server.jobs.context import sync_wiring
from server.jobs.deps import JobDeps, job_ctx
from server.jobs.sync import sync_chat
from server.pipedrive.client import PipedriveClient
from server.pipedrive.metering import MemoryUsageMeter
from server.pipedrive.oauth import TokenSet
from server.pipedrive.ratelimit import MemoryRateLimiter, RateScope
from server.storage.accounts import SqlAccountStore
from server.storage.companies import SqlCompanyStore
from server.storage.engine import make_async_engine
from server.storage.inbox import SqlInboxStore
from server.storage.media import DiskMediaFiles
from server.storage.tables import CompanySettings, Installation, table_of
from server.whatsapp.waha import WAHA_CAPABILITIES
from tests.job_deps import deps_over
from tests.world import migrated_database

SANDBOX = "http://pipedrive.sandbox"
PUBLIC_URL = "https://wapipe.test"
OUR_NUMBER = "+4915112345678"
ADMIN_EMAIL = "anna@acme.test"
AGENT_EMAIL = "bob@acme.test"


class StaticTokens:
    def __init__(self, tokens: TokenSet) -> None:
        self.tokens = tokens

    async def current(self) -> TokenSet:
        return self.tokens

    async def refresh_rejected(self, rejected: TokenSet) -> TokenSet:
        return self.tokens


class FixedConnector:
    """``PipedriveForCompany`` for tests: every company gets the same sandbox client."""

    def __init__(self, client: PipedriveClient) -> None:
        self.client = client

    async def for_company(self, company_id: int) -> PipedriveClient:
        return self.client


class FakeTransport:
    """The WhatsApp side of attachments and hidden identities."""

    kind = "waha"

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.failing: set[str] = set()  # locators whose download fails as a gateway's 503 would
        self.lids: dict[str, str] = {}
        self.group_subjects: dict[str, str] = {}
        self.fetches: list[str] = []
        self.capabilities = WAHA_CAPABILITIES  # a WAHA gateway's, as the fakes stand in for one

    async def fetch_media(self, account_id: str, media: MediaRef) -> AsyncIterator[bytes]:
        self.fetches.append(media.locator or "")
        if media.locator in self.failing:
            raise GatewayUnavailable("The media file download failed with HTTP 503; try again")
        data = self.files.get(media.locator or "")
        if data is None:
            raise MediaExpired("gone")
        for start in range(0, len(data), 64 * 1024):
            yield data[start : start + 64 * 1024]

    async def group_info(self, account_id: str, group_key: str) -> GroupInfo:
        if group_key not in self.group_subjects:
            raise NotFound(f"no group {group_key}")
        return GroupInfo(Peer(group_key, is_group=True), self.group_subjects[group_key])

    async def resolve_lid(self, account_id: str, lid: str) -> Peer:
        e164 = self.lids.get(lid)
        return Peer(chat_key=lid, e164=e164, lid=lid)


class RecordingQueue:
    def __init__(self) -> None:
        self.jobs: list[tuple[str, tuple[Any, ...], str | None]] = []

    async def enqueue(
        self, function: str, *args: Any, job_id: str | None = None, defer_by: Any = None
    ) -> bool:
        self.jobs.append((function, args, job_id))
        return True

    async def ping(self) -> None:
        return None

    async def is_running(self, job_id: str) -> bool:
        return False


@dataclass
class SyncWorld:
    pd: SandboxState
    pd_company: int
    admin_id: int
    agent_id: int
    client: PipedriveClient
    meter: MemoryUsageMeter
    deps: JobDeps  # what the jobs run with: replace parts with dataclasses.replace
    engine: Any
    inbox: SqlInboxStore
    company_id: int
    account_id: int
    session: str
    transport: FakeTransport
    queue: RecordingQueue
    clock: ControlledClock
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    chat_ids: dict[str, int] = field(default_factory=dict)

    @property
    def ctx(self) -> dict[str, Any]:
        """A job's ``ctx`` holding ``deps``."""
        return job_ctx(self.deps)

    # WhatsApp side -----------------------------------------------------------------------------------
    async def message(
        self,
        number: str | None,
        text: str = "",
        *,
        at: datetime | None = None,
        from_me: bool = False,
        name: str | None = None,
        group: str | None = None,
        group_name: str | None = None,
        media: bytes | None = None,
        kind: MediaKind = MediaKind.IMAGE,
        filename: str | None = None,
        mime: str = "image/png",
        lid: str | None = None,
        message_id: str | None = None,
    ) -> int:
        """Store one message through the inbox (as the inbound path does); the chat's id."""
        wa_id = message_id or f"WA{next(self.ids):08d}"
        if group is not None:
            chat = Peer(chat_key=group, is_group=True, display_name=group_name)
        elif lid is not None:
            chat = Peer(chat_key=lid, lid=lid, display_name=name)
        else:
            assert number is not None
            chat = Peer(chat_key=f"{number.lstrip('+')}@s.whatsapp.net", e164=number, display_name=name)
        if from_me:
            sender = Peer(chat_key=f"{OUR_NUMBER[1:]}@s.whatsapp.net", e164=OUR_NUMBER)
        elif group is not None:
            assert number is not None
            sender = Peer(chat_key=f"{number.lstrip('+')}@s.whatsapp.net", e164=number, display_name=name)
        else:
            sender = chat
        ref = None
        if media is not None:
            locator = f"http://waha.test/api/files/{hashlib.sha1(media).hexdigest()}-{wa_id}"  # noqa: S324
            self.transport.files[locator] = media
            ref = MediaRef(kind=kind, locator=locator, mime=mime, filename=filename)
        message = InboundMessage(
            account_id=self.session,
            wa_message_id=wa_id,
            chat=chat,
            sender=sender,
            from_me=from_me,
            sent_at=at or datetime.now(UTC),
            text=text or None,
            media=ref,
            origin=MessageOrigin.LIVE,
        )
        chat_id = await self.inbox.upsert_chat(self.account_id, chat, message.sent_at)
        await self.inbox.add_message(self.account_id, chat_id, message)
        self.chat_ids[chat.chat_key] = chat_id
        return chat_id

    # running the engine ------------------------------------------------------------------------------
    async def sync(self, chat_id: int, *, max_retries: int = 20) -> str:
        """Run the ``sync_chat`` job until it completes (retries run at once, as a patient worker would)."""
        for attempt in range(1, max_retries + 1):
            try:
                result: str = await sync_chat(
                    {**self.ctx, "job_try": attempt, "job_id": f"sync:{chat_id}"}, chat_id
                )
                return result
            except Retry:
                continue
        raise AssertionError(f"chat {chat_id} did not sync in {max_retries} tries")

    async def set_settings(self, **values: Any) -> None:
        table = table_of(CompanySettings)
        async with self.engine.begin() as connection:
            exists = (
                await connection.execute(
                    select(table.c.company_id).where(table.c.company_id == self.company_id)
                )
            ).first()
            if exists is None:
                await connection.execute(
                    insert(table).values(
                        company_id=self.company_id, updated_at=datetime.now(UTC), **SETTINGS_DEFAULTS.row()
                    )
                )
            await connection.execute(
                update(table).where(table.c.company_id == self.company_id).values(**values)
            )

    # Pipedrive side ----------------------------------------------------------------------------------
    @property
    def data(self) -> Any:
        return self.pd.company_data(self.pd_company)

    def activities(self) -> list[dict[str, Any]]:
        return [a for a in self.data.activities.values() if not a["is_deleted"]]

    def activities_of(self, person_id: int) -> list[dict[str, Any]]:
        return [a for a in self.activities() if a["participants"][0]["person_id"] == person_id]

    def persons(self) -> list[dict[str, Any]]:
        return [p for p in self.data.persons.values() if not p["is_deleted"]]

    def notes(self) -> str:
        return "\n".join(a["note"] or "" for a in self.activities())

    def requests(self) -> int:
        return self.meter.usage(str(self.pd_company)).requests

    def operations(self) -> dict[str, int]:
        return self.meter.usage(str(self.pd_company)).by_operation


@contextlib.asynccontextmanager
async def sync_world(
    database_url: str, tmp_path: Path, *, wrap: Callable[[Any], Any] | None = None
) -> AsyncIterator[SyncWorld]:
    migrated_database(database_url)
    engine = make_async_engine(database_url)
    pd = SandboxState(clock=Clock(follow_wall_clock=True), base_url=SANDBOX)
    clock = ControlledClock()
    clock.follow(pd.clock.advance)
    company = pd.add_company("Acme Sales GmbH", domain="acme", plan="premium", timezone="Europe/Berlin")
    admin = pd.add_user(company.id, "Anna Admin", ADMIN_EMAIL, is_admin=True)
    agent = pd.add_user(company.id, "Bob Agent", AGENT_EMAIL)
    pd.token_ttl_seconds = (
        30 * 24 * 3600
    )  # the world's token is never refreshed; tests move the clock by days
    token = pd.token_for(company.id, admin.id, list(ALL_SCOPES))
    tokens = TokenSet(token, "refresh", datetime.now(UTC) + timedelta(days=1), frozenset(ALL_SCOPES), SANDBOX)
    meter = MemoryUsageMeter()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(pd)), base_url=SANDBOX) as http:
        client = PipedriveClient(
            http,
            StaticTokens(tokens),
            RateScope(token_key="admin", company_key=str(company.id)),
            limiter=MemoryRateLimiter(),
            meter=meter,
            max_in_call_wait=2.0,
            sleep=clock.sleep,
        )
        companies = SqlCompanyStore(engine)
        ours = await companies.upsert(company.id, name="Acme", api_domain=SANDBOX, timezone="Europe/Berlin")
        account = await SqlAccountStore(engine).create(
            company_id=ours.id, owner_user_id=77, transport="waha", session_name="wp-acme-bob"
        )
        installations = table_of(Installation)
        async with engine.begin() as connection:
            await connection.execute(
                insert(installations).values(
                    company_id=ours.id,
                    pipedrive_user_id=admin.id,
                    name="Anna",
                    email=ADMIN_EMAIL,
                    is_admin=True,
                    scopes=",".join(ALL_SCOPES),
                    api_domain=SANDBOX,
                    status="active",
                    status_detail="",
                    access_token_encrypted="",
                    refresh_token_encrypted="",
                    created_at=datetime.now(UTC),
                    updated_at=datetime.now(UTC),
                )
            )
            await connection.execute(
                insert(installations).values(
                    company_id=ours.id,
                    pipedrive_user_id=77,
                    name="Bob",
                    email=AGENT_EMAIL.upper(),
                    is_admin=False,
                    scopes="",
                    api_domain=SANDBOX,
                    status="active",
                    status_detail="",
                    access_token_encrypted="",
                    refresh_token_encrypted="",
                    created_at=datetime.now(UTC),
                    updated_at=datetime.now(UTC),
                )
            )
        await SqlAccountStore(engine).set_number(account.id, OUR_NUMBER, "Bob")
        transport = FakeTransport()
        queue = RecordingQueue()
        connector: Any = FixedConnector(client)
        if wrap is not None:
            connector = wrap(connector)
        sync = sync_wiring(PUBLIC_URL, DiskMediaFiles(tmp_path / "media"))
        deps = deps_over(
            engine,
            queue=queue,
            pipedrive=connector,
            sync_config=sync.config,
            media_files=sync.media_files,
            transports={"waha": transport},
            runner_name="test",
            clock=clock,
        )
        try:
            yield SyncWorld(
                pd,
                company.id,
                admin.id,
                agent.id,
                client,
                meter,
                deps,
                engine,
                SqlInboxStore(engine),
                ours.id,
                account.id,
                "wp-acme-bob",
                transport,
                queue,
                clock,
            )
        finally:
            await engine.dispose()


Hook = Callable[[], Awaitable[None]]
