"""Write-ahead intents of the sync engine: claimed under a lease, completed with the created object's id."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.sync import IntentClaim
from server.storage.dialect import upsert_insert
from server.storage.tables import table_of, utcnow
from server.storage.tables_sync import SyncIntent

_intents = table_of(SyncIntent)


class IntentRows:
    _engine: AsyncEngine

    async def claim_intent(
        self, company_id: int, key: str, *, owner: str, lease: timedelta, now: datetime
    ) -> IntentClaim | None:
        """The intent, claimed for ``owner``; ``None`` while another owner's lease runs."""
        async with self._engine.begin() as connection:
            await connection.execute(
                upsert_insert(self._engine, _intents)
                .values(company_id=company_id, intent_key=key, created_at=now, updated_at=now)
                .on_conflict_do_nothing(index_elements=["intent_key"])
            )
            row = (
                (await connection.execute(select(_intents).where(_intents.c.intent_key == key)))
                .mappings()
                .one()
            )
            if row["state"] == "done":
                return IntentClaim(key, row["attempts"], row["result"])
            free = (_intents.c.lease_until.is_(None)) | (_intents.c.lease_until <= now)
            claimed = await connection.execute(
                update(_intents)
                .where((_intents.c.intent_key == key) & (_intents.c.attempts == row["attempts"]) & free)
                .values(
                    attempts=row["attempts"] + 1, lease_owner=owner, lease_until=now + lease, updated_at=now
                )
            )
            if claimed.rowcount != 1:
                return None
            return IntentClaim(key, row["attempts"])

    async def complete_intent(self, key: str, result: str, *, now: datetime) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(_intents)
                .where(_intents.c.intent_key == key)
                .values(state="done", result=result, lease_until=None, updated_at=now)
            )

    async def release_intent(self, key: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(_intents)
                .where((_intents.c.intent_key == key) & (_intents.c.state == "pending"))
                .values(lease_until=None, updated_at=utcnow())
            )

    async def forget_person_intents(self, company_id: int, person_id: int) -> None:
        """Drop the company's completed Person creates that produced ``person_id`` (deleted in Pipedrive),
        so matching the number or group again creates a Person anew instead of returning the deleted one."""
        async with self._engine.begin() as connection:
            await connection.execute(
                delete(_intents).where(
                    (_intents.c.company_id == company_id)
                    & (_intents.c.result == str(person_id))
                    & or_(_intents.c.intent_key.like("person:%"), _intents.c.intent_key.like("group:%"))
                )
            )
