"""Edited and deleted messages and reactions in the day activities: each change marks its day dirty once.

The change itself is already stored (``server.storage.message_changes``, ``server.storage.reactions``);
rewriting the day renders the stored messages (and the reactions made that day) again, so the activity is
PATCHed once with the new lines however many changes came.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from server.domain.days import local_day
from server.domain.errors import InvalidChatId
from server.domain.jids import parse_jid
from server.domain.message_changes import reaction_text
from server.domain.sync import SyncChat
from server.domain.transcript import TranscriptLine
from server.services.sync.context import SyncContext


async def absorb_changes(ctx: SyncContext, chat_id: int, zone: ZoneInfo) -> int:
    """Mark the days of the chat's changed messages dirty and forget the changes; how many there were."""
    pending = await ctx.store.pending_changes(chat_id)
    if not pending:
        return 0
    days = {local_day(change.sent_at, zone) for change in pending}
    await ctx.store.mark_days_dirty(chat_id, days, now=ctx.clock(), cursor=None)
    await ctx.store.drop_changes(chat_id, [change.id for change in pending])
    return len(pending)


async def reaction_lines(
    ctx: SyncContext, chat: SyncChat, start: datetime, end: datetime
) -> list[TranscriptLine]:
    """The day's reactions as transcript lines ("👍 to “…”"), at the time each was made."""
    return [
        TranscriptLine(
            key=f"reaction-{reaction.id}",
            sent_at=reaction.reacted_at,
            from_me=reaction.from_me,
            sender_name=reaction.reactor_name or None,
            sender_number=_number(reaction.reactor_key) if chat.is_group else None,
            reaction=reaction_text(reaction.emoji, reaction.quote),
        )
        for reaction in await ctx.store.reactions_between(chat.id, start, end)
    ]


def _number(chat_key: str) -> str | None:
    try:
        return parse_jid(chat_key).e164
    except InvalidChatId:
        return None
