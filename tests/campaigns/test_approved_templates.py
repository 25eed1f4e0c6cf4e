"""A campaign from a Cloud API number sent as a Meta-approved template: each recipient's outbox row carries
the template filled from their own values, and a recipient it cannot be filled for is skipped by name."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select

from server.domain.campaigns import CampaignSource, Compose, FromMode, Pacing, RecipientStatus, SkipReason
from server.domain.cloud_templates import ApprovedTemplate
from server.domain.errors import InvalidInput
from server.domain.message_templates import TemplateAttachment
from server.domain.ports.recipients import ListKind
from server.services.campaigns import CampaignPorts, Campaigns
from server.services.campaigns.tick import tick
from server.services.cloud_templates import CloudTemplates, TemplateCache
from server.storage.accounts import SqlAccountStore
from server.storage.cloud_templates import SqlTemplateMappings
from server.storage.tables import Outbox, table_of
from tests.campaigns.conftest import CampaignWorld, person

CLOUD_NUMBER = "+4930555000111"
OFFER = ApprovedTemplate(
    name="winter_offer", language="de", category="MARKETING", body="Hallo {{1}}, Ihr Angebot: {{2}}"
)


class Meta:
    """The business account's approved templates, as the Graph API reader returns them."""

    def __init__(self) -> None:
        self.reads = 0

    async def approved(self, account_id: str) -> list[ApprovedTemplate]:
        self.reads += 1
        return [OFFER]


async def cloud_world(world: CampaignWorld) -> tuple[Campaigns, CampaignPorts, int, Meta]:
    accounts = SqlAccountStore(world.engine)
    account = await accounts.create(
        company_id=world.company_id, owner_user_id=7, transport="cloud", session_name="106540352242922"
    )
    await accounts.set_number(account.id, CLOUD_NUMBER, "106540352242922")
    await accounts.set_status(account.id, "connected")
    mappings = SqlTemplateMappings(world.engine)
    await mappings.save(world.company_id, OFFER.key, {"1": "person.first_name", "2": "deal.title"}, 7)
    meta = Meta()
    approved = CloudTemplates(meta, mappings, world.clock, TemplateCache())
    ports = replace(world.ports, approved=approved)
    return Campaigns(ports), ports, account.id, meta


async def outbox_rows(world: CampaignWorld) -> dict[int | None, dict[str, Any]]:
    table = table_of(Outbox)
    async with world.engine.connect() as connection:
        rows = (await connection.execute(select(table))).mappings()
        return {row["person_id"]: dict(row) for row in rows}


async def test_each_recipient_gets_the_template_filled_with_their_own_values(world: CampaignWorld) -> None:
    campaigns, ports, cloud, meta = await cloud_world(world)
    world.pipedrive.records.update(
        {
            1: replace(
                person(1, "Maria Kunde", "+49 176 55501234"),
                values={"person": {"first_name": "Maria"}, "deal": {"title": "Solar 10 kW"}},
            ),
            2: replace(
                person(2, "Otto Normal", "+49 176 55509999"),
                values={"person": {"first_name": "Otto"}, "deal": {"title": ""}},  # no Deal title
            ),
        }
    )
    campaign = await campaigns.create(world.company_id, 7, CampaignSource(ListKind.PERSON, ids=(1, 2)))
    attachment = TemplateAttachment(41, "offer.pdf")  # not sent: the approved template's header is Meta's
    compose = Compose("", FromMode.FIXED, (cloud,), approved_template=OFFER.key, attachment=attachment)
    await campaigns.start(world.company_id, 7, campaign.id, compose, Pacing.off())
    started = await world.store.by_id(campaign.id)
    assert started is not None

    await tick(ports.tick_ports(), campaign.id, started.tick_seq)

    rows = await outbox_rows(world)
    assert list(rows) == [1]  # Otto's message would carry an empty parameter: Meta refuses those
    maria = rows[1]
    assert (maria["template_name"], maria["template_language"]) == ("winter_offer", "de")
    assert json.loads(maria["template_parameters"])["values"] == ["Maria", "Solar 10 kW"]
    assert maria["text"] == "Hallo Maria, Ihr Angebot: Solar 10 kW"
    assert maria["to_chat"] == "+4917655501234"
    assert (maria["file_id"], maria["file_name"]) == (None, "")
    recipients = {r.record.person_id: r for r in await world.store.recipients(world.company_id, campaign.id)}
    assert recipients[1].status is RecipientStatus.QUEUED
    assert recipients[2].status is RecipientStatus.SKIPPED
    assert recipients[2].skip is SkipReason.TEMPLATE_UNAVAILABLE
    assert meta.reads == 1  # the approved list is read once for the whole run


