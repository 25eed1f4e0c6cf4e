"""Erasing a contact from WaPipe (a data-protection request): their chats, messages, attachments and
outgoing messages and campaign recipient rows, in one company (an opt-out stays: it is what keeps later
campaigns from writing to the number). What WaPipe wrote into Pipedrive stays there (the company's CRM owns
it); the report lists it so an admin can delete it in Pipedrive too."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.domain.jids import phone_chat_key
from server.domain.models import InboundEventState
from server.domain.ports.storage import MediaFiles
from server.domain.text import Text
from server.storage.media_deletions import delete_files, list_deletions
from server.storage.tables import (
    Chat,
    InboundEvent,
    MediaBlob,
    MediaUpload,
    Message,
    MessageMediaRow,
    Outbox,
    WhatsAppAccount,
    table_of,
)
from server.storage.tables_campaigns import CampaignRecipientRow
from server.storage.tables_changes import MessageReaction
from server.storage.tables_sync import SyncChatLink, SyncDayActivity

_accounts = table_of(WhatsAppAccount)
_chats = table_of(Chat)
_messages = table_of(Message)
_message_media = table_of(MessageMediaRow)
_media = table_of(MediaBlob)
_uploads = table_of(MediaUpload)
_links = table_of(SyncChatLink)
_days = table_of(SyncDayActivity)
_outbox = table_of(Outbox)
_events = table_of(InboundEvent)
_recipients = table_of(CampaignRecipientRow)


@dataclass
class ErasureReport:
    phone: str
    chats: int = 0
    messages: int = 0
    attachments: int = 0
    outgoing: int = 0
    webhook_deliveries: int = 0  # kept raw deliveries (rejected, failed) that mention the number
    remaining_in_pipedrive: list[Text] = field(default_factory=list)  # read in the reader's language

    def as_dict(self) -> dict[str, object]:
        return {
            "phone": self.phone,
            "erased": {
                "chats": self.chats,
                "messages": self.messages,
                "attachments": self.attachments,
                "outgoing_messages": self.outgoing,
                "webhook_deliveries": self.webhook_deliveries,
            },
            "remaining_in_pipedrive": [str(item) for item in self.remaining_in_pipedrive],
        }


async def erase_contact(
    engine: AsyncEngine,
    company_id: int,
    e164: str,
    *,
    files: MediaFiles | None = None,
    dry_run: bool = False,
) -> ErasureReport:
    """Delete everything WaPipe holds about ``e164`` in the company, their attachments' files from
    ``files`` (``None``: this machine's disk); idempotent.

    ``dry_run``: the same report, and everything rolled back (the settings page's confirmation step).
    """
    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            report, paths = await _erase(connection, company_id, e164)
            await list_deletions(connection, paths)
        except BaseException:
            await transaction.rollback()
            raise
        if dry_run:
            await transaction.rollback()
            return report
        await transaction.commit()
    # after the commit: a failed transaction must not lose files referenced
    await delete_files(engine, files, paths)
    return report


async def _erase(connection: AsyncConnection, company_id: int, e164: str) -> tuple[ErasureReport, list[str]]:
    report = ErasureReport(e164)
    sender_key = phone_chat_key(e164)
    # campaigns forget the contact; an opt-out stays, so no later campaign writes to the number again
    await connection.execute(
        delete(_recipients).where(_recipients.c.company_id == company_id, _recipients.c.e164 == e164)
    )
    account_ids = [
        int(i)
        for i in (
            await connection.execute(select(_accounts.c.id).where(_accounts.c.company_id == company_id))
        ).scalars()
    ]
    if not account_ids:
        return report, []
    chat_ids = [
        int(i)
        for i in (
            await connection.execute(
                select(_chats.c.id).where(_chats.c.account_id.in_(account_ids), _chats.c.e164 == e164)
            )
        ).scalars()
    ]
    await _list_pipedrive_records(connection, chat_ids, report)
    message_ids = [
        int(i)
        for i in (
            await connection.execute(
                select(_messages.c.id).where(
                    _messages.c.account_id.in_(account_ids),
                    _messages.c.chat_id.in_(chat_ids) | (_messages.c.sender_key == sender_key),
                )
            )
        ).scalars()
    ]
    files = await _erase_media(connection, company_id, message_ids, report)
    reactions = table_of(MessageReaction)
    company_messages = select(_messages.c.id).where(_messages.c.account_id.in_(account_ids))
    theirs = (reactions.c.reactor_key == sender_key) & reactions.c.message_id.in_(company_messages)
    # the reactions on the erased messages, and the contact's own on others' messages (in groups)
    await connection.execute(delete(reactions).where(reactions.c.message_id.in_(message_ids) | theirs))
    report.messages = (
        await connection.execute(delete(_messages).where(_messages.c.id.in_(message_ids)))
    ).rowcount
    await connection.execute(delete(_days).where(_days.c.chat_id.in_(chat_ids)))
    await connection.execute(delete(_links).where(_links.c.chat_id.in_(chat_ids)))
    report.chats = (await connection.execute(delete(_chats).where(_chats.c.id.in_(chat_ids)))).rowcount
    report.outgoing = (
        await connection.execute(
            delete(_outbox).where(_outbox.c.company_id == company_id, _outbox.c.to_chat == e164)
        )
    ).rowcount
    report.webhook_deliveries = await _erase_deliveries(connection, company_id, e164)
    return report, files


async def _erase_deliveries(connection: AsyncConnection, company_id: int, e164: str) -> int:
    """Raw webhook bodies the number appears in (a processed delivery kept none; a pending one is still
    on its way into the inbox and is left to arrive, and is erased by running the erasure again)."""
    sessions = select(_accounts.c.transport, _accounts.c.session_name).where(
        _accounts.c.company_id == company_id
    )
    digits = e164.lstrip("+").encode()
    rows = await connection.execute(
        select(_events.c.id, _events.c.body).where(
            tuple_(_events.c.transport, _events.c.session_name).in_(sessions),
            _events.c.state != InboundEventState.PENDING.value,
        )
    )
    mentioning = [int(event_id) for event_id, body in rows if body and digits in bytes(body)]
    if mentioning:
        await connection.execute(delete(_events).where(_events.c.id.in_(mentioning)))
    return len(mentioning)


async def _list_pipedrive_records(
    connection: AsyncConnection, chat_ids: list[int], report: ErasureReport
) -> None:
    links = (await connection.execute(select(_links).where(_links.c.chat_id.in_(chat_ids)))).mappings()
    for link in links:
        if link["person_id"]:
            person = Text("person %(id)s (%(name)s)", id=link["person_id"], name=link["person_name"])
            report.remaining_in_pipedrive.append(person)
        if link["deal_id"]:
            report.remaining_in_pipedrive.append(Text("deal %(id)s", id=link["deal_id"]))
        if link["lead_id"]:
            report.remaining_in_pipedrive.append(Text("lead %(id)s", id=link["lead_id"]))
    days = (
        await connection.execute(
            select(_days.c.activity_id, _days.c.day).where(
                _days.c.chat_id.in_(chat_ids), _days.c.activity_id.is_not(None)
            )
        )
    ).all()
    for activity_id, day in days:
        report.remaining_in_pipedrive.append(
            Text("activity %(id)s (WhatsApp chat of %(day)s)", id=activity_id, day=day)
        )


async def _erase_media(
    connection: AsyncConnection, company_id: int, message_ids: list[int], report: ErasureReport
) -> list[str]:
    """Drop the messages' attachments; a stored file goes when no other message still uses it."""
    rows = (
        await connection.execute(
            select(_message_media.c.sha256).where(
                _message_media.c.message_id.in_(message_ids), _message_media.c.sha256.is_not(None)
            )
        )
    ).scalars()
    hashes = {str(h) for h in rows}
    await connection.execute(delete(_message_media).where(_message_media.c.message_id.in_(message_ids)))
    files: list[str] = []
    for sha in sorted(hashes):
        uploads = (
            await connection.execute(
                select(_uploads.c.target, _uploads.c.target_id, _uploads.c.file_id).where(
                    _uploads.c.company_id == company_id, _uploads.c.sha256 == sha
                )
            )
        ).all()
        for target, target_id, file_id in uploads:
            report.remaining_in_pipedrive.append(_file_in_pipedrive(file_id, target, target_id))
        still_used = (
            await connection.execute(
                select(_message_media.c.message_id).where(_message_media.c.sha256 == sha).limit(1)
            )
        ).first()
        if still_used is None:
            path = (await connection.execute(select(_media.c.path).where(_media.c.sha256 == sha))).scalar()
            await connection.execute(
                delete(_uploads).where(_uploads.c.sha256 == sha, _uploads.c.company_id == company_id)
            )
            await connection.execute(delete(_media).where(_media.c.sha256 == sha))
            if path:
                files.append(str(path))
        report.attachments += 1
    return files


def _file_in_pipedrive(file_id: int, target: str, target_id: int) -> Text:
    """ "file 55 on person 71": an uploaded file, on the Person's or the Deal's Files."""
    if target == "deal":
        return Text("file %(id)s on deal %(target)s", id=file_id, target=target_id)
    return Text("file %(id)s on person %(target)s", id=file_id, target=target_id)
