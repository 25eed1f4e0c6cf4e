"""Chaos: WAHA faults (duplicates, @lid twins, acks out of order, an offline gap) and Pipedrive faults
(forced 429s and 5xx, added latency) together, end to end through our webhook route and job queue; then
sandbox-WhatsApp is reconciled against sandbox-Pipedrive: every message's text exactly once."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import insert

from sandbox.pipedrive.app import create_app as create_pipedrive
from sandbox.pipedrive.seed import ALL_SCOPES, seed_person
from sandbox.pipedrive.state import Clock, SandboxState
from server.jobs.context import sync_wiring
from server.pipedrive.client import PipedriveClient
from server.pipedrive.metering import MemoryUsageMeter
from server.pipedrive.oauth import TokenSet
from server.pipedrive.ratelimit import MemoryRateLimiter, RateScope
from server.settings import Settings
from server.storage.tables import Installation, table_of
from tests.job_deps import rewire
from tests.sync.world import SANDBOX, FixedConnector, StaticTokens
from tests.web.inbound_world import SESSION, inbound_world

CUSTOMERS = [f"49176555{i:05d}" for i in range(6)]
KNOWN = {CUSTOMERS[0]: "+49 176 55500000", CUSTOMERS[1]: "0049176-55500001"}


async def test_chaos_every_message_lands_exactly_once(make_settings: Callable[..., Settings]) -> None:
    pd = SandboxState(clock=Clock(follow_wall_clock=True), base_url=SANDBOX)
    company = pd.add_company("Acme", domain="acme", plan="premium", timezone="Europe/Berlin")
    admin = pd.add_user(company.id, "Anna Admin", "anna@acme.test", is_admin=True)
    for number, stored in KNOWN.items():
        seed_person(pd, company.id, f"Known {number[-2:]}", phones=[stored])
    token = pd.token_for(company.id, admin.id, list(ALL_SCOPES))
    tokens = TokenSet(token, "r", datetime.now(UTC) + timedelta(days=1), frozenset(ALL_SCOPES), SANDBOX)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=create_pipedrive(pd)), base_url=SANDBOX) as http,
        inbound_world(make_settings(public_url="http://wapipe.test")) as world,
    ):
        client = PipedriveClient(
            http,
            StaticTokens(tokens),
            RateScope("admin", str(company.id)),
            limiter=MemoryRateLimiter(),
            meter=MemoryUsageMeter(),
            max_in_call_wait=1.0,
        )
        ctx: dict[str, Any] = world.resources.queue.ctx  # type: ignore[attr-defined]
        sync = sync_wiring("http://wapipe.test", world.resources.media)
        rewire(ctx, sync_config=sync.config, media_files=sync.media_files, pipedrive=FixedConnector(client))
        world.clock.follow(pd.clock.advance)
        async with world.resources.engine.begin() as connection:
            await connection.execute(
                insert(table_of(Installation)).values(
                    company_id=world.account.company_id,
                    pipedrive_user_id=admin.id,
                    email="anna@acme.test",
                    is_admin=True,
                    status="active",
                    name="Anna",
                    scopes="",
                    api_domain=SANDBOX,
                    status_detail="",
                    access_token_encrypted="",
                    refresh_token_encrypted="",
                    created_at=datetime.now(UTC),
                    updated_at=datetime.now(UTC),
                )
            )
        await world.resources.transports["waha"].connect(SESSION)
        await world.waha.elapse(2)
        world.waha.scan(SESSION, "4915112345678", "Anna Admin")
        await world.settle()

        waha_faults = world.waha.faults(SESSION)
        waha_faults.duplicate_deliveries = 1
        waha_faults.duplicate_new_event_id = True
        waha_faults.lid_twins = True
        waha_faults.acks_out_of_order = True
        pd.limiter.faults.force_429 = 6
        pd.limiter.faults.force_5xx = 4
        pd.limiter.faults.latency_ms = 20

        sent: list[str] = []

        def say(number: str, text: str, **options: Any) -> None:
            world.waha.receive(SESSION, number, text, **options)
            sent.append(text)

        for round_ in range(3):
            for i, number in enumerate(CUSTOMERS):
                say(number, f"msg r{round_} c{i} hello", push_name=f"Kunde {i}")
            if round_ == 1:
                say(CUSTOMERS[2], "with a picture r1", kind="image")
        world.waha.type_on_phone(SESSION, f"{CUSTOMERS[3]}@c.us", "typed on the phone")
        sent.append("typed on the phone")
        await world.settle()
        world.waha.start_offline_gap(SESSION)
        say(CUSTOMERS[4], "during the gap one")
        say(CUSTOMERS[5], "during the gap two")
        await world.settle()
        world.waha.end_offline_gap(SESSION, reconnect=True)
        for _ in range(6):
            await world.settle()

        data = pd.company_data(company.id)
        notes = "\n".join(a["note"] or "" for a in data.activities.values() if not a["is_deleted"])
        for text in sent:
            assert notes.count(text) == 1, text
        persons = [p for p in data.persons.values() if not p["is_deleted"]]
        digits = [re.sub(r"\D", "", ph["value"]) for p in persons for ph in p["phones"]]
        assert len(digits) == len(set(digits)) == len(CUSTOMERS)  # 2 known + 4 created, none twice
        activities = [a for a in data.activities.values() if not a["is_deleted"]]
        days = [(a["participants"][0]["person_id"], a["due_date"]) for a in activities]
        assert len(days) == len(set(days))
        names = [f.record["name"] for f in data.files.values()]
        assert len(names) == len(set(names)) == 1
