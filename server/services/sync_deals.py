"""The chat's Deal or Lead, and the "WhatsApp chat link" fields.

The chat's Deal is the pinned one when a user pinned it; else the one created for the chat; else the
Person's most recently updated open Deal. The new-chat action creates a Deal (first stage of the chosen
pipeline, "WhatsApp Deal (+<number>)") or a Lead ("WhatsApp Lead (+<number>)") only when the Person has
no open Deal: a returning customer's conversation goes to the deal already in progress, not a new one.
"""

from __future__ import annotations

from dataclasses import replace

from server.domain.matching import MatchRule
from server.domain.sync import ChatLink, DealSource, NewChatAction, NewDeal, SyncChat, SyncSettings
from server.services.sync_context import SyncContext
from server.services.sync_intents import create_once
from server.services.sync_owner import owner_for


def record_title(kind: str, chat: SyncChat) -> str:
    """ "WhatsApp Deal (+4989…)" / "WhatsApp Lead (Team chat)" for a group."""
    label = chat.e164 if chat.e164 and not chat.is_group else (chat.display_name or chat.chat_key)
    return f"WhatsApp {kind} ({label})"[:255]


async def attach_deal(ctx: SyncContext, chat: SyncChat, link: ChatLink, settings: SyncSettings) -> ChatLink:
    """``link`` with its Deal or Lead decided (once; a pin always wins). Saved when it changed."""
    if link.person_id is None:
        return link
    updated = link
    if link.pinned_deal_id is not None:
        if link.deal_id != link.pinned_deal_id:
            updated = replace(
                link, deal_id=link.pinned_deal_id, deal_source=DealSource.PINNED, deal_checked=True
            )
    elif not link.deal_checked:
        updated = await _choose_deal(ctx, chat, link, settings)
    updated = await _write_deal_link(ctx, chat, updated, settings)
    if updated != link:
        await ctx.store.save_link(updated)
    return updated


async def _choose_deal(ctx: SyncContext, chat: SyncChat, link: ChatLink, settings: SyncSettings) -> ChatLink:
    assert link.person_id is not None
    person_id = link.person_id
    url = ctx.chat_url(chat.id)
    new_person = link.rule == MatchRule.CREATED.value and not chat.is_group
    deals = [] if new_person else await ctx.crm.open_deals(person_id, settings.deal_link_field_key)
    if deals:
        deal = deals[0]
        return replace(
            link,
            deal_id=deal.id,
            deal_source=DealSource.OPEN_DEAL,
            deal_checked=True,
            deal_link_url=deal.link_value,
        )
    if settings.new_chat_action is NewChatAction.DEAL:
        title = record_title("Deal", chat)

        async def find_deal() -> str | None:
            found = [
                d
                for d in await ctx.crm.open_deals(person_id, settings.deal_link_field_key)
                if d.title == title
            ]
            return str(found[0].id) if found else None

        async def create_deal() -> str:
            pipeline_id, stage_id = await ctx.crm.first_stage(settings.pipeline_id)
            custom = {settings.deal_link_field_key: url} if settings.deal_link_field_key else {}
            owner = await owner_for(ctx, chat)
            deal = await ctx.crm.create_deal(NewDeal(title, person_id, pipeline_id, stage_id, owner, custom))
            return str(deal.id)

        deal_id = int(
            await create_once(ctx, chat.company_id, f"deal:{chat.id}", find=find_deal, create=create_deal)
        )
        return replace(
            link,
            deal_id=deal_id,
            deal_source=DealSource.CREATED,
            deal_checked=True,
            deal_link_url=url if settings.deal_link_field_key else "",
        )
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
    return replace(link, deal_checked=True)


async def _write_deal_link(
    ctx: SyncContext, chat: SyncChat, link: ChatLink, settings: SyncSettings
) -> ChatLink:
    url = ctx.chat_url(chat.id)
    if link.deal_id is not None and settings.deal_link_field_key and link.deal_link_url != url:
        await ctx.crm.set_deal_field(link.deal_id, settings.deal_link_field_key, url)
        link = replace(link, deal_link_url=url)
    return link


async def write_person_link(
    ctx: SyncContext, chat: SyncChat, link: ChatLink, settings: SyncSettings
) -> ChatLink:
    """Point the Person's "WhatsApp chat link" at this chat, unless it already does."""
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
