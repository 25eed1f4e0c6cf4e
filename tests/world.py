"""The one place tests build a world: WaPipe in-process with the stand-ins it talks to, on one clock.

``open_world(settings, pipedrive=..., waha=..., cloud=...)`` wires WaPipe's app to the Pipedrive sandbox and
the WAHA sandbox through ``httpx.ASGITransport`` both ways (our API calls reach the sandboxes; their
webhooks, OAuth answers and uninstall notices reach our routes), runs every part on one
``ControlledClock`` (the sandboxes' clocks follow it), and opens the database from a migrated template.
A folder's world (``tests/install``, ``tests/panel``, ``tests/web``) only seeds its people and data and
names them.

``settle()`` delivers what the sandboxes have to deliver and runs every job that causes, skipping the time
deferred jobs wait (a 3.5 s burst window costs no real time).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import jwt
from sqlalchemy import select
from starlette.applications import Starlette

from sandbox.pipedrive.app import create_app as create_pipedrive
from sandbox.pipedrive.oauth import oauth_server_for
from sandbox.pipedrive.seed import ALL_SCOPES, dump_company
from sandbox.pipedrive.state import SandboxState as PipedriveState
from sandbox.pipedrive.state import SandboxUser
from sandbox.waha.app import create_app as create_waha
from sandbox.waha.state import SandboxState as WahaState
from server.domain.clock import ControlledClock
from server.jobs.embedded_sessions import ClientFor
from server.settings import Settings
from server.storage.accounts import SqlAccountStore
from server.storage.companies import SqlCompanyStore
from server.storage.migrate import upgrade
from server.storage.tables import table_of
from server.web.app import create_app
from server.web.resources import Resources, Upstreams

SANDBOX = "http://pipedrive.sandbox"
WAPIPE = "http://wapipe.test"
CLIENT_ID = "wapipe-test"
CLIENT_SECRET = "wapipe-test-client-secret"


def world_settings_overrides() -> dict[str, object]:
    """Settings that point WaPipe at the in-process Pipedrive sandbox as the registered app."""
    return {
        "public_url": WAPIPE,
        "pipedrive_oauth_url": SANDBOX,
        "pipedrive_api_url": SANDBOX,
        "pipedrive_client_id": CLIENT_ID,
        "pipedrive_client_secret": CLIENT_SECRET,
    }


def register_wapipe(pd: PipedriveState) -> None:
    """WaPipe as an OAuth app of the Pipedrive sandbox, with every scope."""
    pd.add_client(CLIENT_ID, CLIENT_SECRET, f"{WAPIPE}/oauth/callback", list(ALL_SCOPES))


# --- the database ---------------------------------------------------------------------------------------

_TEMPLATES: dict[str, Path] = {}


def migrated_database(url: str) -> None:
    """Bring the database at ``url`` to the newest schema: a new SQLite file is a copy of one migrated once
    per process; anything else (PostgreSQL from the migrated template, an existing file) is upgraded."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not Path(url[len(prefix) :]).exists():
        if "sqlite" not in _TEMPLATES:
            template = Path(tempfile.mkdtemp(prefix="wapipe-template-")) / "wapipe.db"
            upgrade(f"{prefix}{template}")
            _TEMPLATES["sqlite"] = template
        target = Path(url[len(prefix) :])
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_TEMPLATES["sqlite"], target)
        return
    upgrade(url)


# --- the world ------------------------------------------------------------------------------------------


@dataclass
class World:
    app: Starlette
    client: httpx.AsyncClient  # a browser (or Pipedrive, or WhatsApp) talking to WaPipe
    settings: Settings
    clock: ControlledClock
    pd: PipedriveState | None = None
    waha: WahaState | None = None
    sandbox: httpx.AsyncClient | None = None  # a browser talking to the Pipedrive sandbox

    @property
    def resources(self) -> Resources:
        resources: Resources = self.app.state.resources
        return resources

    async def settle(self, *, until: datetime | None = None) -> None:
        """Deliver every pending webhook, then run every job they caused (three rounds: jobs cause
        webhooks, and webhooks jobs); ``until``: only the jobs due by then on the clock."""
        for _ in range(3):
            if self.waha is not None:
                await self.waha.settle()
            await self.resources.queue.drain(until=until)  # type: ignore[attr-defined]

    async def rows(self, table: Any) -> list[dict[str, Any]]:
        """Every row of a table, in id order."""
        sa_table = table_of(table)
        order = list(sa_table.primary_key.columns)
        async with self.resources.engine.connect() as connection:
            result = await connection.execute(select(sa_table).order_by(*order))
            return [dict(row) for row in result.mappings()]

    # Pipedrive's side -------------------------------------------------------------------------------
    def token(self, user: SandboxUser, *, ttl: int = 300) -> str:
        """The signed token Pipedrive gives a panel opened by ``user``."""
        now = int(time.time())
        claims = {"userId": user.id, "companyId": user.company_id, "iat": now, "exp": now + ttl}
        return jwt.encode(claims, self.settings.pipedrive_jwt_secret.get_secret_value(), algorithm="HS256")

    def headers(self, user: SandboxUser) -> dict[str, str]:
        return {"X-Pipedrive-Token": self.token(user)}

    async def authorize(self, user: SandboxUser, *, state: str | None, decision: str = "allow") -> str:
        """Post the sandbox's consent form; the callback URL Pipedrive sends the browser to."""
        assert self.sandbox is not None, "this world has no Pipedrive"
        form = {"client_id": CLIENT_ID, "redirect_uri": f"{WAPIPE}/oauth/callback", "user_id": str(user.id)}
        if state is not None:
            form["state"] = state
        answer = await self.sandbox.post("/oauth/authorize", data={**form, "decision": decision})
        assert answer.status_code == 302, answer.text
        return str(answer.headers["location"])

    async def install(
        self, user: SandboxUser, *, decision: str = "allow", marketplace: bool = False
    ) -> httpx.Response:
        """The browser's round trip (our ``/install``, the consent page, Allow or Deny, our callback),
        then the jobs it queued; our callback's response (not followed)."""
        assert self.sandbox is not None, "this world has no Pipedrive"
        state: str | None = None
        if not marketplace:
            start = await self.client.get("/install")
            assert start.status_code == 302
            authorize_url = start.headers["location"]
            assert authorize_url.startswith(f"{SANDBOX}/oauth/authorize?")
            consent = await self.sandbox.get(authorize_url)
            assert consent.status_code == 200
            assert "Allow and install" in consent.text
            state = parse_qs(urlparse(authorize_url).query)["state"][0]
        callback = await self.authorize(user, state=state, decision=decision)
        assert callback.startswith(f"{WAPIPE}/oauth/callback?")
        response = await self.client.get(callback)
        await self.settle()
        return response

    async def uninstall_in_pipedrive(self, user: SandboxUser) -> dict[str, Any]:
        """The sandbox control that revokes the user's grant and sends us the uninstall DELETE."""
        assert self.sandbox is not None, "this world has no Pipedrive"
        answer = await self.sandbox.post(
            "/_sandbox/oauth/uninstall",
            json={"client_id": CLIENT_ID, "company_id": user.company_id, "user_id": user.id},
        )
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    # WhatsApp's side --------------------------------------------------------------------------------
    async def link_number(self, user: SandboxUser, session: str, number: str) -> int:
        """``user``'s WhatsApp number linked by scanning the QR code on the simulated phone; its id."""
        assert self.waha is not None, "this world has no WhatsApp gateway"
        company = await SqlCompanyStore(self.resources.engine).get(user.company_id)
        assert company is not None
        account = await SqlAccountStore(self.resources.engine).create(
            company_id=company.id, owner_user_id=user.id, transport="waha", session_name=session
        )
        await self.resources.transports["waha"].connect(session)
        await self.waha.elapse(2)
        self.waha.scan(session, number, user.name)
        await self.settle()
        return account.id


