"""Two companies side by side, each with everything WaPipe keeps for a company, for the tenancy tests.

Company A (Acme, admin Anna) and company B (Globex, admin Grace) each have: an admin installation (OAuth
tokens), a linked WhatsApp number, a 1:1 chat with text, an image and a document (attachments stored on
disk), a group chat, the sync engine's links and day activities in their own Pipedrive, an outbox entry
that went out through the WhatsApp sandbox, saved settings, an excluded chat and audit entries. B also has
a Deal, a File and a pipeline of its own in Pipedrive, so A can be pointed at B's ids of every kind.

Pipedrive numbers records per company, so ids collide: A's and B's chats are both with Person 1. B's
Deal, File and pipeline, and B's ``unshared_person_id``, are numbered past A's: ids A does not use.

A decoy company is stored first, so WaPipe's internal company ids differ from Pipedrive's (A is internal
id 2, B's Pipedrive id is 2): code that mixed the two up would hand A's request B's data.

``snapshot(company)`` reads every row of every table that belongs to the company (a table without a rule
here fails the test, so a new table cannot slip by), the attachment files on disk, the company's data in
the Pipedrive sandbox (API usage included: a call with the company's token changes it) and what the
company's WhatsApp session sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator, Callable, Container
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import SQLModel

from sandbox.pipedrive.seed import seed_deal, seed_file, seed_person, seed_pipeline
from sandbox.pipedrive.state import SandboxUser
from sandbox.waha.models import Chat as WahaChat
from sandbox.waha.models import Group, Member
from server.jobs.inprocess import InProcessQueue
from server.settings import Settings
from server.storage.engine import make_sync_engine
from tests.panel.world import ANNA_NUMBER, GRACE_NUMBER, PanelWorld, panel_world
from tests.world import WAPIPE, migrated_database, pipedrive_records

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4 tenancy"


@dataclass
class Tenant:
    """One company's people and ids, as WaPipe and both sandboxes know them."""

    label: str
    user: SandboxUser
    session: str
    number: str  # the linked WhatsApp number, digits
    contact: str  # the customer who writes, digits
    contact_phone: str  # the customer's phone as typed on the Person in Pipedrive
    person_id: int
    secret: str  # a text only this company's data contains
    company_id: int = 0  # WaPipe's internal id
    account_id: int = 0
    chat_id: int = 0
    group_chat_id: int = 0
    message_id: int = 0
    media_message_id: int = 0
    document_message_id: int = 0
    outbox_id: int = 0
    event_ids: list[int] = field(default_factory=list)
    deal_id: int = 0
    file_id: int = 0
    pipeline_id: int = 0
    lookalike_person_id: int = 0  # a Person of this company with the other company's customer's phone
    unshared_person_id: int = 0  # a Person whose id the other company does not use
    template_id: int = 0  # the company's message template
    waiting_lid: str = ""  # the LID of the company's opt-out waiting for its number
    markers: tuple[str, ...] = ()  # strings only this company's pages may show

    @property
    def pipedrive_company_id(self) -> int:
        return self.user.company_id


@dataclass
class TenancyWorld:
    base: PanelWorld
    a: Tenant
    b: Tenant

    @property
    def client(self) -> httpx.AsyncClient:
        return self.base.client

    @property
    def engine(self) -> AsyncEngine:
        return self.base.resources.engine

    @property
    def queue(self) -> InProcessQueue:
        queue = self.base.resources.queue
        assert isinstance(queue, InProcessQueue)
        return queue

    def token(self, tenant: Tenant) -> str:
        return self.base.token(tenant.user)

    def headers(self, tenant: Tenant) -> dict[str, str]:
        return {"X-Pipedrive-Token": self.token(tenant)}

    async def settle(self) -> None:
        await self.base.settle()

    async def snapshot(self, tenant: Tenant) -> dict[str, Any]:
        tables = await company_rows(self.engine, tenant.company_id)
        return {
            "tables": tables,
            "media_files": await self._media_files(tables["media"]),
            "pipedrive": pipedrive_records(self.base.pd, tenant.pipedrive_company_id),
            "waha_outbox": self.base.waha.outbox(tenant.session),
            "waha_session": self.base.waha.session(tenant.session).status,
        }

    async def _media_files(self, media: list[dict[str, Any]]) -> dict[str, str]:
        """Each of the company's blobs' content hash as stored on disk."""
        return await asyncio.to_thread(_file_hashes, {row["sha256"]: row["path"] for row in media})

    async def signed_in(self, tenant: Tenant) -> httpx.AsyncClient:
        """A browser-like client signed in to the chat view as the tenant's admin (Pipedrive OAuth)."""
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.base.app), base_url=WAPIPE)
        start = await client.get("/signin", params={"next": f"/chats/{tenant.chat_id}"})
        state = parse_qs(urlparse(start.headers["location"]).query)["state"][0]
        callback = await client.get(await self.base.authorize(tenant.user, state=state))
        assert callback.status_code == 303 and "wapipe_session" in client.cookies, callback.text
        return client


