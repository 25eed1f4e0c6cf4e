"""The sync engine's store on SQLite or PostgreSQL: chats as the engine sees them, their links and leases,
company settings, owners, problems; day rows, intents and media come from the mixed-in modules."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.sync import (
    ChatLink,
    DealSource,
    ImportFrequency,
    LinkState,
    NewChatAction,
    SyncChat,
    SyncProblem,
    SyncSettings,
)
from server.storage.dialect import upsert_insert
from server.storage.media import MediaRows
from server.storage.message_changes import ChangeRows
from server.storage.sync_days import DayRows
from server.storage.sync_intents import IntentRows
from server.storage.tables import (
    Chat,
    Company,
    CompanySettings,
    Installation,
    Message,
    SyncChatLink,
    SyncCompanyState,
    SyncDayActivity,
    SyncProblemRow,
    WhatsAppAccount,
    utcnow,
)

_chats = Chat.__table__  # type: ignore[attr-defined]
_accounts = WhatsAppAccount.__table__  # type: ignore[attr-defined]
_companies = Company.__table__  # type: ignore[attr-defined]
_settings = CompanySettings.__table__  # type: ignore[attr-defined]
_installations = Installation.__table__  # type: ignore[attr-defined]
_links = SyncChatLink.__table__  # type: ignore[attr-defined]
_days = SyncDayActivity.__table__  # type: ignore[attr-defined]
_problems = SyncProblemRow.__table__  # type: ignore[attr-defined]
_state = SyncCompanyState.__table__  # type: ignore[attr-defined]
_messages = Message.__table__  # type: ignore[attr-defined]

ADOPTED_PART_OFFSET = 1000  # parts of a merged-away chat's day that collide: beyond any rendered part


def _chat_query() -> Any:
    return select(
        _chats.c.id,
        _chats.c.account_id,
        _accounts.c.company_id,
        _accounts.c.session_name,
        _accounts.c.transport,
        _accounts.c.owner_user_id,
        _accounts.c.e164.label("account_e164"),
        _chats.c.chat_key,
        _chats.c.e164,
        _chats.c.lid,
        _chats.c.is_group,
        _chats.c.display_name,
    ).select_from(_chats.join(_accounts, _accounts.c.id == _chats.c.account_id))


def _sync_chat(row: Any) -> SyncChat:
    return SyncChat(
        id=row["id"],
        account_id=row["account_id"],
        company_id=row["company_id"],
        session_name=row["session_name"],
        transport=row["transport"],
        owner_user_id=row["owner_user_id"],
        account_e164=row["account_e164"],
        chat_key=row["chat_key"],
        e164=row["e164"],
        lid=row["lid"],
        is_group=bool(row["is_group"]),
        display_name=row["display_name"] or "",
    )


def _link(row: Any) -> ChatLink:
    return ChatLink(
        chat_id=row["chat_id"],
        account_id=row["account_id"],
        company_id=row["company_id"],
        chat_key=row["chat_key"],
        state=LinkState(row["state"]),
        person_id=row["person_id"],
        person_name=row["person_name"],
        rule=row["rule"],
        alternatives=tuple(int(p) for p in row["alternatives"].split(",") if p),
        deal_id=row["deal_id"],
        lead_id=row["lead_id"],
        deal_source=DealSource(row["deal_source"]),
        pinned_deal_id=row["pinned_deal_id"],
        deal_checked=bool(row["deal_checked"]),
        person_link_url=row["person_link_url"],
        deal_link_url=row["deal_link_url"],
        excluded=bool(row["excluded"]),
        searched_at=row["searched_at"],
        cursor=row["cursor"],
        adopted_lid=row["adopted_lid"],
    )


def _link_values(link: ChatLink) -> dict[str, Any]:
    return {
        "state": link.state.value,
        "person_id": link.person_id,
        "person_name": link.person_name[:255],
        "rule": link.rule,
        "alternatives": ",".join(str(p) for p in link.alternatives[:50]),
        "deal_id": link.deal_id,
        "lead_id": link.lead_id,
        "deal_source": link.deal_source.value,
        "pinned_deal_id": link.pinned_deal_id,
        "deal_checked": link.deal_checked,
        "person_link_url": link.person_link_url[:255],
        "deal_link_url": link.deal_link_url[:255],
        "excluded": link.excluded,
        "searched_at": link.searched_at,
        "updated_at": utcnow(),
    }


class SqlSyncStore(DayRows, IntentRows, MediaRows, ChangeRows):
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    # chats -------------------------------------------------------------------------------------------
    async def chat(self, chat_id: int) -> SyncChat | None:
        async with self._engine.connect() as connection:
            row = (await connection.execute(_chat_query().where(_chats.c.id == chat_id))).mappings().first()
        return _sync_chat(row) if row else None

    async def chat_by_key(self, account_id: int, chat_key: str) -> SyncChat | None:
        query = _chat_query().where((_chats.c.account_id == account_id) & (_chats.c.chat_key == chat_key))
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        return _sync_chat(row) if row else None

    async def successor_chat(self, chat_id: int) -> int | None:
        """The chat a merged-away (``@lid``) chat now lives in, found through its link's chat key."""
        async with self._engine.connect() as connection:
            link = (
                (await connection.execute(select(_links).where(_links.c.chat_id == chat_id)))
                .mappings()
                .first()
            )
            if link is None:
                return None
            query = select(_chats.c.id).where(
                (_chats.c.account_id == link["account_id"]) & (_chats.c.lid == link["chat_key"])
            )
            found = (await connection.execute(query)).scalar()
        return int(found) if found is not None else None

    # links and leases --------------------------------------------------------------------------------
    async def link(self, chat: SyncChat) -> ChatLink:
        """The chat's link, created on first use; a merged ``@lid`` chat's link and days are adopted."""
        query = select(_links).where(_links.c.chat_id == chat.id)
        async with self._engine.begin() as connection:
            row = (await connection.execute(query)).mappings().first()
            if row is None or row["chat_key"] != chat.chat_key:  # the usual case reads one row, writes none
                await self._ensure_link(connection, chat)
                row = (await connection.execute(query)).mappings().one()
            if chat.lid and row["adopted_lid"] != chat.lid:
                await self._adopt(connection, chat, row)
                row = (
                    (await connection.execute(select(_links).where(_links.c.chat_id == chat.id)))
                    .mappings()
                    .one()
                )
        return _link(row)

    async def _ensure_link(self, connection: Any, chat: SyncChat) -> None:
        await connection.execute(
            upsert_insert(self._engine, _links)
            .values(
                chat_id=chat.id,
                account_id=chat.account_id,
                company_id=chat.company_id,
                chat_key=chat.chat_key,
                updated_at=utcnow(),
            )
            .on_conflict_do_nothing()
        )
        await connection.execute(
            update(_links)
            .where((_links.c.chat_id == chat.id) & (_links.c.chat_key != chat.chat_key))
            .values(chat_key=chat.chat_key)
        )

    async def _adopt(self, connection: Any, chat: SyncChat, row: Any) -> None:
        """Take over what was synced for the ``@lid`` chat merged into this one, then rescan every message
        once (merged messages keep their ids, which may be below this chat's cursor)."""
        assert chat.lid is not None
        old = (
            (
                await connection.execute(
                    select(_links).where(
                        (_links.c.account_id == chat.account_id)
                        & (_links.c.chat_key == chat.lid)
                        & (_links.c.chat_id != chat.id)
                    )
                )
            )
            .mappings()
            .first()
        )
        values: dict[str, Any] = {"adopted_lid": chat.lid, "cursor": 0}
        if old is not None:
            if row["person_id"] is None and old["person_id"] is not None:
                keep = (
                    "state",
                    "person_id",
                    "person_name",
                    "rule",
                    "alternatives",
                    "deal_id",
                    "lead_id",
                    "deal_source",
                    "pinned_deal_id",
                    "deal_checked",
                    "person_link_url",
                    "deal_link_url",
                    "excluded",
                )
                values.update({key: old[key] for key in keep})
            mine = {
                (d, p)
                for d, p in (
                    await connection.execute(
                        select(_days.c.day, _days.c.part).where(_days.c.chat_id == chat.id)
                    )
                ).all()
            }
            theirs = (
                (await connection.execute(select(_days).where(_days.c.chat_id == old["chat_id"])))
                .mappings()
                .all()
            )
            for day_row in theirs:
                part = day_row["part"]
                if (day_row["day"], part) in mine:
                    part += ADOPTED_PART_OFFSET  # written again from this chat; the extra part is deleted
                await connection.execute(
                    update(_days)
                    .where(_days.c.id == day_row["id"])
                    .values(chat_id=chat.id, part=part, dirty=True, dirty_since=utcnow())
                )
            await connection.execute(_links.delete().where(_links.c.chat_id == old["chat_id"]))
        await connection.execute(update(_links).where(_links.c.chat_id == chat.id).values(**values))

    async def save_link(self, link: ChatLink) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(_links).where(_links.c.chat_id == link.chat_id).values(**_link_values(link))
            )

    async def acquire_chat(self, chat: SyncChat, *, owner: str, lease: timedelta, now: datetime) -> bool:
        """Lease the chat's link for ``owner``; the link is created first when the chat has none yet (the
        usual run is one statement)."""
        free = or_(_links.c.lease_until.is_(None), _links.c.lease_until <= now, _links.c.lease_owner == owner)
        claim = (
            update(_links)
            .where((_links.c.chat_id == chat.id) & free)
            .values(lease_owner=owner, lease_until=now + lease)
        )
        async with self._engine.begin() as connection:
            if (await connection.execute(claim)).rowcount == 1:
                return True
            held = (
                await connection.execute(select(_links.c.chat_id).where(_links.c.chat_id == chat.id))
            ).first()
            if held is not None:
                return False  # leased by another run
            await self._ensure_link(connection, chat)
            return bool((await connection.execute(claim)).rowcount == 1)

    async def release_chat(self, chat_id: int, *, owner: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(_links)
                .where((_links.c.chat_id == chat_id) & (_links.c.lease_owner == owner))
                .values(lease_owner="", lease_until=None)
            )

    # settings and owners -----------------------------------------------------------------------------
    async def settings(self, company_id: int) -> SyncSettings:
        query = (
            select(_companies.c.timezone.label("company_timezone"), _settings)
            .select_from(_companies.outerjoin(_settings, _settings.c.company_id == _companies.c.id))
            .where(_companies.c.id == company_id)
        )
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        zone = row["company_timezone"] if row is not None else None
        if row is None or row["company_id"] is None:
            return SyncSettings(company_id=company_id, timezone=zone or "UTC")
        excluded = frozenset(line.strip() for line in row["excluded_numbers"].splitlines() if line.strip())
        return SyncSettings(
            company_id=company_id,
            timezone=zone or "UTC",
            import_frequency=ImportFrequency.parse(row["import_frequency"]),
            auto_add_persons=bool(row["auto_add_persons"]),
            new_chat_action=NewChatAction.parse(row["new_chat_action"]),
            pipeline_id=row["pipeline_id"],
            import_groups=bool(row["import_groups"]),
            excluded_numbers=excluded,
            activity_type_key=row["activity_type_key"],
            person_link_field_key=row["person_link_field_key"],
            deal_link_field_key=row["deal_link_field_key"],
        )

    async def save_setup_keys(self, company_id: int, changes: dict[str, str]) -> None:
        allowed = {"activity_type_key", "person_link_field_key", "deal_link_field_key"}
        values = {key: value for key, value in changes.items() if key in allowed}
        async with self._engine.begin() as connection:
            await connection.execute(
                upsert_insert(self._engine, _settings)
                .values(company_id=company_id, updated_at=utcnow(), **{**_default_settings(), **values})
                .on_conflict_do_update(index_elements=["company_id"], set_={**values, "updated_at": utcnow()})
            )

    async def installation_email(self, company_id: int, pipedrive_user_id: int) -> str | None:
        query = select(_installations.c.email).where(
            (_installations.c.company_id == company_id)
            & (_installations.c.pipedrive_user_id == pipedrive_user_id)
        )
        async with self._engine.connect() as connection:
            return (await connection.execute(query)).scalar() or None

    async def companies_installed(self, chat_ids: list[int]) -> dict[int, int]:
        """``{chat id: company id}`` for the chats whose company has an active installation."""
        if not chat_ids:
            return {}
        query = (
            select(_chats.c.id, _accounts.c.company_id)
            .select_from(_chats.join(_accounts, _accounts.c.id == _chats.c.account_id))
            .where(_chats.c.id.in_(chat_ids))
            .where(
                select(_installations.c.id)
                .where(
                    (_installations.c.company_id == _accounts.c.company_id)
                    & (_installations.c.status == "active")
                )
                .exists()
            )
        )
        async with self._engine.connect() as connection:
            return {int(row[0]): int(row[1]) for row in (await connection.execute(query)).all()}

    async def admin_user_id(self, company_id: int) -> int | None:
        query = (
            select(_installations.c.pipedrive_user_id)
            .where(
                (_installations.c.company_id == company_id)
                & _installations.c.is_admin
                & (_installations.c.status == "active")
            )
            .order_by(_installations.c.id)
        )
        async with self._engine.connect() as connection:
            found = (await connection.execute(query)).scalar()
        return int(found) if found is not None else None

    # problems and deferral ---------------------------------------------------------------------------
    async def record_problem(self, problem: SyncProblem) -> None:
        """Store a permanent failure for admins; the same open problem is counted, not repeated."""
        now = utcnow()
        same = (
            (_problems.c.company_id == problem.company_id)
            & (
                _problems.c.chat_id == problem.chat_id
                if problem.chat_id is not None
                else _problems.c.chat_id.is_(None)
            )
            & (_problems.c.reason == problem.reason)
            & _problems.c.resolved_at.is_(None)
        )
        async with self._engine.begin() as connection:
            counted = await connection.execute(
                update(_problems)
                .where(same)
                .values(
                    occurrences=_problems.c.occurrences + 1, last_seen_at=now, detail=problem.detail[:1000]
                )
            )
            if counted.rowcount == 0:
                await connection.execute(
                    _problems.insert().values(
                        company_id=problem.company_id,
                        chat_id=problem.chat_id,
                        reason=problem.reason[:64],
                        detail=problem.detail[:1000],
                        created_at=now,
                        last_seen_at=now,
                    )
                )

    async def open_problems(self, company_id: int) -> list[SyncProblem]:
        query = select(_problems).where(
            (_problems.c.company_id == company_id) & _problems.c.resolved_at.is_(None)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query.order_by(_problems.c.id))).mappings().all()
        return [SyncProblem(r["company_id"], r["chat_id"], r["reason"], r["detail"]) for r in rows]

    async def resolve_problems(self, company_id: int, chat_id: int) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(_problems)
                .where(
                    (_problems.c.company_id == company_id)
                    & (_problems.c.chat_id == chat_id)
                    & _problems.c.resolved_at.is_(None)
                )
                .values(resolved_at=utcnow())
            )

    async def defer_company(self, company_id: int, until: datetime, reason: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                upsert_insert(self._engine, _state)
                .values(
                    company_id=company_id, deferred_until=until, defer_reason=reason[:64], updated_at=utcnow()
                )
                .on_conflict_do_update(
                    index_elements=["company_id"], set_={"deferred_until": until, "defer_reason": reason[:64]}
                )
            )

    async def deferred_until(self, company_id: int) -> datetime | None:
        query = select(_state.c.deferred_until).where(_state.c.company_id == company_id)
        async with self._engine.connect() as connection:
            value = (await connection.execute(query)).scalar()
        return value if isinstance(value, datetime) else None

    # what the watchdog and the batch flush look for -------------------------------------------------------
    async def chats_behind(self, limit: int = 500) -> list[int]:
        """Chats with stored messages the engine has not folded in yet (or never saw)."""
        newest = (
            select(_messages.c.chat_id, func.max(_messages.c.id).label("newest"))
            .group_by(_messages.c.chat_id)
            .subquery()
        )
        query = (
            select(newest.c.chat_id)
            .select_from(newest.outerjoin(_links, _links.c.chat_id == newest.c.chat_id))
            .where(_links.c.chat_id.is_(None) | (_links.c.cursor < newest.c.newest))
            .order_by(newest.c.chat_id)
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            return [int(row[0]) for row in (await connection.execute(query)).all()]

    async def dirty_chats(self, *, due_before: datetime, limit: int = 500) -> list[tuple[int, int, datetime]]:
        """``(chat id, company id, oldest dirty change)`` of chats with a day waiting to be written."""
        query = (
            select(_days.c.chat_id, _links.c.company_id, func.min(_days.c.dirty_since))
            .select_from(_days.join(_links, _links.c.chat_id == _days.c.chat_id))
            .where(_days.c.dirty & (_days.c.dirty_since <= due_before))
            .group_by(_days.c.chat_id, _links.c.company_id)
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [(int(r[0]), int(r[1]), _aware(r[2])) for r in rows]

    async def link_by_chat(self, chat_id: int) -> ChatLink | None:
        async with self._engine.connect() as connection:
            row = (
                (await connection.execute(select(_links).where(_links.c.chat_id == chat_id)))
                .mappings()
                .first()
            )
        return _link(row) if row else None

    async def chats_linked_to(self, company_id: int, person_id: int) -> list[int]:
        """The company's chats whose link names ``person_id`` (whatever their state)."""
        query = (
            select(_links.c.chat_id)
            .where((_links.c.company_id == company_id) & (_links.c.person_id == person_id))
            .order_by(_links.c.chat_id)
        )
        async with self._engine.connect() as connection:
            return [int(chat_id) for chat_id in (await connection.execute(query)).scalars()]


def _default_settings() -> dict[str, Any]:
    return {
        "import_frequency": "realtime",
        "auto_add_persons": True,
        "new_chat_action": "nothing",
        "import_groups": False,
        "excluded_numbers": "",
        "activity_type_key": "",
        "person_link_field_key": "",
        "deal_link_field_key": "",
    }


def _aware(value: Any) -> datetime:
    from datetime import UTC

    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise TypeError(f"not a datetime: {value!r}")


__all__ = ["SqlSyncStore", "date"]
