"""The chat's Deal or Lead, and the "WhatsApp chat link" fields.

The chat's Deal is the pinned one when a user pinned it; else the one created for the chat; else the
Person's most recently updated open Deal. The new-chat action creates a Deal (first stage of the chosen
pipeline, "WhatsApp Deal (+<number>)") or a Lead ("WhatsApp Lead (+<number>)") only when the Person has
no open Deal: a returning customer's conversation goes to the deal already in progress, not a new one.
"""

from __future__ import annotations

from dataclasses import replace

from server.domain.matching import MatchRule
from server.domain.sync import (
    ChatLink,
    CrmDeal,
    DealSource,
    NewChatAction,
    NewDeal,
    SyncChat,
    SyncSettings,
)
from server.services.sync.context import SyncContext
from server.services.sync.deal_index import person_open_deals, remember_deal
from server.services.sync.intents import create_once
from server.services.sync.owner import owner_for


def record_title(kind: str, chat: SyncChat) -> str:
    """ "WhatsApp Deal (+4989…)" / "WhatsApp Lead (Team chat)" for a group."""
    label = chat.e164 if chat.e164 and not chat.is_group else (chat.display_name or chat.chat_key)
    return f"WhatsApp {kind} ({label})"[:255]


async def attach_deal(ctx: SyncContext, chat: SyncChat, link: ChatLink, settings: SyncSettings) -> ChatLink:
    """``link`` with its Deal or Lead decided (a pin always wins). Saved when it changed.

    A pinned Deal, the Deal created for the chat and the chat's Lead stay. Otherwise the Person's most
    recently updated open Deal is looked up again at every run, in the company's deal index (no request
    of its own), so a Deal opened, won or lost in Pipedrive is followed from the next write on.
    """
    if link.person_id is None:
        return link
    updated = link
    if link.pinned_deal_id is not None:
        if link.deal_id != link.pinned_deal_id:
            updated = replace(
                link, deal_id=link.pinned_deal_id, deal_source=DealSource.PINNED, deal_checked=True
            )
    elif link.deal_source is not DealSource.CREATED and link.lead_id is None:
        updated = await _choose_deal(ctx, chat, link, settings)
    if updated != link:
        await ctx.store.save_link(updated)
    return updated


async def _choose_deal(ctx: SyncContext, chat: SyncChat, link: ChatLink, settings: SyncSettings) -> ChatLink:
    assert link.person_id is not None
    person_id = link.person_id
    key_field = settings.deal_link_field_key
    new_person = link.rule == MatchRule.CREATED.value and not chat.is_group
    deals = (
        []
        if new_person and not link.deal_checked
        else await person_open_deals(ctx, chat.company_id, person_id, link_field_key=key_field)
    )
    creates = settings.new_chat_action in (NewChatAction.DEAL, NewChatAction.LEAD)
    if not deals and creates and not link.deal_checked and not new_person:
        # about to create: make sure no Deal was opened for the Person a moment ago
        deals = await person_open_deals(ctx, chat.company_id, person_id, link_field_key=key_field, fresh=True)
    if deals:
        deal = deals[0]
        if link.deal_id == deal.id and link.deal_source is DealSource.OPEN_DEAL:
            return replace(link, deal_checked=True)
        return replace(
            link,
            deal_id=deal.id,
            deal_source=DealSource.OPEN_DEAL,
            deal_checked=True,
            deal_link_url=deal.link_value,
        )
    if link.deal_checked:  # the new-chat action ran before: a chat creates at most one Deal or Lead
        return replace(link, deal_id=None, deal_source=DealSource.NONE) if link.deal_id else link
    if settings.new_chat_action is NewChatAction.DEAL:
        return await _create_deal(ctx, chat, link, settings)
    if settings.new_chat_action is NewChatAction.LEAD:
        title = record_title("Lead", chat)

        async def find_lead() -> str | None:
            found = [lead for lead in await ctx.crm.leads_of_person(person_id) if lead.title == title]
            return found[0].id if found else None

        async def create_lead() -> str:
            return (await ctx.crm.create_lead(title, person_id, await owner_for(ctx, chat))).id

        lead_id = await create_once(
            ctx, chat.company_id, f"lead:{chat.id}", find=find_lead, create=create_lead
        )
        return replace(link, lead_id=lead_id, deal_checked=True)
    return replace(link, deal_id=None, deal_source=DealSource.NONE, deal_checked=True)


async def _create_deal(ctx: SyncContext, chat: SyncChat, link: ChatLink, settings: SyncSettings) -> ChatLink:
    assert link.person_id is not None
    person_id = link.person_id
    title = record_title("Deal", chat)
    url = ctx.chat_url(chat.id)
    created: list[CrmDeal] = []

    async def find_deal() -> str | None:
        found = [
            d for d in await ctx.crm.open_deals(person_id, settings.deal_link_field_key) if d.title == title
        ]
        return str(found[0].id) if found else None

    async def create_deal() -> str:
        pipeline_id, stage_id = await ctx.crm.first_stage(settings.pipeline_id)
        custom = {settings.deal_link_field_key: url} if settings.deal_link_field_key else {}
        owner = await owner_for(ctx, chat)
        deal = await ctx.crm.create_deal(NewDeal(title, person_id, pipeline_id, stage_id, owner, custom))
        created.append(deal)
        return str(deal.id)

    deal_id = int(
        await create_once(ctx, chat.company_id, f"deal:{chat.id}", find=find_deal, create=create_deal)
    )
    if created:
        remember_deal(ctx, chat.company_id, replace(created[0], person_id=person_id))
    return replace(
        link,
        deal_id=deal_id,
        deal_source=DealSource.CREATED,
        deal_checked=True,
        deal_link_url=url if settings.deal_link_field_key else "",
    )


async def _write_deal_link(
    ctx: SyncContext, chat: SyncChat, link: ChatLink, settings: SyncSettings
) -> ChatLink:
    url = ctx.chat_url(chat.id)
    if link.deal_id is not None and settings.deal_link_field_key and link.deal_link_url != url:
        await ctx.crm.set_deal_field(link.deal_id, settings.deal_link_field_key, url)
        link = replace(link, deal_link_url=url)
    return link


async def write_link_fields(
    ctx: SyncContext, chat: SyncChat, link: ChatLink, settings: SyncSettings
) -> ChatLink:
    """Point the Deal's and the Person's "WhatsApp chat link" at this chat, unless they already do.

    Runs after the day's transcript is written: the link fields are not what a salesperson waits for.
    """
    updated = await _write_deal_link(ctx, chat, link, settings)
    if updated != link:
        await ctx.store.save_link(updated)
    return await _write_person_link(ctx, chat, updated, settings)


async def _write_person_link(
    ctx: SyncContext, chat: SyncChat, link: ChatLink, settings: SyncSettings
) -> ChatLink:
    url = ctx.chat_url(chat.id)
    if link.person_id is None or not settings.person_link_field_key or link.person_link_url == url:
        return link
    current = await ctx.index_store.link_value(chat.company_id, link.person_id)
    if current != url:
        await ctx.crm.set_person_field(link.person_id, settings.person_link_field_key, url)
        await ctx.index_store.set_link_value(chat.company_id, link.person_id, url)
    updated = replace(link, person_link_url=url)
    await ctx.store.save_link(updated)
    return updated