def _file_hashes(paths: dict[str, str]) -> dict[str, str]:
    found = {}
    for sha, raw in paths.items():
        path = Path(raw)
        found[sha] = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "missing"
    return found


# --- every row of a company ----------------------------------------------------------------------------


def _ids(rows: list[dict[str, Any]], key: str = "id") -> list[Any]:
    return [row[key] for row in rows]


async def company_rows(engine: AsyncEngine, company_id: int) -> dict[str, list[dict[str, Any]]]:
    """Every table's rows that belong to ``company_id``, by table name, in a stable order.

    Tables without a company column are reached through the rows that own them (chats through accounts,
    messages' attachments through messages…). A table this function has no rule for fails loudly.
    """
    async with engine.connect() as connection:
        return await _company_rows(connection, company_id)


async def _company_rows(connection: AsyncConnection, company_id: int) -> dict[str, list[dict[str, Any]]]:
    tables = {table.name: table for table in SQLModel.metadata.sorted_tables}
    out: dict[str, list[dict[str, Any]]] = {}

    async def read(name: str, where: Any) -> list[dict[str, Any]]:
        table = tables[name]
        order = list(table.primary_key.columns)
        result = await connection.execute(sa.select(table).where(where).order_by(*order))
        return [dict(row) for row in result.mappings()]

    def col(name: str, column: str) -> Any:
        return tables[name].c[column]

    by_company = (
        "whatsapp_account",
        "installation",
        "company_settings",
        "sync_chat_link",
        "sync_intent",
        "sync_problem",
        "sync_company_state",
        "phone_index_entry",
        "media_upload",
        "file_deletion",
        "outbox",
        "audit_log",
        "campaign",
        "campaign_recipient",
        "campaign_settings",
        "opt_out",
        "waiting_opt_out",
        "embedded_session",
        "message_template",
        "cloud_template_mapping",
    )
    out["company"] = await read("company", col("company", "id") == company_id)
    for name in by_company:
        out[name] = await read(name, col(name, "company_id") == company_id)
    accounts = out["whatsapp_account"]
    out["chat"] = await read("chat", col("chat", "account_id").in_(_ids(accounts)))
    out["message"] = await read("message", col("message", "account_id").in_(_ids(accounts)))
    out["waiting_change"] = await read(
        "waiting_change", col("waiting_change", "account_id").in_(_ids(accounts))
    )
    out["waiting_reaction"] = await read(
        "waiting_reaction", col("waiting_reaction", "account_id").in_(_ids(accounts))
    )
    out["inbound_event"] = await read(
        "inbound_event", col("inbound_event", "session_name").in_(_ids(accounts, "session_name"))
    )
    # The lease of an embedded session is tied to its account by the session's name.
    out["session_lease"] = await read(
        "session_lease", col("session_lease", "session_key").in_(_ids(accounts, "session_name"))
    )
    chat_ids = _ids(out["chat"]) + _ids(out["sync_chat_link"], "chat_id")
    out["sync_day_activity"] = await read(
        "sync_day_activity", col("sync_day_activity", "chat_id").in_(chat_ids)
    )
    out["message_media"] = await read(
        "message_media", col("message_media", "message_id").in_(_ids(out["message"]))
    )
    out["message_change"] = await read("message_change", col("message_change", "chat_id").in_(chat_ids))
    out["message_reaction"] = await read(
        "message_reaction", col("message_reaction", "message_id").in_(_ids(out["message"]))
    )
    blobs = [sha for sha in _ids(out["message_media"], "sha256") if sha] + _ids(out["media_upload"], "sha256")
    out["media"] = await read("media", col("media", "sha256").in_(blobs))
    out["campaign_sender"] = await read(
        "campaign_sender", col("campaign_sender", "campaign_id").in_(_ids(out["campaign"]))
    )
    # Liveness of the job runners: written by a cron job, no company's data.
    out["worker_heartbeat"] = []
    # OAuth states already used: a nonce and a time, no company's data.
    out["oauth_state_use"] = []
    # Files to delete: a content hash each, no company's data (the rows that named them are gone).
    out["media_deletion"] = []
    missing = set(tables) - set(out)
    assert not missing, f"tables without a company rule in tests/security/world.py: {sorted(missing)}"
    return out


