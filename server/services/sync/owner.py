"""Who owns what the engine creates: the Pipedrive user whose email is the number owner's, else an admin."""

from __future__ import annotations

from datetime import timedelta

from server.domain.sync import CrmUser, SyncChat
from server.services.sync.context import SyncContext

USERS_CACHE = timedelta(minutes=15)  # GET /users costs 20 tokens; users change rarely


async def owner_for(ctx: SyncContext, chat: SyncChat) -> int | None:
    """The owner for a Person, Deal or Lead created for ``chat``; ``None`` lets Pipedrive choose."""
    users = [user for user in await _users(ctx, chat.company_id) if user.active]
    email = await ctx.store.installation_email(chat.company_id, chat.owner_user_id)
    if email:
        wanted = email.strip().casefold()
        for user in users:
            if user.email.strip().casefold() == wanted:
                return user.id
    admin = await ctx.store.admin_user_id(chat.company_id)
    if admin is not None and any(user.id == admin for user in users):
        return admin
    return next((user.id for user in users if user.is_admin), admin)


async def _users(ctx: SyncContext, company_id: int) -> list[CrmUser]:
    async with ctx.caches.lock(f"users:{company_id}"):  # concurrent chats share one fetch
        now = ctx.clock()
        cached = ctx.caches.users.get(company_id)
        if cached is not None and now - cached[0] < USERS_CACHE:
            return cached[1]
        users = await ctx.crm.users()
        ctx.caches.users[company_id] = (now, users)
        return users
