"""Day activities: one "WhatsApp chat" activity per chat per local day, its note the day's transcript.

A day is re-rendered from the stored messages whenever it is dirty, so retries, replays and catch-up
render byte-identical notes; a PATCH is sent only when what it would send changed (``write_hash``).
Past 100 KB the transcript continues in a "part 2" activity. Each note ends with a link to the chat in
WaPipe that also names the chat, day and part: after a crash between Pipedrive's answer and our commit,
that marker finds the activity instead of creating a second one.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from server.domain.days import activity_due, company_zone, day_window
from server.domain.errors import InvalidChatId, NotFound
from server.domain.jids import parse_jid
from server.domain.message_kinds import decode
from server.domain.sync import (
    ActivityWrite,
    ChatLink,
    DayPart,
    MediaState,
    MessageMedia,
    SyncChat,
    SyncMessage,
    SyncSettings,
)
from server.domain.transcript import (
    NOTE_LIMIT_BYTES,
    TranscriptAttachment,
    TranscriptChat,
    TranscriptLine,
    render_transcript,
)
from server.domain.whatsapp import MediaKind
from server.services.message_changes import reaction_lines
from server.services.sync.context import SyncContext
from server.services.sync.intents import create_once
from server.services.sync.owner import owner_for

FOOTER_RESERVE = 512  # bytes kept free in every note for the footer


def marker(chat_id: int, day: date, part: int) -> str:
    return f"#wapipe-{chat_id}-{day.isoformat()}-{part}"


def footer(ctx: SyncContext, chat_id: int, day: date, part: int) -> str:
    href = html.escape(ctx.chat_url(chat_id) + marker(chat_id, day, part), quote=True)
    return f'<p><i><a href="{href}">Open this chat in WaPipe</a></i></p>'


def write_hash(write: ActivityWrite) -> str:
    """What a PATCH would send; equal hashes mean Pipedrive already holds it."""
    fields = (
        write.subject,
        write.type_key,
        write.due_date,
        write.note,
        write.person_id,
        write.deal_id,
        write.lead_id,
        write.owner_id,
        write.done,
    )
    return hashlib.sha256("\x00".join(str(value) for value in fields).encode()).hexdigest()


def media_url(ctx: SyncContext, chat_id: int, message_id: int) -> str:
    return f"{ctx.chat_url(chat_id)}/media/{message_id}"


def transcript_line(
    ctx: SyncContext, chat: SyncChat, message: SyncMessage, media: MessageMedia | None
) -> TranscriptLine:
    attachment = None
    if message.media_kind:
        state = media.state if media is not None else MediaState.PENDING
        size = media.size if media is not None else None
        try:
            kind = MediaKind(message.media_kind)
        except ValueError:
            kind = MediaKind.DOCUMENT
        attachment = TranscriptAttachment(
            kind=kind,
            file_name=message.media_filename or None,
            url=None
            if state in (MediaState.UNAVAILABLE, MediaState.REMOVED, MediaState.PENDING)
            else media_url(ctx, chat.id, message.id),
            size_bytes=size,
            too_large=state is MediaState.TOO_LARGE
            or (state is MediaState.STORED and (size or 0) > ctx.config.upload_limit_bytes),
            unavailable=state is MediaState.UNAVAILABLE,
            removed=state is MediaState.REMOVED,
            pending=state is MediaState.PENDING,
        )
    return TranscriptLine(
        key=message.key,
        sent_at=message.sent_at,
        from_me=message.from_me,
        text=message.text or None,
        sender_name=message.sender_name or None,
        sender_number=_number(message.sender_key) if chat.is_group else None,
        edited=message.edited,
        deleted=message.deleted,
        quote=message.quote,
        attachment=attachment,
        details=decode(message.details),
    )


@dataclass(frozen=True)
class Flushed:
    writes: int  # activities created, updated or dropped
    lags: tuple[timedelta, ...]  # per day written with new live messages: how long the oldest waited


async def flush_due_days(
    ctx: SyncContext, chat: SyncChat, link: ChatLink, settings: SyncSettings, *, due_before: datetime
) -> Flushed:
    """Write every dirty day whose first unwritten change is older than ``due_before``."""
    zone = company_zone(settings.timezone)
    writes = 0
    lags: list[timedelta] = []
    for dirty in await ctx.store.dirty_days(chat.id, due_before=due_before):
        written = await flush_day(ctx, chat, link, settings, zone, dirty.day)
        await ctx.store.clear_dirty(chat.id, dirty.day, dirty.version)
        if written and dirty.waiting_since is not None:
            lags.append(ctx.clock() - dirty.waiting_since)
        writes += written
    return Flushed(writes, tuple(lags))


def chat_name(chat: SyncChat, link: ChatLink) -> str:
    """What a chat's activity subject calls it: a group by its subject; a contact by the name of the Person
    the chat is linked to (what the CRM calls them), else by their WhatsApp profile name. (The transcript's
    lines name the contact as they call themselves on WhatsApp.)"""
    if chat.is_group:
        return chat.display_name or link.person_name
    return link.person_name or chat.display_name


async def flush_day(
    ctx: SyncContext, chat: SyncChat, link: ChatLink, settings: SyncSettings, zone: ZoneInfo, day: date
) -> int:
    assert link.person_id is not None
    start, end = day_window(day, zone)
    messages = await ctx.store.messages_between(chat.id, start, end)
    media = await ctx.store.media_of([message.id for message in messages if message.media_kind])
    lines = [transcript_line(ctx, chat, message, media.get(message.id)) for message in messages]
    lines += await reaction_lines(ctx, chat, start, end)
    view = TranscriptChat(
        zone=zone,
        contact_name=(chat.display_name or link.person_name or None),
        subject_name=chat_name(chat, link) or None,
        contact_number=chat.e164,
        is_group=chat.is_group,
    )
    parts = render_transcript(lines, view, max_bytes=NOTE_LIMIT_BYTES - FOOTER_RESERVE)
    existing = {row.part: row for row in await ctx.store.day_parts(chat.id, day)}
    owner = await owner_for(ctx, chat)
    writes = 0
    for part in parts:
        write = ActivityWrite(
            subject=part.subject,
            type_key=settings.activity_type_key,
            due_date=activity_due(day, zone).due_date,
            note=part.html + footer(ctx, chat.id, day, part.number),
            person_id=link.person_id,
            deal_id=link.deal_id,
            lead_id=link.lead_id if link.deal_id is None else None,
            owner_id=owner,
        )
        digest = write_hash(write)
        row = existing.get(part.number) or DayPart(chat.id, day, part.number)
        if row.activity_id is not None and row.rendered_hash == digest:
            continue
        activity_id = row.activity_id
        if activity_id is not None:
            try:
                await ctx.crm.update_activity(activity_id, write)
            except NotFound:  # deleted in Pipedrive: log the day again in a new activity
                row = replace(row, generation=row.generation + 1)
                activity_id = None
        if activity_id is None:
            row, activity_id = await _create_activity(ctx, chat, row, write)
        await ctx.store.save_part(replace(row, activity_id=activity_id, rendered_hash=digest))
        writes += 1
    for number, row in existing.items():  # a day that shrank (a merge moved lines away): drop the extra parts
        if number > len(parts) and row.activity_id is not None:
            with contextlib.suppress(NotFound):
                await ctx.crm.delete_activity(row.activity_id)
            await ctx.store.drop_part(chat.id, day, number)
            writes += 1
    return writes


async def _create_activity(
    ctx: SyncContext, chat: SyncChat, row: DayPart, write: ActivityWrite
) -> tuple[DayPart, int]:
    """The day part's activity, created once, holding ``write``; the part (its generation moves on when
    the activity it finds was deleted meanwhile)."""
    tag = marker(chat.id, row.day, row.part)
    created: list[int] = []

    async def find() -> str | None:
        for activity in await ctx.crm.activities_of_person(write.person_id, since=None):
            if activity.type_key == write.type_key and tag in activity.note and not activity.is_deleted:
                return str(activity.id)
        return None

    async def create() -> str:
        created.append(await ctx.crm.create_activity(write))
        return str(created[-1])

    key = f"activity:{chat.id}:{row.day.isoformat()}:{row.part}:{row.generation}"
    activity_id = int(await create_once(ctx, chat.company_id, key, find=find, create=create))
    if created:
        return row, activity_id
    # Created by an earlier run that stopped before recording it (a worker killed after Pipedrive's answer):
    # its note is what that run rendered, and messages may have come since. Written as the day is now.
    try:
        await ctx.crm.update_activity(activity_id, write)
    except NotFound:  # deleted in Pipedrive meanwhile: the day in a new activity
        return await _create_activity(ctx, chat, replace(row, generation=row.generation + 1), write)
    return row, activity_id


def _number(sender_key: str) -> str | None:
    try:
        return parse_jid(sender_key).e164 if sender_key else None
    except InvalidChatId:
        return None
