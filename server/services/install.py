"""Installing and uninstalling WaPipe for one Pipedrive user (the use cases behind ``/oauth/callback``).

An install claims the OAuth ``state`` once (installs started in the Marketplace carry none), trades the
code for tokens, learns who the user is, and stores the company and the user's installation (tokens
encrypted by the store). An admin's install also sets the company's defaults and queues its set-up in
Pipedrive; a member's install before any admin's is kept, and the caller tells them an admin must come
first. An uninstall deletes the user's tokens at once; a notice for a company or user WaPipe does not know
changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from server.domain.errors import InvalidInput, NotAuthenticated
from server.domain.installations import Installation, StoredTokens
from server.domain.models import Company
from server.domain.ports.storage import CompanySetup, CompanyStore, InstallationWriter, UsedStates
from server.domain.text import Text

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Installer:
    """The Pipedrive user the tokens belong to (``/users/me``), in Pipedrive's ids."""

    pipedrive_user_id: int
    pipedrive_company_id: int
    name: str
    email: str
    company_name: str
    timezone: str | None
    is_admin: bool
    language: str = ""  # the language they read Pipedrive in (``/users/me``)


@dataclass(frozen=True, slots=True)
class Installed:
    installation: Installation
    company: Company
    installer: Installer
    api_domain: str
    awaiting_admin: bool  # a member installed before any admin of the company: their panel waits


Authorise = Callable[[str], Awaitable[tuple[Installer, StoredTokens]]]  # code → who and their tokens
QueueSetup = Callable[[int], Awaitable[object]]  # company id → the company's set-up job queued


@dataclass(frozen=True, slots=True)
class InstallService:
    companies: CompanyStore
    installations: InstallationWriter
    company_setup: CompanySetup
    used_states: UsedStates
    authorise: Authorise
    queue_setup: QueueSetup
    state_max_age: float

    async def install(self, *, state_nonce: str | None, code: str | None) -> Installed:
        """Store the installation the callback's ``code`` grants; ``state_nonce`` when our install link
        started it (``NotAuthenticated(state_replayed)`` the second time), ``None`` from the Marketplace."""
        claimed = state_nonce is None or await self.used_states.claim(state_nonce, max_age=self.state_max_age)
        if not claimed:
            raise NotAuthenticated(
                Text("This install link was already used; start the installation again"),
                reason="state_replayed",
            )
        if not code:
            raise InvalidInput(
                Text("Pipedrive sent no authorisation code; install WaPipe again"), reason="missing_code"
            )
        installer, tokens = await self.authorise(code)
        company = await self.companies.upsert(
            installer.pipedrive_company_id,
            name=installer.company_name,
            api_domain=tokens.api_domain,
            timezone=installer.timezone or "UTC",  # /users/me has no company time zone: the installer's
        )
        installation = await self.installations.upsert(
            company.id,
            installer.pipedrive_user_id,
            name=installer.name,
            email=installer.email,
            is_admin=installer.is_admin,
            tokens=tokens,
            language=installer.language,
        )
        user_id, admin = installer.pipedrive_user_id, installer.is_admin
        log.info("installed", extra={"company": company.id, "pipedrive_user": user_id, "admin": admin})
        awaiting_admin = False
        if installer.is_admin:
            await self.company_setup.ensure_defaults(company.id)
            await self.queue_setup(company.id)
        else:
            awaiting_admin = await self.installations.admin_installation(company.id) is None
        return Installed(installation, company, installer, tokens.api_domain, awaiting_admin)

    async def uninstall(self, pipedrive_company_id: int, pipedrive_user_id: int) -> bool:
        """Delete the user's tokens and mark their installation uninstalled; ``False`` when WaPipe knows no
        such company or installation (answered alike: the notice is acknowledged either way)."""
        company = await self.companies.get(pipedrive_company_id)
        found = None
        if company is not None:
            found = await self.installations.mark_uninstalled(
                company.id, pipedrive_user_id, detail="uninstalled in Pipedrive"
            )
        log.info(
            "uninstalled",
            extra={
                "pipedrive_company": pipedrive_company_id,
                "pipedrive_user": pipedrive_user_id,
                "known": bool(found),
            },
        )
        return found is not None
