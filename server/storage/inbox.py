"""The inbox on SQLite or PostgreSQL: chats, messages and statuses, each stored once under its key."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.domain.message_changes import AppliedChange, MessageChanged, Reacted
from server.domain.message_kinds import encode
from server.domain.models import AccountRef, OutboxStatus
from server.domain.ports.storage import MediaFiles
from server.domain.whatsapp import Delivery, InboundMessage, Peer, SessionStatus, advance
from server.storage.call_lines import answer_missed_call
from server.storage.dialect import upsert_insert
from server.storage.message_changes import apply_message_change
from server.storage.quotes import adopt_replies, answered_message
from server.storage.reactions import apply_reaction
from server.storage.revisions import mark_changed
from server.storage.tables import Chat, Message, Outbox, UtcDateTime, WhatsAppAccount, table_of, utcnow
from server.storage.times import stored_time
from server.storage.waiting_changes import apply_waiting_changes, keep_waiting_reaction

_accounts = table_of(WhatsAppAccount)
_outbox = table_of(Outbox)
_chats = table_of(Chat)
_messages = table_of(Message)

STATUS_RACE_ATTEMPTS = 5
UNLINKED = "unlinked"  # the owner unlinked the number in WaPipe: late gateway events do not revive it


def _fill(held: Any, learned: Any) -> Any:
    """Keep what the row holds; take what was learned only where the row has nothing."""
    empty = held.is_(None) | (held == "")
    return case((empty & learned.is_not(None) & (learned != ""), learned), else_=held)


LEARNED_MEMO_SECONDS = 300.0
LEARNED_MEMO_SIZE = 10_000


class SqlInboxStore:
    """The inbox over ``engine``; a message its sender deletes takes its attachment's file with it from
    ``files`` (``None``: this machine's disk), unless another message has the same file."""

    def __init__(self, engine: AsyncEngine, files: MediaFiles | None = None) -> None:
        self._engine = engine
        self._files = files
        self._learned: dict[tuple[int, str, str, str | None], float] = {}  # identity pairs applied: until

    async def account_for_session(self, transport: str, session_name: str) -> AccountRef | None:
        query = select(
            _accounts.c.id, _accounts.c.company_id, _accounts.c.transport, _accounts.c.session_name
        ).where(_accounts.c.transport == transport, _accounts.c.session_name == session_name)
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return AccountRef(*row) if row else None

    async def record_session(
        self, account_id: int, status: SessionStatus, detail: str, me: Peer | None, at: datetime | None
    ) -> bool:
        now = utcnow()
        stamp = at or now
        values: dict[str, object] = {"status": status.value, "status_detail": detail[:500], "updated_at": now}
        if status is SessionStatus.CONNECTED:
            values["last_activity_at"] = stamp
        if at is None:
            # Observed just now by asking the gateway: the current truth, whatever the gateway's clock says.
            values["status_at"] = case((_accounts.c.status_at > now, _accounts.c.status_at), else_=now)
            conditions = [_accounts.c.id == account_id]
        else:
            values["status_at"] = at
            # One conditional UPDATE each, so concurrent jobs cannot apply an older status over a newer one.
            later = (_accounts.c.status_at.is_(None)) | (_accounts.c.status_at < at)
            conditions = [
                later,
                (_accounts.c.status_at == at) & _accounts.c.status.in_(_stages_up_to(status)),
            ]
        applied = False
        async with self._engine.begin() as connection:
            for condition in conditions:
                condition = condition & (_accounts.c.status != UNLINKED)  # only relinking revives it
                statement = (
                    update(_accounts).where((_accounts.c.id == account_id) & condition).values(**values)
                )
                if (await connection.execute(statement)).rowcount == 1:
                    applied = True
                    break
            if applied and status is not SessionStatus.CONNECTED:
                await _lower_caught_up(connection, account_id)
        if applied and me is not None and me.e164:
            await self._set_number(account_id, me.e164, me.display_name or "")
        return applied

    async def _set_number(self, account_id: int, e164: str, name: str) -> None:
        try:
            async with self._engine.begin() as connection:
                await connection.execute(
                    update(_accounts)
                    .where(_accounts.c.id == account_id)
                    .values(e164=e164, display_name=name[:255])
                )
        except IntegrityError:
            detail = f"{e164} is already linked to another WaPipe account; unlink it there first"
            async with self._engine.begin() as connection:
                await connection.execute(
                    update(_accounts).where(_accounts.c.id == account_id).values(status_detail=detail)
                )

    async def upsert_chat(self, account_id: int, peer: Peer, at: datetime) -> int:
        """The chat's id, created on first sight; one statement that also fills in a number or LID learned
        now, takes a new push name or group subject, and moves ``last_message_at`` forward only."""
        insert = upsert_insert(self._engine, _chats)
        new = insert.excluded
        name = (peer.display_name or "")[:255]
        statement = (
            insert.values(
                account_id=account_id,
                chat_key=peer.chat_key,
                e164=peer.e164,
                lid=peer.lid,
                is_group=peer.is_group,
                display_name=name,
                last_message_at=at,
                created_at=utcnow(),
            )
            .on_conflict_do_update(
                index_elements=["account_id", "chat_key"],
                set_={
                    "e164": _fill(_chats.c.e164, new.e164),
                    "lid": _fill(_chats.c.lid, new.lid),
                    "display_name": case(
                        (new.display_name != "", new.display_name), else_=_chats.c.display_name
                    ),
                    "last_message_at": case(
                        (
                            (_chats.c.last_message_at.is_(None))
                            | (_chats.c.last_message_at < new.last_message_at),
                            new.last_message_at,
                        ),
                        else_=_chats.c.last_message_at,
                    ),
                },
            )
            .returning(_chats.c.id)
        )
        async with self._engine.begin() as connection:
            return int((await connection.execute(statement)).scalar_one())

    async def add_message(
        self, account_id: int, chat_id: int, message: InboundMessage, *, received_at: datetime | None = None
    ) -> bool:
        media = message.media
        answered = await answered_message(self._engine, account_id, message)
        now = utcnow()
        statement = (
            upsert_insert(self._engine, _messages)
            .values(
                account_id=account_id,
                chat_id=chat_id,
                message_key=message.key,
                wa_message_id=(message.transport_id or message.wa_message_id)[:300],
                from_me=message.from_me,
                sender_key=message.sender.chat_key[:128],
                sender_name=(message.sender.display_name or "")[:255],
                text=message.text or "",
                media_kind=media.kind.value if media else "",
                media_mime=(media.mime or "")[:128] if media else "",
                media_filename=(media.filename or "")[:255] if media else "",
                media_locator=(media.locator or "")[:1000] if media else "",
                details=encode(message.details),
                reply_to_id=(message.reply_to or "")[:128],
                reply_to_message_id=answered,
                quote_text=(message.quoted_text or "") if answered is None else "",
                status=(Delivery.SENT if message.from_me else Delivery.DELIVERED).value,
                origin=message.origin.value,
                sent_at=message.sent_at,
                created_at=received_at or now,  # when it reached WaPipe: the sync's lag counts from here
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["account_id", "message_key"])
            .returning(_messages.c.id)
        )
        async with self._engine.begin() as connection:
            # The chat's row is held until the commit, so a chat's messages take their ids in the order
            # they are committed: the sync reads a chat's messages past the highest id it folded in, and an
            # id taken before another's but committed after it would never be read (PostgreSQL; SQLite
            # writes one transaction at a time anyway, and ignores FOR UPDATE).
            await connection.execute(select(_chats.c.id).where(_chats.c.id == chat_id).with_for_update())
            inserted = (await connection.execute(statement)).scalar() is not None
        if not inserted and await answer_missed_call(self._engine, account_id, message):
            return True  # the missed call's line now says answered: its day is written again
        return inserted

    async def advance_status(self, account_id: int, message_key: str, status: Delivery) -> Delivery | None:
        where = (_messages.c.account_id == account_id) & (_messages.c.message_key == message_key)
        for _ in range(STATUS_RACE_ATTEMPTS):
            async with self._engine.begin() as connection:
                held = (
                    await connection.execute(select(_messages.c.status, _messages.c.id).where(where))
                ).first()
                if held is None:
                    return None
                current = held[0]
                wanted = advance(Delivery(current), status)
                if wanted.value == current:
                    return wanted
                now = utcnow()
                changed = await connection.execute(
                    update(_messages)
                    .where(where & (_messages.c.status == current))
                    .values(status=wanted.value, updated_at=now, **_tick_times(wanted, now))
                )
                if changed.rowcount == 1:
                    await mark_changed(connection, [held[1]])
                    return wanted
        raise RuntimeError(f"the status of {message_key} kept changing under us")

    async def claim_send(self, account_id: int, client_ref: str, wa_message_id: str) -> bool:
        statement = (
            update(_outbox)
            .where(
                (_outbox.c.account_id == account_id)
                & (_outbox.c.client_ref == client_ref)
                & (_outbox.c.status == OutboxStatus.SENDING.value)
                & (_outbox.c.wa_message_id.is_(None))
            )
            .values(wa_message_id=wa_message_id[:300], updated_at=utcnow())
        )
        async with self._engine.begin() as connection:
            return bool((await connection.execute(statement)).rowcount)

    async def record_send_failure(self, account_id: int, message_key: str, reason: str, detail: str) -> bool:
        statement = (
            update(_outbox)
            .where(
                (_outbox.c.account_id == account_id)
                & (_outbox.c.message_key == message_key)
                & (_outbox.c.status.in_((OutboxStatus.SENDING.value, OutboxStatus.SENT.value)))
            )
            .values(
                status=OutboxStatus.FAILED.value,
                error_reason=reason[:64],
                error_message=detail[:500],
                updated_at=utcnow(),
            )
        )
        async with self._engine.begin() as connection:
            return bool((await connection.execute(statement)).rowcount)

    async def learn_identity(
        self, account_id: int, lid_chat_key: str, pn_chat_key: str, e164: str | None
    ) -> None:
        """Record that ``lid_chat_key`` is ``pn_chat_key`` (merging a chat stored under the LID).

        Gateways repeat the mapping with every message: a pair applied a moment ago by this process is
        not written again (applying it twice changes nothing; the memo only saves the statements).
        """
        memo = (account_id, lid_chat_key, pn_chat_key, e164)
        now = time.monotonic()
        if self._learned.get(memo, 0.0) > now:
            return
        await self._learn_identity(account_id, lid_chat_key, pn_chat_key, e164)
        if len(self._learned) >= LEARNED_MEMO_SIZE:
            self._learned.clear()
        self._learned[memo] = now + LEARNED_MEMO_SECONDS

    async def _learn_identity(
        self, account_id: int, lid_chat_key: str, pn_chat_key: str, e164: str | None
    ) -> None:
        async with self._engine.begin() as connection:
            lid_chat = await _chat_id(connection, account_id, lid_chat_key)
            if lid_chat is None:
                await connection.execute(
                    update(_chats)
                    .where(_chats.c.account_id == account_id, _chats.c.chat_key == pn_chat_key)
                    .values(
                        lid=func.coalesce(_chats.c.lid, lid_chat_key), e164=func.coalesce(_chats.c.e164, e164)
                    )
                )
                return
            pn_chat = await _chat_id(connection, account_id, pn_chat_key)
            if pn_chat is None:
                await connection.execute(
                    update(_chats)
                    .where(_chats.c.id == lid_chat)
                    .values(chat_key=pn_chat_key, lid=lid_chat_key, e164=func.coalesce(_chats.c.e164, e164))
                )
                return
            await connection.execute(  # revision 0: the numbers of the chat they leave mean nothing here
                update(_messages).where(_messages.c.chat_id == lid_chat).values(chat_id=pn_chat, revision=0)
            )
            await connection.execute(_chats.delete().where(_chats.c.id == lid_chat))
            await connection.execute(
                update(_chats)
                .where(_chats.c.id == pn_chat)
                .values(lid=lid_chat_key, e164=func.coalesce(_chats.c.e164, e164))
            )

    async def adopt_replies(self, account_id: int, message: InboundMessage) -> list[tuple[int, int]]:
        return await adopt_replies(self._engine, account_id, message)

    async def apply_change(self, account_id: int, change: MessageChanged) -> AppliedChange | None:
        return await apply_message_change(self._engine, account_id, change, files=self._files)

    async def apply_waiting_changes(self, account_id: int, message_key: str) -> list[AppliedChange]:
        session = message_key.split("/", 1)[0]
        return await apply_waiting_changes(self._engine, account_id, session, message_key, files=self._files)

    async def apply_reaction(self, account_id: int, reaction: Reacted) -> AppliedChange | None:
        applied = await apply_reaction(self._engine, account_id, reaction)
        if applied is None:  # it may come before its message (a catch-up brings that later)
            await keep_waiting_reaction(self._engine, account_id, reaction)
        return applied

    async def last_message_at(self, account_id: int) -> datetime | None:
        """When the newest stored message of the account was sent: catch-up starts from there."""
        query = select(func.max(_messages.c.sent_at)).where(_messages.c.account_id == account_id)
        async with self._engine.connect() as connection:
            value = (await connection.execute(query)).scalar()
        return stored_time(value)


_SESSION_STAGE = {
    SessionStatus.STOPPED: 0,
    SessionStatus.STARTING: 1,
    SessionStatus.NEEDS_PAIRING: 2,
    SessionStatus.CONNECTED: 3,
    SessionStatus.DISCONNECTED: 4,
    SessionStatus.FAILED: 4,
    SessionStatus.UNREACHABLE: 4,
    SessionStatus.LOGGED_OUT: 4,
    SessionStatus.BANNED: 5,
}


def _tick_times(status: Delivery, now: datetime) -> dict[str, Any]:
    """The first time a message was seen delivered and read, kept once: a read tick also says delivered
    (a phone may send only the read one), and a later tick never moves either time."""
    at = literal(now, UtcDateTime())
    times: dict[str, Any] = {}
    if status in (Delivery.DELIVERED, Delivery.READ, Delivery.PLAYED):
        times["delivered_at"] = func.coalesce(_messages.c.delivered_at, at)
    if status in (Delivery.READ, Delivery.PLAYED):
        times["read_at"] = func.coalesce(_messages.c.read_at, at)
    return times


def _stages_up_to(status: SessionStatus) -> list[str]:
    """Statuses a same-instant ``status`` may replace: the later stage of a session's life wins."""
    return [member.value for member, stage in _SESSION_STAGE.items() if stage <= _SESSION_STAGE[status]]


async def _lower_caught_up(connection: AsyncConnection, account_id: int) -> None:
    """The session is not connected: whatever it misses from now on is after the newest stored message, so
    the history is known complete up to that message at most (a catch-up that began while the gap had
    already started, unnoticed, may have marked it later)."""
    newest = (
        select(func.max(_messages.c.sent_at)).where(_messages.c.account_id == account_id).scalar_subquery()
    )
    mark = _accounts.c.caught_up_until
    statement = (
        update(_accounts).where(_accounts.c.id == account_id, mark > newest).values(caught_up_until=newest)
    )
    await connection.execute(statement)


async def _chat_id(connection: AsyncConnection, account_id: int, chat_key: str) -> int | None:
    query = select(_chats.c.id).where(_chats.c.account_id == account_id, _chats.c.chat_key == chat_key)
    found = (await connection.execute(query)).scalar()
    return int(found) if found is not None else None
