"""The settings page's team: the company's Pipedrive users (``GET /api/v1/users``, through the viewer's
installation, else the company's admin one), where each stands in WaPipe and the numbers they linked,
and the link a member opens to install WaPipe for themselves.

Pipedrive's users list costs 20 tokens of the company's daily budget, so each web process keeps the list
it read for ``ROSTER_SECONDS`` per company: reloading the settings page reads it once. Where each user
stands in WaPipe (installations, numbers) is read from the database on every load.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from starlette.requests import Request

from server.domain.errors import WaPipeError
from server.domain.team import PipedriveUser, TeamMember, team
from server.storage.accounts import SqlAccountStore
from server.web.frame_auth import FrameIdentity
from server.web.oauth import INSTALL_PATH
from server.web.resources import Resources

log = logging.getLogger(__name__)
ROSTER_SECONDS = 300.0  # how long a process reuses a company's users list


class RosterCache:
    """Per process: company id → (read at, the company's Pipedrive users)."""

    def __init__(self) -> None:
        self._entries: dict[int, tuple[datetime, tuple[PipedriveUser, ...]]] = {}

    def get(self, company_id: int, now: datetime) -> tuple[PipedriveUser, ...] | None:
        entry = self._entries.get(company_id)
        if entry is None or now - entry[0] >= timedelta(seconds=ROSTER_SECONDS):
            return None
        return entry[1]

    def put(self, company_id: int, now: datetime, users: tuple[PipedriveUser, ...]) -> None:
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[company_id] = (now, users)


def roster_cache(request: Request) -> RosterCache:
    cache: RosterCache | None = getattr(request.app.state, "team_roster", None)
    if cache is None:
        cache = request.app.state.team_roster = RosterCache()
    return cache


async def pipedrive_users(request: Request, identity: FrameIdentity) -> tuple[PipedriveUser, ...] | None:
    """The company's users as Pipedrive lists them (read again after ``ROSTER_SECONDS``); ``None`` when
    Pipedrive could not be asked."""
    resources: Resources = request.app.state.resources
    cache, now = roster_cache(request), resources.clock.now()
    cached = cache.get(identity.company.id, now)
    if cached is not None:
        return cached
    users = await _read_users(resources, identity)
    if users is not None:
        cache.put(identity.company.id, now, users)
    return users


async def _read_users(resources: Resources, identity: FrameIdentity) -> tuple[PipedriveUser, ...] | None:
    connector = resources.pipedrive.connector
    try:
        try:
            client = await connector.for_user(identity.company.id, identity.pipedrive_user_id)
        except WaPipeError:
            client = await connector.for_company(identity.company.id)
        found = await client.users.all()
    except WaPipeError as error:
        log.info("users unavailable", extra={"reason": error.reason, "company": identity.company.id})
        return None
    return tuple(PipedriveUser(u.id, u.name, u.email, u.is_admin, u.active) for u in found)


async def team_members(request: Request, identity: FrameIdentity) -> tuple[tuple[TeamMember, ...], bool]:
    """The team, and whether Pipedrive's users list was read (else: only who installed or linked)."""
    resources: Resources = request.app.state.resources
    users = await pipedrive_users(request, identity)
    installations = await resources.pipedrive.installations.for_company(identity.company.id)
    accounts = await SqlAccountStore(resources.engine).for_company(identity.company.id)
    return team(users, installations, accounts), users is not None


def invite_url(request: Request) -> str:
    """Where a team member installs WaPipe for themselves (WaPipe sends them on to Pipedrive's consent)."""
    resources: Resources = request.app.state.resources
    return resources.settings.public_url.rstrip("/") + INSTALL_PATH
