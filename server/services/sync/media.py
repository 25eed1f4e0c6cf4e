"""Attachments: downloaded as soon as they arrive (gateway links expire after minutes), each on its own
schedule when a download fails, kept by content hash, uploaded to the Person's (and the Deal's) Files once
each, and linked from the transcript. An uploaded file whose message its sender deleted is deleted from
Files again (unless the company keeps deleted messages in Pipedrive)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from server.domain.days import company_zone, local_day
from server.domain.errors import (
    MediaExpired,
    MediaOriginRefused,
    MediaTooLarge,
    NotFound,
    Permanent,
    WaPipeError,
)
from server.domain.file_names import clean_file_name
from server.domain.media_types import normalise_media_type, trusted_type
from server.domain.ports.storage import MediaFiles
from server.domain.ports.sync_store import SyncStore
from server.domain.ports.whatsapp import WhatsAppTransport
from server.domain.sync import (
    ChatLink,
    MediaRetry,
    MediaState,
    MessageMedia,
    SyncChat,
    SyncMessage,
    SyncProblem,
)
from server.domain.whatsapp import MediaKind, MediaRef
from server.services.sync.context import SyncContext
from server.services.sync.intents import create_once

log = logging.getLogger(__name__)

ATTACHMENT_UNAVAILABLE = "attachment_unavailable"  # the sync problem of an attachment given up
FILE_NOT_DELETED = "file_not_deleted"  # the sync problem of a deleted message's file Pipedrive kept

_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "application/pdf": "pdf",
    "video/mp4": "mp4",
    "audio/mpeg": "mp3",
    "audio/ogg": "ogg",
}


@dataclass
class MediaPass:
    """What one pass over a chat's pending attachments did."""

    stored: int = 0
    settled: int = 0  # attachments that reached their final state (stored, unavailable, too large)
    retry_at: datetime | None = None  # when the chat's next failing attachment is tried again


async def fetch_chat_media(ctx: SyncContext, chat: SyncChat) -> MediaPass:
    return await download_chat_media(
        ctx.store, ctx.media, ctx.transport, chat, retry=ctx.config.media_retry, now=ctx.clock()
    )


async def download_chat_media(
    store: SyncStore,
    files: MediaFiles,
    transport: WhatsAppTransport | None,
    chat: SyncChat,
    *,
    retry: MediaRetry,
    now: datetime,
) -> MediaPass:
    """Download the chat's attachments that are due, each on its own: one that fails holds up nothing.

    A failed download is tried again on the attachment's own schedule (``retry``, kept in the database).
    After its last attempt, or once the gateway says the file is gone, it is marked unavailable, with a
    sync problem for admins when it had failed before; an oversized one is marked too large. The days of
    attachments that settled are marked to be written again, so the transcript links the file (or says it
    is not available).
    """
    done = MediaPass()
    settled: list[SyncMessage] = []
    for message in await store.pending_media(chat.id, due_at=now):
        if not message.media_locator:
            await store.save_media(MessageMedia(message.id, MediaState.UNAVAILABLE))
            settled.append(message)
            continue
        if transport is None:
            continue
        attempt = await store.claim_media_attempt(message.id, now=now, retry=retry)
        if attempt is None:  # not due after all, or another worker is downloading it
            continue
        state = await _download(store, files, transport, chat, message, attempt, retry)
        if state is MediaState.STORED:
            done.stored += 1
        if state is not MediaState.PENDING:
            settled.append(message)
    if settled:
        zone = company_zone((await store.settings(chat.company_id)).timezone)
        days = {local_day(message.sent_at, zone) for message in settled}
        await store.mark_days_dirty(chat.id, days, now=now, cursor=None)
    done.settled = len(settled)
    done.retry_at = await store.next_media_attempt(chat.id)
    return done


async def _download(
    store: SyncStore,
    files: MediaFiles,
    transport: WhatsAppTransport,
    chat: SyncChat,
    message: SyncMessage,
    attempt: int,
    retry: MediaRetry,
) -> MediaState:
    ref = MediaRef(
        kind=MediaKind(message.media_kind),
        locator=message.media_locator,
        mime=message.media_mime or None,
        filename=message.media_filename or None,
    )
    try:
        sha256, size, path = await files.save(transport.fetch_media(chat.session_name, ref))
    except MediaTooLarge:
        await store.save_media(MessageMedia(message.id, MediaState.TOO_LARGE))
        return MediaState.TOO_LARGE
    except (MediaExpired, MediaOriginRefused, NotFound) as gone:
        await store.save_media(MessageMedia(message.id, MediaState.UNAVAILABLE))
        if attempt > 1:
            why = f"its link expired after {attempt - 1} failed attempts ({gone.message})"
            await _give_up(store, chat, message, why)
        return MediaState.UNAVAILABLE
    except WaPipeError as failure:
        if attempt < retry.attempts:
            log.info(
                "attachment of message %s failed (%s): attempt %d of %d",
                message.id,
                failure.reason,
                attempt,
                retry.attempts,
                extra={"reason": failure.reason, "chat": chat.id},
            )
            return MediaState.PENDING
        await store.save_media(MessageMedia(message.id, MediaState.UNAVAILABLE))
        await _give_up(store, chat, message, f"it failed {attempt} times (last: {failure.message})")
        return MediaState.UNAVAILABLE
    mime = message.media_mime or "application/octet-stream"
    await store.save_media(MessageMedia(message.id, MediaState.STORED, sha256, size, mime, path))
    return MediaState.STORED


