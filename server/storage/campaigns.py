"""Campaigns and their recipients on SQLite or PostgreSQL (``CampaignStore``), every query scoped by company.

A status change is one conditional UPDATE (``transition``: only from the statuses allowed), so a pause and
a tick, or two ticks, cannot both win. A recipient goes pending → queued once (``mark_queued`` only moves
a pending row), with its outbox row's id; its live status (sent, delivered, read, replied, failed) is read
from that outbox row and the inbox message it became (``rows``), never copied.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.campaigns import (
    Campaign,
    CampaignSource,
    CampaignStatus,
    Compose,
    Pacing,
    RecipientRow,
    RecipientStatus,
    SkipReason,
)
from server.domain.ports.campaigns import Plan, StoredRecipient, Tally
from server.domain.ports.recipients import ListKind, RecipientRecord
from server.storage.campaign_rows import recipient_rows, tally
from server.storage.campaign_values import compose_from_json, compose_json, pacing_from_json, pacing_json
from server.storage.dialect import upsert_insert
from server.storage.tables import Message, Outbox, WhatsAppAccount, table_of, utcnow
from server.storage.tables_campaigns import CampaignRecipientRow, CampaignRow, CampaignSenderRow

_campaigns = table_of(CampaignRow)
_recipients = table_of(CampaignRecipientRow)
_senders = table_of(CampaignSenderRow)
_outbox = table_of(Outbox)
_messages = table_of(Message)
_accounts = table_of(WhatsAppAccount)
_ACTIVE = (CampaignStatus.SCHEDULED.value, CampaignStatus.RUNNING.value)


def _campaign(row: Any) -> Campaign:
    return Campaign(
        id=row["id"],
        company_id=row["company_id"],
        name=row["name"],
        status=CampaignStatus(row["status"]),
        source=CampaignSource(
            kind=ListKind(row["source_kind"]),
            ids=tuple(int(i) for i in json.loads(row["source_ids"] or "[]")),
            filter_id=row["filter_id"],
            filter_name=row["filter_name"],
        ),
        compose=compose_from_json(row["compose"]),
        pacing=pacing_from_json(row["pacing"]),
        created_by=row["created_by"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        tick_seq=row["tick_seq"],
        tick_at=row["tick_at"],
    )


def _stored(row: Any) -> StoredRecipient:
    return StoredRecipient(
        id=row["id"],
        campaign_id=row["campaign_id"],
        record=RecipientRecord(
            person_id=row["person_id"],
            name=row["name"],
            phones=tuple(json.loads(row["phones"] or "[]")),
            owner_id=row["owner_id"],
            deal_id=row["deal_id"],
            values=json.loads(row["field_values"] or "{}"),
        ),
        status=RecipientStatus(row["status"]),
        skip=SkipReason(row["skip_reason"]) if row["skip_reason"] else None,
        e164=row["e164"],
        account_id=row["account_id"],
        outbox_id=row["outbox_id"],
    )


class SqlCampaignStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(
        self,
        company_id: int,
        user_id: int,
        name: str,
        source: CampaignSource,
        recipients: Sequence[RecipientRecord],
        at: datetime,
    ) -> Campaign:
        async with self._engine.begin() as connection:
            result = await connection.execute(
                _campaigns.insert().values(
                    company_id=company_id,
                    name=name[:200],
                    status=CampaignStatus.DRAFT.value,
                    source_kind=source.kind.value,
                    source_ids=json.dumps(list(source.ids)),
                    filter_id=source.filter_id,
                    filter_name=source.filter_name[:255],
                    compose="",
                    pacing="",
                    created_by=user_id,
                    tick_seq=0,
                    created_at=at,
                    updated_at=at,
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            campaign_id = int(key[0])
            rows = [
                {
                    "campaign_id": campaign_id,
                    "company_id": company_id,
                    "position": position,
                    "person_id": record.person_id,
                    "deal_id": record.deal_id,
                    "name": record.name[:255],
                    "phones": json.dumps(list(record.phones)),
                    "owner_id": record.owner_id,
                    "field_values": json.dumps({k: dict(v) for k, v in record.values.items()}),
                    "e164": "",
                    "account_id": None,
                    "status": RecipientStatus.PENDING.value,
                    "skip_reason": "",
                    "outbox_id": None,
                    "queued_at": None,
                    "updated_at": at,
                }
                for position, record in enumerate(recipients)
            ]
            for start in range(0, len(rows), 500):
                await connection.execute(_recipients.insert(), rows[start : start + 500])
            row = (
                (await connection.execute(select(_campaigns).where(_campaigns.c.id == campaign_id)))
                .mappings()
                .one()
            )
        return _campaign(row)

    async def get(self, company_id: int, campaign_id: int) -> Campaign | None:
        return await self._one(and_(_campaigns.c.company_id == company_id, _campaigns.c.id == campaign_id))

    async def by_id(self, campaign_id: int) -> Campaign | None:
        return await self._one(_campaigns.c.id == campaign_id)

    async def _one(self, condition: Any) -> Campaign | None:
        async with self._engine.connect() as connection:
            row = (await connection.execute(select(_campaigns).where(condition))).mappings().first()
        return None if row is None else _campaign(row)

    async def campaigns(self, company_id: int) -> list[Campaign]:
        query = (
            select(_campaigns).where(_campaigns.c.company_id == company_id).order_by(_campaigns.c.id.desc())
        )
        async with self._engine.connect() as connection:
            return [_campaign(row) for row in (await connection.execute(query)).mappings()]

    async def save_compose(self, company_id: int, campaign_id: int, compose: Compose, pacing: Pacing) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(_campaigns)
                .where(_campaigns.c.company_id == company_id, _campaigns.c.id == campaign_id)
                .values(compose=compose_json(compose), pacing=pacing_json(pacing), updated_at=utcnow())
            )

    async def transition(
        self,
        company_id: int,
        campaign_id: int,
        allowed_from: frozenset[CampaignStatus],
        to: CampaignStatus,
        at: datetime,
    ) -> bool:
        values: dict[str, Any] = {"status": to.value, "updated_at": at}
        if to is CampaignStatus.RUNNING:
            values["started_at"] = func.coalesce(_campaigns.c.started_at, at)
        if to in (CampaignStatus.CANCELLED, CampaignStatus.FINISHED):
            values["finished_at"] = at
        statement = (
            update(_campaigns)
            .where(
                _campaigns.c.company_id == company_id,
                _campaigns.c.id == campaign_id,
                _campaigns.c.status.in_([status.value for status in allowed_from]),
            )
            .values(**values)
        )
        async with self._engine.begin() as connection:
            return bool((await connection.execute(statement)).rowcount)

    async def advance_tick(self, campaign_id: int, from_seq: int, due: datetime) -> bool:
        """The run ``from_seq`` hands over to run ``from_seq + 1``, due at ``due``; ``False`` when another
        run took over meanwhile."""
        statement = (
            update(_campaigns)
            .where(_campaigns.c.id == campaign_id, _campaigns.c.tick_seq == from_seq)
            .values(tick_seq=from_seq + 1, tick_at=due)
        )
        async with self._engine.begin() as connection:
            return bool((await connection.execute(statement)).rowcount)

    async def overdue(self, before: datetime) -> list[Campaign]:
        """Scheduled or running campaigns whose next run was due before ``before`` and has not run."""
        query = (
            select(_campaigns)
            .where(
                _campaigns.c.status.in_(_ACTIVE),
                (_campaigns.c.tick_at < before) | _campaigns.c.tick_at.is_(None),
            )
            .order_by(_campaigns.c.id)
        )
        async with self._engine.connect() as connection:
            return [_campaign(row) for row in (await connection.execute(query)).mappings()]

    async def recipients(
        self,
        company_id: int,
        campaign_id: int,
        *,
        statuses: frozenset[RecipientStatus] | None = None,
        account_id: int | None = None,
        limit: int | None = None,
    ) -> list[StoredRecipient]:
        query = select(_recipients).where(
            _recipients.c.company_id == company_id, _recipients.c.campaign_id == campaign_id
        )
        if statuses is not None:
            query = query.where(_recipients.c.status.in_([status.value for status in statuses]))
        if account_id is not None:
            query = query.where(_recipients.c.account_id == account_id)
        query = query.order_by(_recipients.c.position).limit(limit)
        async with self._engine.connect() as connection:
            return [_stored(row) for row in (await connection.execute(query)).mappings()]

    async def save_plans(self, company_id: int, campaign_id: int, plans: Sequence[Plan]) -> None:
        now = utcnow()
        statement = (
            update(_recipients)
            .where(
                _recipients.c.company_id == company_id,
                _recipients.c.campaign_id == campaign_id,
                _recipients.c.id == bindparam("recipient_id"),
                _recipients.c.status == RecipientStatus.PENDING.value,
            )
            .values(
                e164=bindparam("planned_e164"),
                account_id=bindparam("planned_account"),
                status=bindparam("planned_status"),
                skip_reason=bindparam("planned_skip"),
                updated_at=now,
            )
        )
        rows = [
            {
                "recipient_id": plan.recipient_id,
                "planned_e164": plan.e164,
                "planned_account": plan.account_id,
                "planned_status": (
                    RecipientStatus.PENDING if plan.skip is None else RecipientStatus.SKIPPED
                ).value,
                "planned_skip": plan.skip.value if plan.skip is not None else "",
            }
            for plan in plans
        ]
        async with self._engine.begin() as connection:
            for start in range(0, len(rows), 500):
                await connection.execute(statement, rows[start : start + 500])

    async def mark_queued(self, company_id: int, recipient_id: int, outbox_id: int, at: datetime) -> bool:
        statement = (
            update(_recipients)
            .where(
                _recipients.c.company_id == company_id,
                _recipients.c.id == recipient_id,
                _recipients.c.status == RecipientStatus.PENDING.value,
            )
            .values(status=RecipientStatus.QUEUED.value, outbox_id=outbox_id, queued_at=at, updated_at=at)
        )
        async with self._engine.begin() as connection:
            return bool((await connection.execute(statement)).rowcount)

    async def mark_skipped(
        self, company_id: int, recipient_id: int, reason: SkipReason, at: datetime
    ) -> bool:
        statement = (
            update(_recipients)
            .where(
                _recipients.c.company_id == company_id,
                _recipients.c.id == recipient_id,
                _recipients.c.status.in_([RecipientStatus.PENDING.value, RecipientStatus.QUEUED.value]),
            )
            .values(status=RecipientStatus.SKIPPED.value, skip_reason=reason.value, updated_at=at)
        )
        async with self._engine.begin() as connection:
            return bool((await connection.execute(statement)).rowcount)

    async def queued_since(self, company_id: int, account_id: int, since: datetime) -> int:
        query = select(func.count()).where(
            _recipients.c.company_id == company_id,
            _recipients.c.account_id == account_id,
            _recipients.c.queued_at >= since,
        )
        async with self._engine.connect() as connection:
            return int((await connection.execute(query)).scalar_one())

    async def next_send(self, campaign_id: int) -> dict[int, datetime]:
        query = select(_senders.c.account_id, _senders.c.next_at).where(_senders.c.campaign_id == campaign_id)
        async with self._engine.connect() as connection:
            return {int(account): at for account, at in (await connection.execute(query)).all()}

    async def set_next_send(self, campaign_id: int, account_id: int, at: datetime) -> None:
        statement = (
            upsert_insert(self._engine, _senders)
            .values(campaign_id=campaign_id, account_id=account_id, next_at=at)
            .on_conflict_do_update(index_elements=["campaign_id", "account_id"], set_={"next_at": at})
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)

    async def tally(self, company_id: int, campaign_id: int) -> Tally:
        return await tally(self._engine, company_id, campaign_id)

    async def rows(
        self, company_id: int, campaign_id: int, *, limit: int | None = None, newest_first: bool = False
    ) -> list[RecipientRow]:
        return await recipient_rows(
            self._engine, company_id, campaign_id, limit=limit, newest_first=newest_first
        )