class _ToApp(httpx.AsyncBaseTransport):
    """Forwards to an app that exists only after this transport is made."""

    def __init__(self, holder: dict[str, Starlette]) -> None:
        self._holder = holder

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await httpx.ASGITransport(app=self._holder["app"]).handle_async_request(request)


@contextlib.asynccontextmanager
async def open_world(
    settings: Settings,
    *,
    pipedrive: PipedriveState | None = None,
    waha: WahaState | None = None,
    cloud: httpx.AsyncBaseTransport | None = None,
    whatsapp_web: ClientFor | None = None,
) -> AsyncIterator[World]:
    """WaPipe with its lifespan entered, wired to the given stand-ins (``cloud``: Meta's Graph API;
    ``whatsapp_web``: WhatsApp Web for the embedded sessions)."""
    migrated_database(settings.effective_database_url)
    clock = ControlledClock()
    holder: dict[str, Starlette] = {}
    async with contextlib.AsyncExitStack() as stack:
        to_wapipe = await stack.enter_async_context(httpx.AsyncClient(transport=_ToApp(holder)))
        pipedrive_app = waha_app = None
        if pipedrive is not None:
            clock.follow(pipedrive.clock.advance)
            oauth_server_for(pipedrive).http = to_wapipe
            pipedrive_app = create_pipedrive(pipedrive)
        if waha is not None:
            clock.follow(waha.clock.advance)
            waha_app = create_waha(
                waha, api_key=settings.waha_api_key.get_secret_value(), webhook_client=to_wapipe
            )
        app = create_app(
            settings,
            Upstreams(
                pipedrive=httpx.ASGITransport(app=pipedrive_app) if pipedrive_app else None,
                waha=httpx.ASGITransport(app=waha_app) if waha_app else None,
                cloud=cloud,
                clock=clock,
                whatsapp_web=whatsapp_web,
            ),
        )
        holder["app"] = app
        await stack.enter_async_context(app.router.lifespan_context(app))
        if waha_app is not None:
            await stack.enter_async_context(waha_app.router.lifespan_context(waha_app))
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=WAPIPE)
        )
        sandbox = None
        if pipedrive_app is not None:
            sandbox = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=pipedrive_app), base_url=SANDBOX)
            )
        yield World(app, client, settings, clock, pipedrive, waha, sandbox)


# Pipedrive's own log of its webhook deliveries to WaPipe: it moves whenever a delivery (or a retry of one
# that failed earlier) is attempted, which no request of WaPipe's causes or changes.
DELIVERY_LOG = ("last_delivery_time", "last_http_status")


def pipedrive_records(state: PipedriveState, company_id: int, *, usage: bool = True) -> dict[str, Any]:
    """Everything the company holds in the Pipedrive sandbox (``dump_company``) except the delivery log,
    to compare before and after something that must write nothing (``usage=False``: without the day's
    API usage either, for something that may read)."""
    dump = dump_company(state, company_id)
    if not usage:
        del dump["usage"]
    dump["webhooks"] = [{k: v for k, v in hook.items() if k not in DELIVERY_LOG} for hook in dump["webhooks"]]
    return dump


def to_next_noon_utc(clock: ControlledClock) -> None:
    """Move a test's clock on to the next 12:00 UTC, so a test whose messages must fall on one day (in any
    company time zone from UTC-11 to UTC+11) or far from a daily budget's reset runs the same at any hour."""
    now = clock.now()
    noon = now.replace(hour=12, minute=0, second=0, microsecond=0)
    if noon <= now:
        noon += timedelta(days=1)
    clock.advance((noon - now).total_seconds())
