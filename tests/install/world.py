"""The install and uninstall tests' world: a Pipedrive company with two admins and an agent, and WaPipe
registered as its app (nothing installed yet)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from sandbox.pipedrive.state import SandboxCompany, SandboxState, SandboxUser
from server.settings import Settings
from server.storage.tables import Company, CompanySettings, Installation
from tests.world import SANDBOX, World, open_world, register_wapipe


@dataclass
class InstallWorld(World):
    company: SandboxCompany = field(kw_only=True)
    admin: SandboxUser = field(kw_only=True)
    agent: SandboxUser = field(kw_only=True)
    second_admin: SandboxUser = field(kw_only=True)

    @property
    def state(self) -> SandboxState:
        """The Pipedrive sandbox."""
        assert self.pd is not None
        return self.pd

    async def installations(self) -> list[dict[str, Any]]:
        return await self.rows(Installation)

    async def wapipe_company(self) -> dict[str, Any]:
        companies = [c for c in await self.rows(Company) if c["pipedrive_company_id"] == self.company.id]
        assert len(companies) == 1
        return companies[0]

    async def company_settings(self) -> list[dict[str, Any]]:
        return await self.rows(CompanySettings)


@contextlib.asynccontextmanager
async def install_world(settings: Settings) -> AsyncIterator[InstallWorld]:
    pd = SandboxState(base_url=SANDBOX)
    company = pd.add_company("Acme Sales GmbH", domain="acme", timezone="Europe/Berlin")
    admin = pd.add_user(company.id, "Anna Admin", "anna@acme.test", is_admin=True)
    agent = pd.add_user(company.id, "Bernd Agent", "bernd@acme.test", timezone_name="Europe/Vienna")
    second_admin = pd.add_user(company.id, "Carla Admin", "carla@acme.test", is_admin=True)
    register_wapipe(pd)
    async with open_world(settings, pipedrive=pd) as base:
        yield InstallWorld(**vars(base), company=company, admin=admin, agent=agent, second_admin=second_admin)
