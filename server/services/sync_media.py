"""Attachments: downloaded as soon as they arrive (gateway links expire after minutes), kept by content
hash, uploaded to the Person's (and the Deal's) Files once each, and linked from the transcript."""

from __future__ import annotations

from server.domain.errors import MediaExpired, MediaOriginRefused, MediaTooLarge, NotFound
from server.domain.ports import MediaFiles, SyncStore
from server.domain.sync import ChatLink, MediaState, MessageMedia, SyncChat, SyncMessage
from server.domain.whatsapp import MediaKind, MediaRef, WhatsAppTransport
from server.services.sync_context import SyncContext
from server.services.sync_intents import create_once

_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "application/pdf": "pdf",
    "video/mp4": "mp4",
    "audio/mpeg": "mp3",
    "audio/ogg": "ogg",
}


async def fetch_chat_media(ctx: SyncContext, chat: SyncChat) -> int:
    return await download_chat_media(ctx.store, ctx.media, ctx.transport, chat)


async def download_chat_media(
    store: SyncStore, files: MediaFiles, transport: WhatsAppTransport | None, chat: SyncChat
) -> int:
    """Download every attachment of the chat not yet downloaded; how many were stored now.

    Transient gateway failures propagate (the job retries); an expired or refused file is recorded as
    unavailable, an oversized one as too large, so the transcript can say so.
    """
    stored = 0
    for message in await store.pending_media(chat.id):
        if not message.media_locator or transport is None:
            if not message.media_locator:
                await store.save_media(MessageMedia(message.id, MediaState.UNAVAILABLE))
            continue
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
            continue
        except (MediaExpired, MediaOriginRefused, NotFound):
            await store.save_media(MessageMedia(message.id, MediaState.UNAVAILABLE))
            continue
        mime = message.media_mime or "application/octet-stream"
        await store.save_media(MessageMedia(message.id, MediaState.STORED, sha256, size, mime, path))
        stored += 1
    return stored


def upload_name(message: SyncMessage, media: MessageMedia) -> str:
    """The file's name in Pipedrive: the sender's file name, else "WhatsApp image 1a2b3c4d.jpg"."""
    if message.media_filename:
        return message.media_filename[:200]
    extension = _EXTENSIONS.get(media.mime.split(";", 1)[0].strip(), "bin")
    return f"WhatsApp {message.media_kind or 'file'} {(media.sha256 or '')[:8]}.{extension}"


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
                return str(await ctx.crm.upload_file(content, filename=name, mime=mime, **ids))

            key = f"file:{chat.company_id}:{sha256}:{target}:{target_id}"
            file_id = int(await create_once(ctx, chat.company_id, key, find=find, create=create))
            await ctx.store.save_upload(chat.company_id, sha256, target, target_id, file_id)
            uploaded += 1
    return uploaded
