"""The settings page's team: the company's Pipedrive users (``GET /api/v1/users``, through the viewer's
installation, else the company's admin one), where each stands in WaPipe and the numbers they linked,
and the link a member opens to install WaPipe for themselves."""

from __future__ import annotations

import logging

from starlette.requests import Request

from server.domain.errors import WaPipeError
from server.domain.team import PipedriveUser, TeamMember, team
from server.storage.accounts import SqlAccountStore
from server.web.frame_auth import FrameIdentity
from server.web.oauth import INSTALL_PATH
from server.web.resources import Resources

log = logging.getLogger(__name__)


async def pipedrive_users(request: Request, identity: FrameIdentity) -> tuple[PipedriveUser, ...] | None:
    """The company's users as Pipedrive lists them; ``None`` when Pipedrive could not be asked."""
    resources: Resources = request.app.state.resources
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