async def _give_up(store: SyncStore, chat: SyncChat, message: SyncMessage, why: str) -> None:
    """Tell the company's admins which attachment of which chat is lost, and why."""
    named = f" “{message.media_filename}”" if message.media_filename else ""
    detail = (
        f"The {message.media_kind or 'attachment'}{named} sent {message.sent_at:%Y-%m-%d %H:%M} UTC "
        f"(message {message.id}) in the chat with {chat_label(chat)} could not be downloaded from WhatsApp: "
        f"{why}. It is marked unavailable; the message's text is in Pipedrive."
    )
    await store.record_problem(SyncProblem(chat.company_id, chat.id, ATTACHMENT_UNAVAILABLE, detail))
    log.warning(
        "attachment of message %s is unavailable", message.id, extra={"reason": ATTACHMENT_UNAVAILABLE}
    )


def chat_label(chat: SyncChat) -> str:
    """The chat as an admin knows it: its name and number, either alone, or its key."""
    number = chat.e164 or ""
    if chat.display_name and number:
        return f"{chat.display_name} ({number})"
    return chat.display_name or number or chat.chat_key


def upload_name(message: SyncMessage, media: MessageMedia) -> str:
    """The file's name in Pipedrive: the sender's file name, cleaned (``clean_file_name``), else
    "WhatsApp image 1a2b3c4d.jpg"."""
    extension = _EXTENSIONS.get(normalise_media_type(media.mime), "bin")
    generated = f"WhatsApp {message.media_kind or 'file'} {(media.sha256 or '')[:8]}.{extension}"
    return clean_file_name(message.media_filename, fallback=generated)


async def upload_chat_media(ctx: SyncContext, chat: SyncChat, link: ChatLink) -> int:
    """Upload the chat's stored attachments to its Person and Deal, each file once per target."""
    uploaded = 0
    targets = [("person", link.person_id), ("deal", link.deal_id)]
    for target, target_id in targets:
        if target_id is None:
            continue
        for message, media in await ctx.store.media_not_uploaded(chat.id, chat.company_id, target, target_id):
            if media.sha256 is None or (media.size or 0) > ctx.config.upload_limit_bytes:
                continue
            name = upload_name(message, media)
            sha256, size, path, mime = media.sha256, media.size, media.path, media.mime

            async def find(
                target: str = target, target_id: int = target_id, name: str = name, size: int | None = size
            ) -> str | None:
                files = await ctx.crm.files_of(target, target_id)
                return next((str(f.id) for f in files if f.name == name and f.size in (None, size)), None)

            async def create(
                target: str = target,
                target_id: int = target_id,
                name: str = name,
                path: str = path,
                mime: str = mime,
            ) -> str:
                content = await ctx.media.read(path)
                ids = {"person_id": target_id} if target == "person" else {"deal_id": target_id}
                kind = trusted_type(mime, content)  # the sender's type only when the bytes agree
                return str(await ctx.crm.upload_file(content, filename=name, mime=kind, **ids))

            key = f"file:{chat.company_id}:{sha256}:{target}:{target_id}"
            file_id = int(await create_once(ctx, chat.company_id, key, find=find, create=create))
            await ctx.store.save_upload(chat.company_id, sha256, target, target_id, file_id)
            uploaded += 1
    return uploaded


async def delete_forgotten_files(ctx: SyncContext, chat: SyncChat) -> int:
    """Delete from Pipedrive's Files the uploads whose messages their senders deleted, each once: an entry
    goes when Pipedrive deleted the file or has it no more; a failure worth retrying fails the run (the
    sync job tries again); a refusal is shown to the admins by name."""
    deleted = 0
    for entry_id, file_id in await ctx.store.file_deletions(chat.id):
        try:
            await ctx.crm.delete_file(file_id)
            deleted += 1
        except NotFound:
            pass  # gone already (deleted by hand, or by an earlier run that died before it noted it)
        except Permanent as error:
            detail = (
                f"File {file_id} in Pipedrive belongs to a message its sender deleted in the chat with "
                f"{chat_label(chat)}, but Pipedrive refused to delete it ({error.message}); "
                "delete it by hand."
            )
            await ctx.store.record_problem(SyncProblem(chat.company_id, chat.id, FILE_NOT_DELETED, detail))
            log.warning("file %s was not deleted", file_id, extra={"reason": FILE_NOT_DELETED})
        await ctx.store.drop_file_deletion(entry_id)
    return deleted
