"""A campaign end to end through the in-process job runner, the Pipedrive sandbox and the WAHA sandbox:
recipients read from a Pipedrive selection, previewed, sent through the outbox (each message lands in
the contact's chat), a number without WhatsApp skipped when sending, and a reply "Stop" recorded as an
opt-out in WaPipe and in Pipedrive, the campaign showing it as replied."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable

import pytest

from sandbox.pipedrive.state import SandboxUser
from server.domain.campaigns import (
    CampaignSource,
    CampaignStatus,
    Compose,
    Pacing,
    RecipientStatus,
    SkipReason,
)
from server.domain.ports.recipients import ListKind
from server.jobs.campaigns import campaigns_for
from server.jobs.deps import job_deps
from server.jobs.inbound import catch_up_account
from server.pipedrive.recipients import OPT_OUT_FIELD_NAME
from server.settings import Settings
from server.storage.companies import SqlCompanyStore
from server.storage.tables import Message, WhatsAppAccount
from server.storage.tables_campaigns import OptOutRow
from tests.panel.world import ANNA_NUMBER, PanelWorld, panel_world
from tests.world import world_settings_overrides

MARIA_NUMBER = "4917655501234"


@pytest.fixture
async def world(make_settings: Callable[..., Settings]) -> AsyncIterator[PanelWorld]:
    async with panel_world(make_settings(**world_settings_overrides())) as world:
        yield world


async def company_of(world: PanelWorld, user: SandboxUser) -> int:
    company = await SqlCompanyStore(world.resources.engine).get(user.company_id)
    assert company is not None
    return company.id


async def test_a_campaign_runs_to_the_end_and_a_stop_reply_opts_out(world: PanelWorld) -> None:
    deps = job_deps(world.resources.queue.ctx)  # type: ignore[attr-defined]
    campaigns = campaigns_for(deps)
    company_id = await company_of(world, world.anna)
    [anna] = [a for a in await world.rows(WhatsAppAccount) if a["e164"] == "+" + ANNA_NUMBER]
    names = ("maria", "local", "nophone", "bad", "missing")
    source = CampaignSource(ListKind.PERSON, ids=tuple(world.persons[n] for n in names))
    campaign = await campaigns.create(company_id, world.anna.id, source, "Winter")
    compose = Compose(
        "Hello {{person.first_name|there}}! Reply STOP to unsubscribe", account_ids=(anna["id"],)
    )

    preview = await campaigns.preview(company_id, world.anna.id, campaign.id, compose, show=5)
    assert [(row.name, row.skip) for row in preview.rows] == [
        ("Maria Kunde", None),
        ("Lokal Lisa", None),
        ("Ohne Telefon", SkipReason.NO_PHONE),
        ("Falsche Nummer", SkipReason.NUMBER_INVALID),
        ("Nicht Auf WhatsApp", SkipReason.NOT_ON_WHATSAPP),  # the gateway was asked
    ]
    assert preview.rows[0].text == "Hello Maria! Reply STOP to unsubscribe"

    await campaigns.start(company_id, world.anna.id, campaign.id, compose, Pacing.off())
    await world.settle()

    sent = [m for m in await world.rows(Message) if m["from_me"] and m["text"].startswith("Hello")]
    assert sorted(m["text"] for m in sent) == [
        "Hello Lokal! Reply STOP to unsubscribe",
        "Hello Maria! Reply STOP to unsubscribe",
    ]
    progress = await campaigns.progress(company_id, campaign.id)
    assert progress.skipped_by_reason == {
        SkipReason.NO_PHONE: 1,
        SkipReason.NUMBER_INVALID: 1,
        SkipReason.NOT_ON_WHATSAPP: 1,  # learnt when sending
    }

    world.waha.receive("wp-acme-anna", MARIA_NUMBER, "Stop", push_name="Maria")  # type: ignore[union-attr]
    await world.settle()

    [opt_out] = await world.rows(OptOutRow)
    assert (opt_out["e164"], opt_out["person_id"], opt_out["word"]) == (
        "+" + MARIA_NUMBER,
        world.persons["maria"],
        "STOP",
    )
    assert world.pd is not None
    data = world.pd.company_data(world.anna.company_id)
    [field] = [f for f in data.person_fields.values() if f["name"] == OPT_OUT_FIELD_NAME]
    maria = data.persons[world.persons["maria"]]
    assert maria["custom_fields"][field["key"]] == world.clock.now().date().isoformat()

    progress = await campaigns.progress(company_id, campaign.id)
    assert progress.campaign.status is CampaignStatus.FINISHED
    assert progress.done == 1.0
    by_name = {row.name: row for row in progress.recent}
    assert by_name["Maria Kunde"].status is RecipientStatus.REPLIED
    assert by_name["Lokal Lisa"].status in (
        RecipientStatus.SENT,
        RecipientStatus.DELIVERED,
        RecipientStatus.READ,
    )

    table = list(csv.DictReader(io.StringIO(await campaigns.results_csv(company_id, campaign.id))))
    assert [row["name"] for row in table] == [
        "Maria Kunde",
        "Lokal Lisa",
        "Ohne Telefon",
        "Falsche Nummer",
        "Nicht Auf WhatsApp",
    ]
    maria_row = table[0]
    assert maria_row["phone"] == "+" + MARIA_NUMBER and maria_row["from"] == "+" + ANNA_NUMBER
    assert maria_row["status"] == "replied" and maria_row["sent_at"] and maria_row["replied_at"]
    assert [row["reason"] for row in table[2:]] == ["no_phone", "number_invalid", "not_on_whatsapp"]

    again = await campaigns.create(company_id, world.anna.id, source, "Spring")  # a later campaign
    later = await campaigns.preview(company_id, world.anna.id, again.id, compose, show=1)
    assert later.rows[0].skip is SkipReason.OPTED_OUT


async def test_a_stop_sent_while_webhooks_were_lost_is_found_by_the_catch_up(world: PanelWorld) -> None:
    assert world.waha is not None
    world.waha.faults("wp-acme-anna").silent = True
    world.waha.receive("wp-acme-anna", MARIA_NUMBER, "UNSUBSCRIBE")
    await world.settle()
    assert await world.rows(OptOutRow) == []  # nothing told us yet
    [anna] = [a for a in await world.rows(WhatsAppAccount) if a["e164"] == "+" + ANNA_NUMBER]
    ctx = {**world.resources.queue.ctx, "job_try": 1}  # type: ignore[attr-defined]
    await catch_up_account(ctx, anna["id"], "watchdog")
    [opt_out] = await world.rows(OptOutRow)
    assert (opt_out["e164"], opt_out["word"]) == ("+" + MARIA_NUMBER, "UNSUBSCRIBE")
