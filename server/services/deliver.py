"""Delivering a queued send: one outbox row becomes one WhatsApp message, even when a send fails after it
went out. (``server.services.send`` is the request side, which checks a send and queues it.)

This module owns the decisions of the send job (``server.jobs.send``): which rows are skipped (unknown,
already sent or failed) and which fail by name (a number that is gone or another company's, a sender who
has uninstalled WaPipe since, a refusal); following ``server.domain.send_echoes``, before any resend after an
uncertain attempt it asks whether the message already went out (a status webhook named it, or the
transport's ``find_sent`` finds it); an attachment is read from Pipedrive, checked for size and sent as its
kind; a row with a Meta-approved template sends the template (``server.domain.cloud_templates``). A
message that went out is stored in the inbox at once (the panel shows it, its day activity is
updated) under the same key its gateway echo will have, so it is logged once. A send still going after
``DeliverPorts.deadline`` (a gateway that neither answers nor fails) is a transient failure that may have
sent (``send_timed_out``): the row stays ``sending``, so the retry looks for the message before sending it
again. The job retries a transient failure, gives up after its tries (``give_up``) and queues the chat's
sync.
"""

from __future__ import annotations

import asyncio
import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from server.domain.clock import Clock
from server.domain.cloud_templates import outbound_template
from server.domain.errors import GatewayUnavailable, NotFound, Permanent, Transient, WaPipeError
from server.domain.installations import InstallationStatus
from server.domain.jids import canonical_chat_key, phone_chat_key
from server.domain.models import Account, OutboxEntry, OutboxStatus
from server.domain.ports.pipedrive import PipedriveForCompany, WithFiles
from server.domain.ports.storage import AccountStore, InboxStore, InstallationLookup, OutboxRows
from server.domain.ports.whatsapp import WhatsAppTransport
from server.domain.send_echoes import CLOCK_SKEW
from server.domain.send_failures import (
    FILE_DELETED,
    NUMBER_REMOVED,
    SENDER_UNINSTALLED,
    file_too_large,
    gave_up,
    no_answer,
)
from server.domain.ttl_cache import TtlCache
from server.domain.whatsapp import (
    InboundMessage,
    MediaKind,
    MediaRef,
    OutboundMedia,
    OutboundMessage,
    Peer,
    SendResult,
)

MAX_ATTACHMENT_BYTES = 64 * 1024 * 1024  # WhatsApp's limit for documents; images and video are smaller
# A Pipedrive file sent again and again (a campaign's attachment) is read once per worker: a file's bytes
# never change under its id. At most this many files of at most this size are held, for this long.
KEPT_FILES = 4
KEPT_FILE_BYTES = 16 * 1024 * 1024
KEPT_FOR = timedelta(minutes=10)
FileBytes = TtlCache[tuple[int, int], bytes]  # (company id, Pipedrive file id) → its bytes


def file_bytes_cache() -> FileBytes:
    return TtlCache(KEPT_FOR, KEPT_FILES)


@dataclass(frozen=True)
class DeliverPorts:
    """What delivering a row reads and writes."""

    outbox: OutboxRows
    accounts: AccountStore
    installations: InstallationLookup
    transports: Mapping[str, WhatsAppTransport]
    pipedrive: PipedriveForCompany[WithFiles] | None  # where attachments are read (needed for rows with one)
    inbox: InboxStore
    clock: Clock
    files: FileBytes | None = None  # attachments read lately, reused for the same file
    # how long reading the attachment, looking for an earlier attempt and sending may take together
    deadline: timedelta = timedelta(minutes=2)


@dataclass(frozen=True)
class SentAttachment:
    """An attachment that went out, with the stored message it belongs to: the job keeps its bytes
    (``server.services.sent_media``)."""

    entry: OutboxEntry
    account_id: int
    message_key: str
    media: OutboundMedia


@dataclass(frozen=True)
class Delivered:
    """How a delivery ended, for the job."""

    summary: str = ""  # the job's result (none for a transient failure: the job retries or gives up)
    chat_id: int | None = None  # the inbox chat the sent message was stored in: to sync
    transient: Transient | None = None  # it failed for now: retry, or give up after the last try
    attachment: SentAttachment | None = None  # what we sent with it, to keep


async def deliver(ports: DeliverPorts, outbox_id: int) -> Delivered:
    outbox = ports.outbox
    entry = await outbox.by_id(outbox_id)
    if entry is None or entry.status in (OutboxStatus.SENT, OutboxStatus.FAILED):
        return Delivered("nothing to do")
    account = await ports.accounts.by_id(entry.account_id)
    if account is None or account.company_id != entry.company_id:
        # Never send from another company's number, whatever id the row carries.
        await outbox.mark_failed(entry.id, "unknown_from_number", str(NUMBER_REMOVED))
        return Delivered("failed")
    if not await _sender_installed(ports.installations, entry):
        await outbox.mark_failed(entry.id, "sender_uninstalled", str(SENDER_UNINSTALLED))
        return Delivered("failed: sender_uninstalled")
    transport = ports.transports[account.transport]
    try:
        message, result = await _send_in_time(ports, transport, account, entry)
    except Permanent as error:
        await outbox.mark_failed(entry.id, error.reason, error.message)
        return Delivered(f"failed: {error.reason}")
    except Transient as error:
        return Delivered(transient=error)
    except WaPipeError as error:  # refused input (e.g. an invalid message): a person must change it
        await outbox.mark_failed(entry.id, error.reason, error.message)
        return Delivered(f"failed: {error.reason}")
    await outbox.mark_sent(entry.id, result.wa_message_id, result.key)
    chat_id, key = await _store_sent(ports.inbox, account, entry, message, result)
    media = message.media
    attachment = None if media is None else SentAttachment(entry, account.id, key, media)
    return Delivered(f"sent {result.wa_message_id}", chat_id=chat_id, attachment=attachment)