def _row_changes(table: str, before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[str]:
    gone = [row for row in before if row not in after]
    new = [row for row in after if row not in before]
    return [f"table {table}: was {row}" for row in gone] + [f"table {table}: now {row}" for row in new]


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What changed between two snapshots, row by row (empty: nothing changed)."""
    found = []
    for part in before:
        if part == "tables":
            for table, rows in before["tables"].items():
                found += _row_changes(table, rows, after["tables"][table])
        elif part == "pipedrive":
            for key, value in before["pipedrive"].items():
                if value != after["pipedrive"][key]:
                    if isinstance(value, list):
                        found += _row_changes(f"Pipedrive {key}", value, after["pipedrive"][key])
                    else:
                        found.append(f"Pipedrive {key}: {value} → {after['pipedrive'][key]}")
        elif before[part] != after[part]:
            found.append(f"{part}: {before[part]} → {after[part]}")
    return [line if len(line) < 1500 else line[:1500] + "…" for line in found]


# --- building it ---------------------------------------------------------------------------------------


async def _scalar(engine: AsyncEngine, query: Any) -> int:
    async with engine.connect() as connection:
        value = (await connection.execute(query)).scalar()
    assert value is not None, str(query)
    return int(value)


WAITING_LID = "170000000000001@lid"  # both companies wait for the number behind the same LID


def _group(world: PanelWorld, tenant: Tenant, subject: str) -> str:
    session = world.waha.session(tenant.session)
    group_id = world.waha.ids.group_id()
    member = Member(f"{tenant.label} member", tenant.contact, None)
    session.groups[group_id] = Group(group_id, subject, [member], created=world.waha.clock.now_s() - 3600)
    session.chats.setdefault(group_id, WahaChat(group_id, subject))
    return group_id


async def _fill(world: PanelWorld, tenant: Tenant) -> None:
    """Messages (text, image, document, group), an outbox entry, settings, an exclusion, audit entries."""
    engine = world.resources.engine
    tables = {table.name: table for table in SQLModel.metadata.sorted_tables}
    waha = world.waha
    name = f"{tenant.label} Customer"
    waha.receive(tenant.session, tenant.contact, f"{tenant.secret} text", push_name=name)
    waha.receive(
        tenant.session, tenant.contact, f"{tenant.secret} photo", kind="image", data=PNG, mimetype="image/png"
    )
    waha.receive(
        tenant.session,
        tenant.contact,
        "",
        kind="document",
        data=PDF,
        mimetype="application/pdf",
        filename=f"{tenant.secret}-contract.pdf",
    )
    group = _group(world, tenant, f"{tenant.secret} group")
    waha.receive(tenant.session, tenant.contact, f"{tenant.secret} in the group", group=group)
    await world.settle()

    account, chat, message, media = (
        tables["whatsapp_account"],
        tables["chat"],
        tables["message"],
        tables["message_media"],
    )
    tenant.company_id = await _scalar(
        engine,
        sa.select(tables["company"].c.id).where(
            tables["company"].c.pipedrive_company_id == tenant.user.company_id
        ),
    )
    tenant.account_id = await _scalar(
        engine, sa.select(account.c.id).where(account.c.session_name == tenant.session)
    )
    tenant.chat_id = await _scalar(
        engine,
        sa.select(chat.c.id).where(
            chat.c.account_id == tenant.account_id, chat.c.e164 == f"+{tenant.contact}"
        ),
    )
    tenant.group_chat_id = await _scalar(
        engine, sa.select(chat.c.id).where(chat.c.account_id == tenant.account_id, chat.c.chat_key == group)
    )
    tenant.message_id = await _scalar(
        engine, sa.select(message.c.id).where(message.c.text == f"{tenant.secret} text")
    )
    tenant.media_message_id = await _scalar(
        engine,
        sa.select(message.c.id)
        .join(media, media.c.message_id == message.c.id)
        .where(message.c.text == f"{tenant.secret} photo", media.c.state == "stored"),
    )
    tenant.document_message_id = await _scalar(
        engine,
        sa.select(message.c.id)
        .join(media, media.c.message_id == message.c.id)
        .where(message.c.media_filename == f"{tenant.secret}-contract.pdf", media.c.state == "stored"),
    )
    events = tables["inbound_event"]
    async with engine.connect() as connection:
        found = await connection.execute(
            sa.select(events.c.id).where(events.c.session_name == tenant.session)
        )
        tenant.event_ids = [int(row[0]) for row in found]

    headers = world.headers(tenant.user)
    form = {
        "person_id": str(tenant.person_id),
        "to": tenant.contact_phone,
        "account_id": str(tenant.account_id),
        "text": f"{tenant.secret} reply",
        "client_ref": f"tenancy-{tenant.label}",
    }
    sent = await world.client.post("/panel/send", data=form, headers=headers)
    assert sent.status_code == 200, sent.text
    settings = {
        "import_frequency": "realtime",
        "auto_add_persons": "on",
        "new_chat_action": "nothing",
        "excluded_numbers": "+4930901820" if tenant.label == "A" else "+12125550199",
    }
    saved = await world.client.post("/settings", data=settings, headers=headers)
    assert saved.status_code == 200, saved.text
    excluded = await world.client.post(
        "/settings/exclusions", data={"chat_id": str(tenant.group_chat_id), "excluded": "1"}, headers=headers
    )
    assert excluded.status_code == 200, excluded.text
    campaign = {"resource": "person", "selectedIds": str(tenant.person_id)}  # a draft campaign to the contact
    drafted = await world.client.post("/campaigns/modal/source", data=campaign, headers=headers)
    assert drafted.status_code == 200, drafted.text
    template = {
        "scope": "company",
        "name": f"{tenant.secret} template",
        "text": f"{tenant.secret} {{{{me.name}}}}",
    }
    made = await world.client.post("/settings/templates", data=template, headers=headers)
    assert made.status_code == 200, made.text
    await world.settle()
    outbox = tables["outbox"]
    tenant.outbox_id = await _scalar(
        engine, sa.select(outbox.c.id).where(outbox.c.client_ref == form["client_ref"])
    )
    async with engine.begin() as connection:  # what fills an approved template's variables (Cloud API)
        await connection.execute(
            tables["cloud_template_mapping"]
            .insert()
            .values(
                company_id=tenant.company_id,
                template_key="order_update:en_US",
                mapping=json.dumps({"1": "person.first_name", "2": f"deal.title|{tenant.secret}"}),
                updated_by=0,
                updated_at=datetime.now(UTC),
            )
        )
    async with engine.begin() as connection:  # a stop word from a chat known only by a LID, number unknown
        await connection.execute(
            tables["waiting_opt_out"]
            .insert()
            .values(
                company_id=tenant.company_id,
                account_id=tenant.account_id,
                lid=tenant.waiting_lid,
                word="STOP",
                at=datetime.now(UTC),
                next_ask_at=datetime(2100, 1, 1, tzinfo=UTC),  # no gateway look-up during the probes
                asked=0,
            )
        )
    templates = tables["message_template"]
    tenant.template_id = await _scalar(
        engine, sa.select(templates.c.id).where(templates.c.name == f"{tenant.secret} template")
    )
    assert waha.outbox(tenant.session), f"{tenant.label}'s reply did not reach the phone"


def _numbered_past(taken: Container[int], seed: Callable[[], Any]) -> int:
    """Seeds records until one gets an id not in ``taken`` (the other company's ids of that kind)."""
    while (record_id := int(seed())) in taken:
        pass
    return record_id


def _decoy_company(database_url: str) -> None:
    """A company stored before A and B, so internal ids and Pipedrive ids differ."""
    migrated_database(database_url)
    engine = make_sync_engine(database_url)
    table = SQLModel.metadata.tables["company"]
    with engine.begin() as connection:
        connection.execute(sa.insert(table).values(pipedrive_company_id=9_999_999, name="Decoy"))
    engine.dispose()


@contextlib.asynccontextmanager
async def tenancy_world(settings: Settings) -> AsyncIterator[TenancyWorld]:
    _decoy_company(settings.effective_database_url)
    async with panel_world(settings, history=True) as base:  # more of B's chats and files to reach for
        pd = base.pd
        a = Tenant(
            "A",
            base.anna,
            "wp-acme-anna",
            ANNA_NUMBER,
            "4917655501234",
            "+49 176 55501234",
            base.persons["maria"],
            "Acme-geheim",
            waiting_lid=WAITING_LID,
        )
        b = Tenant(
            "B",
            base.grace,
            "wp-globex-grace",
            GRACE_NUMBER,
            "14155550132",
            "+1 415 555 0132",
            base.persons["globex"],
            "Globex-classified",
            waiting_lid=WAITING_LID,  # a LID is one person's whatever number they write to
        )
        await _fill(base, a)
        await _fill(base, b)
        a.deal_id = base.deal_id
        a.file_id = base.files["offer"]
        # A Person in A's Pipedrive with the phone of B's customer: A's panel for them must not find B's chat.
        a.lookalike_person_id = int(
            seed_person(pd, a.pipedrive_company_id, "Lookalike Larry", phones=[b.contact_phone])["id"]
        )
        a.pipeline_id = seed_pipeline(pd, a.pipedrive_company_id, "Acme pipeline", ["Stage"])
        in_a, b_id = pd.company_data(a.pipedrive_company_id), b.pipedrive_company_id
        b.unshared_person_id = _numbered_past(
            in_a.persons, lambda: seed_person(pd, b_id, "Globex-classified prospect")["id"]
        )
        b.deal_id = _numbered_past(
            in_a.deals, lambda: seed_deal(pd, b_id, "Globex-classified deal", person_id=b.person_id)["id"]
        )
        b.file_id = _numbered_past(
            in_a.files,
            lambda: seed_file(pd, b_id, "Globex-classified.pdf", PDF, person_id=b.person_id)["id"],
        )
        b.pipeline_id = _numbered_past(
            in_a.pipelines, lambda: seed_pipeline(pd, b_id, "Globex-classified pipeline", ["Secret stage"])
        )
        b.markers = (
            b.secret,
            "Sam Francisco",
            "+14155550132",
            "+14155550100",
            "Globex Inc",
            "Grace Admin",
            "grace@",
        )
        a.markers = (a.secret, "Maria Kunde", "+4917655501234", "Anna Admin", "Acme Sales")
        # The company ids really differ between WaPipe and Pipedrive (see the module docstring).
        assert a.company_id == b.pipedrive_company_id, (a.company_id, b.pipedrive_company_id)
        # Cron jobs take no ids and would race the snapshots (session watch, watchdog, flush): off from here.
        world = TenancyWorld(base, a, b)
        world.queue._cron_jobs.clear()
        await base.waha.elapse(30)  # every delivery receipt of the replies has arrived
        await world.settle()
        yield world
