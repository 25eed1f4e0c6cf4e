"""The panel's world: a Pipedrive company where Anna installed WaPipe and linked her WhatsApp number,
Persons with phones and Files, and a second company (Grace's) that did the same. The phones have no chat
history unless asked for: importing it (two chats and a group, with photos and a PDF, per number) is
what linking costs most, and only the tests about everything a company holds need it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from sandbox.pipedrive.seed import seed_deal, seed_file, seed_person
from sandbox.pipedrive.state import SandboxState, SandboxUser
from sandbox.waha.clock import Clock
from sandbox.waha.state import SandboxState as WahaState
from server.settings import Settings
from server.storage.tables import Message, Outbox
from tests.world import SANDBOX, World, open_world, register_wapipe

ANNA_NUMBER = "4915112345678"
GRACE_NUMBER = "14155550100"


@dataclass
class PanelWorld(World):
    anna: SandboxUser = field(kw_only=True)
    grace: SandboxUser = field(kw_only=True)  # an admin of another company
    persons: dict[str, int] = field(kw_only=True)
    deal_id: int = field(kw_only=True)
    files: dict[str, int] = field(kw_only=True)

    def token(self, user: SandboxUser | None = None, *, ttl: int = 300) -> str:
        return super().token(user or self.anna, ttl=ttl)

    def headers(self, user: SandboxUser | None = None) -> dict[str, str]:
        return super().headers(user or self.anna)

    async def outbox(self) -> list[dict[str, Any]]:
        return await self.rows(Outbox)

    async def messages(self) -> list[dict[str, Any]]:
        return await self.rows(Message)


@contextlib.asynccontextmanager
async def panel_world(
    settings: Settings, *, cloud: httpx.AsyncBaseTransport | None = None, history: bool = False
) -> AsyncIterator[PanelWorld]:
    """``history``: each phone already has the WAHA sandbox's chat history when its number is linked,
    and WaPipe imports it."""
    pd = SandboxState(base_url=SANDBOX)
    acme = pd.add_company("Acme Sales GmbH", domain="acme", timezone="Europe/Berlin")
    anna = pd.add_user(acme.id, "Anna Admin", "anna@acme.test", is_admin=True)
    globex = pd.add_company("Globex Inc", domain="globex", timezone="America/New_York")
    grace = pd.add_user(globex.id, "Grace Admin", "grace@globex.test", is_admin=True)
    register_wapipe(pd)
    persons = {
        "maria": seed_person(pd, acme.id, "Maria Kunde", phones=["+49 176 55501234", "0151 7777 1234"])["id"],
        "local": seed_person(pd, acme.id, "Lokal Lisa", phones=["0176 5550 9999"])["id"],
        "nophone": seed_person(pd, acme.id, "Ohne Telefon")["id"],
        "bad": seed_person(pd, acme.id, "Falsche Nummer", phones=["+1 23"])["id"],
        "missing": seed_person(pd, acme.id, "Nicht Auf WhatsApp", phones=["+49 176 00000000"])["id"],
        "globex": seed_person(pd, globex.id, "Sam Francisco", phones=["+1 415 555 0132"])["id"],
    }
    deal = seed_deal(pd, acme.id, "Maria's order", person_id=persons["maria"])
    files = {
        "offer": seed_file(pd, acme.id, "offer.pdf", b"%PDF-1.4 offer", person_id=persons["maria"])["id"],
        "contract": seed_file(pd, acme.id, "contract.pdf", b"%PDF-1.4 deal", deal_id=deal["id"])["id"],
    }
    waha = WahaState(clock=Clock(follow_wall_clock=True), seed_history=history)
    waha.missing_numbers.add("4917600000000")  # nobody uses WhatsApp on this number
    async with open_world(settings, pipedrive=pd, waha=waha, cloud=cloud) as base:
        world = PanelWorld(
            **vars(base), anna=anna, grace=grace, persons=persons, deal_id=deal["id"], files=files
        )
        await world.install(anna)
        await world.install(grace)
        await world.link_number(anna, "wp-acme-anna", ANNA_NUMBER)
        await world.link_number(grace, "wp-globex-grace", GRACE_NUMBER)
        yield world