async def _send_in_time(
    ports: DeliverPorts, transport: WhatsAppTransport, account: Account, entry: OutboxEntry
) -> tuple[OutboundMessage, SendResult]:
    """The message and what became of it: sent now, or found sent by an earlier attempt. Past the deadline
    it is ``GatewayUnavailable`` (``send_timed_out``) that may have sent: the row says ``sending`` once the
    attempt started, so the retry looks for the message first."""
    deadline = asyncio.timeout(ports.deadline.total_seconds())
    try:
        async with deadline:
            message = await _outbound(ports, entry)
            result = await _already_sent(transport, account, entry, message)
            if result is None:
                await ports.outbox.start_attempt(entry.id, ports.clock.now())
                result = await transport.send(account.session_name, message)
    except TimeoutError as error:
        if not deadline.expired():
            raise  # a timeout of its own from below, not the deadline
        seconds = f"{ports.deadline.total_seconds():g}"
        raise GatewayUnavailable(no_answer(seconds), reason="send_timed_out", maybe_sent=True) from error
    return message, result


async def give_up(outbox: OutboxRows, outbox_id: int, error: Transient, *, tries: int) -> str:
    """After the last try failed for now: the row fails by the error's name."""
    await outbox.mark_failed(outbox_id, error.reason, str(gave_up(error.message, tries)))
    return f"failed: {error.reason}"


async def _sender_installed(installations: InstallationLookup, entry: OutboxEntry) -> bool:
    """Whether the user who pressed Send still has WaPipe installed in the row's company, read from the
    database on every run (every worker sees an uninstall at once). An installation that needs
    re-authorisation still sends: WhatsApp does not need the user's Pipedrive tokens."""
    installation = await installations.get(entry.company_id, entry.requested_by)
    return installation is not None and installation.status is not InstallationStatus.UNINSTALLED


async def _already_sent(
    transport: WhatsAppTransport, account: Account, entry: OutboxEntry, message: OutboundMessage
) -> SendResult | None:
    """After an attempt whose outcome is unknown: the message, if it did go out (a status webhook named it,
    or the transport finds it)."""
    if entry.status != OutboxStatus.SENDING or entry.attempt_started_at is None:
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


async def _outbound(ports: DeliverPorts, entry: OutboxEntry) -> OutboundMessage:
    media = None
    if entry.file_id is not None:
        data = await _file(ports, entry.company_id, entry.file_id)
        if len(data) > MAX_ATTACHMENT_BYTES:
            raise AttachmentTooLarge(
                file_too_large(
                    entry.file_name, len(data) // (1024 * 1024), MAX_ATTACHMENT_BYTES // (1024 * 1024)
                )
            )
        mime = mimetypes.guess_type(entry.file_name)[0] or "application/octet-stream"
        media = OutboundMedia(kind=_kind(mime), mime=mime, filename=entry.file_name or None, data=data)
    if entry.template_name:  # a Meta-approved template: its filled body is only what the inbox shows
        template = outbound_template(entry.template_name, entry.template_language, entry.template_parameters)
        return OutboundMessage(client_ref=entry.client_ref, to=entry.to_chat, template=template)
    return OutboundMessage(
        client_ref=entry.client_ref, to=entry.to_chat, text=entry.text or None, media=media
    )


async def _file(ports: DeliverPorts, company_id: int, file_id: int) -> bytes:
    """A Pipedrive file's bytes, from the files read lately when it is among them."""
    key, now = (company_id, file_id), ports.clock.now()
    kept = ports.files.get(key, now) if ports.files is not None else None
    if kept is not None:
        return kept
    if ports.pipedrive is None:
        raise RuntimeError("a send with a Pipedrive file needs the Pipedrive connector")
    client = await ports.pipedrive.for_company(company_id)
    try:
        data = await client.files.download(file_id)
    except NotFound as error:
        raise NotFound(FILE_DELETED, reason="attachment_missing") from error
    if ports.files is not None and len(data) <= KEPT_FILE_BYTES:
        ports.files.put(key, now, data)
    return data


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
    inbox: InboxStore, account: Account, entry: OutboxEntry, message: OutboundMessage, result: SendResult
) -> tuple[int, str]:
    """Into the inbox now, under the key the gateway's echo will carry; the chat's id and the key."""
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
    await inbox.add_message(account.id, chat_id, stored, received_at=now)
    return chat_id, stored.key
