"""Who may see a company's WaPipe pages inside Pipedrive: users with an installation of their own.

Each team member installs WaPipe for themselves; until they have (or after they uninstalled), the settings
and numbers pages show them only what to do next, never the company's team, numbers, chats or settings.
"""

from __future__ import annotations

from starlette.requests import Request

from server.domain.installations import InstallationStatus
from server.domain.text import Text
from server.services.numbers import NotYours
from server.web.frame_auth import FrameIdentity
from server.web.resources import Resources


async def install_refusal(request: Request, identity: FrameIdentity) -> NotYours | None:
    """Why this user sees nothing of the company here (``None``: they may read the page): they never
    installed WaPipe, or uninstalled it. An installation that needs re-authorisation still reads."""
    resources: Resources = request.app.state.resources
    installations = resources.pipedrive.installations
    own = await installations.get(identity.company.id, identity.pipedrive_user_id)
    if own is not None and own.status is not InstallationStatus.UNINSTALLED:
        return None
    if await installations.admin_installation(identity.company.id) is None:
        return NotYours(
            Text(
                "No Pipedrive admin of your company has WaPipe installed, or it was uninstalled. An admin "
                "installs it first (it sets the company up); then each team member installs it for "
                "themselves."
            ),
            reason="company_not_installed",
        )
    return NotYours(
        Text(
            "WaPipe is installed in your company, but not for you: each team member installs it once, for "
            "themselves. Install it to see these settings and link your WhatsApp number."
        ),
        reason="install_required",
    )


async def require_installation(request: Request, identity: FrameIdentity) -> None:
    refusal = await install_refusal(request, identity)
    if refusal is not None:
        raise refusal
