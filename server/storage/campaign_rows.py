"""A campaign's recipients as its pages show them: each one's live status read from its outbox row, the
inbox message that row became (WhatsApp's ticks) and any later message from the contact in that chat
(``replied``), never copied into the recipient row; and their counts (``tally``, grouped in the database)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import and_, case, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.campaigns import RecipientRow, RecipientStatus, SkipReason, live_status
from server.domain.ports.campaigns import Tally
from server.storage.tables import Message, Outbox, UtcDateTime, WhatsAppAccount, table_of
from server.storage.tables_campaigns import CampaignRecipientRow

_recipients = table_of(CampaignRecipientRow)
_outbox = table_of(Outbox)
_messages = table_of(Message)
_accounts = table_of(WhatsAppAccount)


async def tally(engine: AsyncEngine, company_id: int, campaign_id: int) -> Tally:
    """The counts without reading each recipient: the database groups the recipients by what their live
    status is made of (stored status and skip, the outbox row's status and reason, the message's ticks,
    whether the contact wrote since), and each group's status is worked out once (``live_status``)."""
    sent = _messages.alias("sent")
    reply = _messages.alias("reply")
    replied = (
        select(reply.c.id)
        .where(
            reply.c.chat_id == sent.c.chat_id,
            reply.c.from_me.is_(False),
            reply.c.sent_at > sent.c.sent_at,
        )
        .exists()
    )
    per_recipient = (
        select(
            _recipients.c.status.label("stored"),
            _recipients.c.skip_reason.label("skip"),
            _outbox.c.status.label("outbox_status"),
            _outbox.c.error_reason.label("outbox_reason"),
            sent.c.status.label("message_status"),
            case((replied, 1), else_=0).label("replied"),
        )
        .select_from(_joined(sent))
        .where(_recipients.c.company_id == company_id, _recipients.c.campaign_id == campaign_id)
        .subquery()
    )
    grouped = select(*per_recipient.c, func.count().label("n")).group_by(*per_recipient.c)
    counts: dict[RecipientStatus, int] = {}
    skipped: dict[SkipReason, int] = {}
    async with engine.connect() as connection:
        for row in (await connection.execute(grouped)).mappings():
            status, skip = live_status(
                RecipientStatus(row["stored"]),
                SkipReason(row["skip"]) if row["skip"] else None,
                outbox_status=row["outbox_status"],
                outbox_reason=row["outbox_reason"] or "",
                message_status=row["message_status"],
                replied=bool(row["replied"]),
            )
            counts[status] = counts.get(status, 0) + row["n"]
            if skip is not None:
                skipped[skip] = skipped.get(skip, 0) + row["n"]
    return Tally(counts, skipped, counts.get(RecipientStatus.QUEUED, 0))


def _joined(sent: Any) -> Any:
    """The recipients with their outbox rows and the inbox message each row became."""
    return _recipients.outerjoin(_outbox, _outbox.c.id == _recipients.c.outbox_id).outerjoin(
        sent,
        and_(sent.c.account_id == _outbox.c.account_id, sent.c.message_key == _outbox.c.message_key),
    )


async def recipient_rows(
    engine: AsyncEngine,
    company_id: int,
    campaign_id: int,
    *,
    limit: int | None = None,
    newest_first: bool = False,
) -> list[RecipientRow]:
    reply = _messages.alias("reply")
    sent = _messages.alias("sent")
    replied_at = type_coerce(
        select(func.min(reply.c.sent_at))
        .where(
            reply.c.chat_id == sent.c.chat_id,
            reply.c.from_me.is_(False),
            reply.c.sent_at > sent.c.sent_at,
        )
        .scalar_subquery(),
        UtcDateTime(),
    )
    query = (
        select(
            _recipients,
            _outbox.c.status.label("outbox_status"),
            _outbox.c.error_reason,
            _outbox.c.error_message,
            _outbox.c.updated_at.label("outbox_at"),
            sent.c.status.label("message_status"),
            sent.c.sent_at.label("message_at"),
            sent.c.delivered_at,
            sent.c.read_at,
            replied_at.label("replied_at"),
            _accounts_e164().label("from_e164"),
        )
        .select_from(_joined(sent))
        .where(_recipients.c.company_id == company_id, _recipients.c.campaign_id == campaign_id)
    )
    if newest_first:
        query = query.order_by(_recipients.c.queued_at.desc().nulls_last(), _recipients.c.position)
    else:
        query = query.order_by(_recipients.c.position)
    query = query.limit(limit)
    async with engine.connect() as connection:
        return [_row(row) for row in (await connection.execute(query)).mappings()]


def _accounts_e164() -> Any:
    return select(_accounts.c.e164).where(_accounts.c.id == _recipients.c.account_id).scalar_subquery()


def _row(row: Any) -> RecipientRow:
    stored = RecipientStatus(row["status"])
    skip = SkipReason(row["skip_reason"]) if row["skip_reason"] else None
    status, skip = live_status(
        stored,
        skip,
        outbox_status=row["outbox_status"],
        outbox_reason=row["error_reason"] or "",
        message_status=row["message_status"],
        replied=row["replied_at"] is not None,
    )
    phones = json.loads(row["phones"] or "[]")
    sent_at = row["message_at"] if row["outbox_status"] == "sent" else None
    if sent_at is None and row["outbox_status"] == "sent":
        sent_at = row["outbox_at"]
    replied = row["replied_at"]
    return RecipientRow(
        id=row["id"],
        person_id=row["person_id"],
        name=row["name"],
        phone=row["e164"] or (phones[0] if phones else ""),
        from_number=row["from_e164"] or "",
        status=status,
        skip=skip,
        sent_at=sent_at,
        delivered_at=row["delivered_at"] if sent_at is not None else None,
        read_at=row["read_at"] if sent_at is not None else None,
        replied_at=replied,
        error=row["error_message"] or "" if status is RecipientStatus.FAILED else "",
        deal_id=row["deal_id"],
        queued_at=row["queued_at"],
    )