async def test_without_an_approved_template_a_cloud_number_skips_contacts_outside_the_window(
    world: CampaignWorld,
) -> None:
    campaigns, ports, cloud, meta = await cloud_world(world)
    world.pipedrive.records[1] = person(1, "Maria Kunde", "+49 176 55501234")
    campaign = await campaigns.create(world.company_id, 7, CampaignSource(ListKind.PERSON, ids=(1,)))
    compose = Compose("Hallo {{person.first_name}}", FromMode.FIXED, (cloud,))
    await campaigns.start(world.company_id, 7, campaign.id, compose, Pacing.off())
    started = await world.store.by_id(campaign.id)
    assert started is not None

    await tick(ports.tick_ports(), campaign.id, started.tick_seq)

    assert await outbox_rows(world) == {}
    (maria,) = await world.store.recipients(world.company_id, campaign.id)
    assert maria.skip is SkipReason.OUTSIDE_CLOUD_WINDOW
    assert meta.reads == 0


async def test_a_template_campaign_without_text_refuses_a_whatsapp_web_number(world: CampaignWorld) -> None:
    campaigns, _ports, cloud, _meta = await cloud_world(world)
    world.pipedrive.records[1] = person(1, "Maria Kunde", "+49 176 55501234")
    campaign = await campaigns.create(world.company_id, 7, CampaignSource(ListKind.PERSON, ids=(1,)))
    compose = Compose("", FromMode.ROUND_ROBIN, (cloud, world.anna), approved_template=OFFER.key)
    with pytest.raises(InvalidInput) as refused:
        await campaigns.start(world.company_id, 7, campaign.id, compose, Pacing.off())
    assert refused.value.reason == "template_needs_cloud_number"
    assert refused.value.message == (  # the panel's words for a template from that number
        "+4915112345678 is linked through WhatsApp Web, which cannot send WhatsApp-approved templates: "
        "send from a WhatsApp Business (Cloud API) number, or type the message yourself"
    )


async def test_the_preview_shows_each_recipients_template_and_refuses_one_the_number_lacks(
    world: CampaignWorld,
) -> None:
    campaigns, _ports, cloud, meta = await cloud_world(world)
    world.pipedrive.records.update(
        {
            1: replace(
                person(1, "Maria Kunde", "+49 176 55501234"),
                values={"person": {"first_name": "Maria"}, "deal": {"title": "Solar 10 kW"}},
            ),
            2: person(2, "Otto Normal", "+49 176 55509999"),  # no Deal title: the template cannot be filled
        }
    )
    campaign = await campaigns.create(world.company_id, 7, CampaignSource(ListKind.PERSON, ids=(1, 2)))
    compose = Compose("Hallo {{person.first_name}}", FromMode.FIXED, (cloud,), approved_template=OFFER.key)

    preview = await campaigns.preview(world.company_id, 7, campaign.id, compose)

    maria, otto = preview.rows
    assert (maria.text, maria.skip, maria.approved_template) == (
        "Hallo Maria, Ihr Angebot: Solar 10 kW",
        None,
        "winter_offer:de",
    )
    assert (otto.skip, otto.approved_template) == (SkipReason.TEMPLATE_UNAVAILABLE, "")
    assert (preview.will_send, dict(preview.skipped)) == (1, {SkipReason.TEMPLATE_UNAVAILABLE: 1})
    for key, reason in (("summer_offer:de", "unknown_template"), ("winter_offer:en_US", "unknown_template")):
        with pytest.raises(InvalidInput) as refused:
            await campaigns.preview(world.company_id, 7, campaign.id, replace(compose, approved_template=key))
        assert refused.value.reason == reason
    web_only = replace(compose, account_ids=(world.anna,))
    with pytest.raises(InvalidInput) as refused:
        await campaigns.start(world.company_id, 7, campaign.id, web_only, Pacing.off())
    assert refused.value.reason == "template_needs_cloud_number"
    assert refused.value.message == (
        "WhatsApp-approved templates are sent from WhatsApp Business (Cloud API) numbers: choose one to "
        "send from, or type the message yourself"
    )
    assert meta.reads == 1  # every check and preview read the approved list through the cache
