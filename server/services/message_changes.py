"""Edited and deleted messages in the day activities: each change marks its message's day dirty once.

The change itself is already stored (``server.storage.message_changes``); rewriting the day renders the
stored messages again, so the activity is PATCHed once with the new line however many changes came.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from server.domain.days import local_day
from server.services.sync_context import SyncContext


async def absorb_changes(ctx: SyncContext, chat_id: int, zone: ZoneInfo) -> int:
    """Mark the days of the chat's changed messages dirty and forget the changes; how many there were."""
    pending = await ctx.store.pending_changes(chat_id)
    if not pending:
        return 0
    days = {local_day(change.sent_at, zone) for change in pending}
    await ctx.store.mark_days_dirty(chat_id, days, now=ctx.clock(), cursor=None)
    await ctx.store.drop_changes(chat_id, [change.id for change in pending])
    return len(pending)
