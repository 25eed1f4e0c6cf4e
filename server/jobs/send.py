"""The send job: one outbox row becomes one WhatsApp message, even when a send fails after it went out.

It follows the design in ``server.domain.send_echoes``: before any resend after an uncertain failure it
asks the transport whether the message was already delivered (``find_sent``). A message that went out is
stored in the inbox at once (the panel shows it, its day activity is updated) under the same key its
gateway echo will have, so it is logged once. A message whose sender has uninstalled WaPipe since it was
queued is not sent: the row is kept, failed with the reason ``sender_uninstalled``.
"""

from __future__ import annotations

import logging
import mimetypes
from typing import Any

from server.domain.errors import NotFound, Permanent, Transient, WaPipeError
from server.domain.installations import InstallationStatus
from server.domain.jids import canonical_chat_key, phone_chat_key
from server.domain.models import Account, OutboxEntry
from server.domain.ports.whatsapp import WhatsAppTransport
from server.domain.send_echoes import CLOCK_SKEW
from server.domain.whatsapp import (
    InboundMessage,
    MediaKind,
    MediaRef,
    OutboundMedia,
    OutboundMessage,
    Peer,
    SendResult,
)
from server.jobs.retry import retry_for
from server.jobs.sent_media import keep_sent_attachment
from server.jobs.sync import enqueue_sync
from server.jobs.timing import now as clock_now
from server.storage.outbox import SqlOutboxStore

log = logging.getLogger(__name__)
MAX_SEND_TRIES = 8
MAX_ATTACHMENT_BYTES = 64 * 1024 * 1024  # WhatsApp's limit for documents; images and video are smaller
SENDER_UNINSTALLED = "Not sent: WaPipe was uninstalled for the Pipedrive user who sent this message"


async def send_outbox(ctx: dict[str, Any], outbox_id: int) -> str:
    outbox: SqlOutboxStore = ctx["outbox"]
    entry = await outbox.by_id(outbox_id)
    if entry is None or entry.status in ("sent", "failed"):
        return "nothing to do"
    account: Account | None = await ctx["accounts"].by_id(entry.account_id)
    if account is None or account.company_id != entry.company_id:
        # Never send from another company's number, whatever id the row carries.
        await outbox.mark_failed(entry.id, "unknown_from_number", "The WhatsApp number was removed")
        return "failed"
    if not await _sender_installed(ctx, entry):
        await outbox.mark_failed(entry.id, "sender_uninstalled", SENDER_UNINSTALLED)
        return "failed: sender_uninstalled"
    transport: WhatsAppTransport = ctx["transports"][account.transport]
    try:
        message = await _outbound(ctx, entry)
        result = await _already_sent(transport, account, entry, message)
        if result is None:
            await outbox.start_attempt(entry.id, clock_now(ctx))
            result = await transport.send(account.session_name, message)
    except Permanent as error:
        await outbox.mark_failed(entry.id, error.reason, error.message)
        return f"failed: {error.reason}"
    except Transient as error:
        if ctx.get("job_try", 1) >= MAX_SEND_TRIES:
            await outbox.mark_failed(
                entry.id, error.reason, f"{error.message} (gave up after {MAX_SEND_TRIES} tries)"
            )
            return f"failed: {error.reason}"
        raise retry_for(ctx, error) from error
    except WaPipeError as error:  # refused input (e.g. an invalid message): a person must change it
        await outbox.mark_failed(entry.id, error.reason, error.message)
        return f"failed: {error.reason}"
    await outbox.mark_sent(entry.id, result.wa_message_id, result.key)
    await _store_sent(ctx, account, entry, message, result)
    return f"sent {result.wa_message_id}"


async def _sender_installed(ctx: dict[str, Any], entry: OutboxEntry) -> bool:
    """Whether the user who pressed Send still has WaPipe installed in the row's company, read from the
    database on every run (every worker sees an uninstall at once). An installation that needs
    re-authorisation still sends: WhatsApp does not need the user's Pipedrive tokens."""
    installation = await ctx["installations"].get(entry.company_id, entry.requested_by)
    return installation is not None and installation.status is not InstallationStatus.UNINSTALLED


async def _already_sent(
    transport: WhatsAppTransport, account: Account, entry: OutboxEntry, message: OutboundMessage
) -> SendResult | None:
    """After an attempt whose outcome is unknown: the message, if it did go out (a status webhook named it,
    or the transport finds it)."""
    if entry.status != "sending" or entry.attempt_started_at is None:
        return None
    if entry.wa_message_id:  # claimed by a status webhook carrying our client_ref (Cloud API)
        return SendResult(
            account_id=account.session_name,
            client_ref=entry.client_ref,
            wa_message_id=entry.wa_message_id,
            chat_key=canonical_chat_key(entry.to_chat),
            accepted_at=entry.attempt_started_at,
            transport_id=entry.wa_message_id if account.transport == "cloud" else None,
        )
    since = entry.attempt_started_at - CLOCK_SKEW
    return await transport.find_sent(account.session_name, message, since=since)


async def _outbound(ctx: dict[str, Any], entry: OutboxEntry) -> OutboundMessage:
    media = None
    if entry.file_id is not None:
        client = await ctx["pipedrive"].for_company(entry.company_id)
        try:
            data = await client.files.download(entry.file_id)
        except NotFound as error:
            raise NotFound("The file was deleted in Pipedrive", reason="attachment_missing") from error
        if len(data) > MAX_ATTACHMENT_BYTES:
            raise AttachmentTooLarge(
                f"{entry.file_name} is {len(data) // (1024 * 1024)} MB; WhatsApp takes up to "
                f"{MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB"
            )
        mime = mimetypes.guess_type(entry.file_name)[0] or "application/octet-stream"
        media = OutboundMedia(kind=_kind(mime), mime=mime, filename=entry.file_name or None, data=data)
    return OutboundMessage(
        client_ref=entry.client_ref, to=entry.to_chat, text=entry.text or None, media=media
    )


class AttachmentTooLarge(Permanent):
    reason = "attachment_too_large"


def _kind(mime: str) -> MediaKind:
    if mime.startswith("image/") and mime != "image/svg+xml":
        return MediaKind.IMAGE
    if mime.startswith("video/"):
        return MediaKind.VIDEO
    if mime.startswith("audio/"):
        return MediaKind.AUDIO
    return MediaKind.DOCUMENT


async def _store_sent(
    ctx: dict[str, Any], account: Account, entry: OutboxEntry, message: OutboundMessage, result: SendResult
) -> None:
    """Into the inbox now, under the key the gateway's echo will carry; then the chat's day activity."""
    inbox = ctx["inbox"]
    now = result.accepted_at
    chat = Peer(result.chat_key, e164=entry.to_chat if entry.to_chat.startswith("+") else None)
    me = Peer(phone_chat_key(account.e164) if account.e164 else "me", e164=account.e164)
    media = message.media
    stored = InboundMessage(
        account_id=account.session_name,
        wa_message_id=result.wa_message_id,
        chat=chat,
        sender=me,
        from_me=True,
        sent_at=now,
        text=entry.text or None,
        media=None
        if media is None
        else MediaRef(kind=media.kind, locator=None, mime=media.mime, filename=media.filename),
        from_api=True,
        transport_id=result.transport_id,
    )
    chat_id = await inbox.upsert_chat(account.id, chat, now)
    await inbox.add_message(account.id, chat_id, stored)
    await keep_sent_attachment(ctx, entry, account.id, stored.key, media)  # what we sent, we have
    await enqueue_sync(ctx, [chat_id])
