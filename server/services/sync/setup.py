"""What must exist in Pipedrive before the engine writes: the activity type and the chat-link fields.

Install creates them; the engine also finds or creates them itself when a key is missing (the admin may
have deleted a field, or install ran before a scope was granted). Finding comes first, so running this
any number of times leaves one type and one field per entity.
"""

from __future__ import annotations

from dataclasses import replace

from server.domain.sync import SyncSettings
from server.services.sync.context import SyncContext
from server.services.sync.intents import create_once


async def ensure_setup(ctx: SyncContext, settings: SyncSettings) -> SyncSettings:
    """``settings`` with the activity type key and both link field keys filled in (and stored)."""
    company = settings.company_id
    changes: dict[str, str] = {}
    if not settings.activity_type_key:

        async def find_type() -> str | None:
            return await ctx.crm.find_activity_type()

        async def create_type() -> str:
            return await ctx.crm.create_activity_type()  # finds it first, reactivating an inactive one

        changes["activity_type_key"] = await create_once(
            ctx, company, f"setup:{company}:activity_type", find=find_type, create=create_type
        )
    for entity, attribute in (("person", "person_link_field_key"), ("deal", "deal_link_field_key")):
        if getattr(settings, attribute):
            continue

        async def find_field(entity: str = entity) -> str | None:
            return await ctx.crm.find_field(entity)

        async def create_field(entity: str = entity) -> str:
            return await ctx.crm.create_field(entity)  # finds it first

        changes[attribute] = await create_once(
            ctx, company, f"setup:{company}:{entity}_link_field", find=find_field, create=create_field
        )
    if not changes:
        return settings
    await ctx.store.save_setup_keys(company, changes)
    return replace(
        settings,
        activity_type_key=changes.get("activity_type_key", settings.activity_type_key),
        person_link_field_key=changes.get("person_link_field_key", settings.person_link_field_key),
        deal_link_field_key=changes.get("deal_link_field_key", settings.deal_link_field_key),
    )
