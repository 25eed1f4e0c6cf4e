"""Reading one company's chats for the settings page and the chat view: every query joins the chat's
account and filters by company, so another company's chat id finds nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, RowMapping, Select, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.storage.quotes import QUOTE_COLUMNS, quote_from_row, with_quote
from server.storage.tables import Chat, MediaBlob, Message, MessageMediaRow, WhatsAppAccount, table_of
from server.storage.tables_sync import SyncChatLink

_chats = table_of(Chat)
_messages = table_of(Message)
_accounts = table_of(WhatsAppAccount)
_links = table_of(SyncChatLink)
_message_media = table_of(MessageMediaRow)
_blobs = table_of(MediaBlob)


@dataclass(frozen=True, slots=True)
class ChatRow:
    id: int
    account_id: int
    account_e164: str
    chat_key: str
    e164: str | None
    is_group: bool
    display_name: str
    excluded: bool
    person_id: int | None
    person_name: str
    last_message_at: datetime | None
    revision: int = 0  # the number of the chat's latest message change (``storage.revisions``)


@dataclass(frozen=True, slots=True)
class HistoryMessage:
    id: int
    from_me: bool
    sender_name: str
    text: str
    status: str
    sent_at: datetime
    media_kind: str
    media_mime: str
    media_filename: str
    media_state: str  # "" | pending | stored | unavailable | too_large
    edited: bool = False
    deleted: bool = False
    edit_history: str = ""  # JSON: the texts edits replaced (``message_changes.earlier_versions``)
    quote: str | None = None  # a reply: the short quote of the message it answers
    details: str = ""  # a location, contacts or a call (``message_kinds.encode``)
    revision: int = 0  # the chat's revision at its latest change (``storage.revisions``)


def _chat_query() -> Select[Any]:
    return select(
        _chats.c.id,
        _chats.c.account_id,
        _accounts.c.e164.label("account_e164"),
        _chats.c.chat_key,
        _chats.c.e164,
        _chats.c.is_group,
        _chats.c.display_name,
        _chats.c.last_message_at,
        _chats.c.revision,
        _links.c.excluded,
        _links.c.person_id,
        _links.c.person_name,
    ).select_from(
        _chats.join(_accounts, _accounts.c.id == _chats.c.account_id).outerjoin(
            _links, _links.c.chat_id == _chats.c.id
        )
    )


def _chat(row: Row[Any]) -> ChatRow:
    data = row._mapping
    return ChatRow(
        id=data["id"],
        account_id=data["account_id"],
        account_e164=data["account_e164"] or "",
        chat_key=data["chat_key"],
        e164=data["e164"],
        is_group=bool(data["is_group"]),
        display_name=data["display_name"] or "",
        excluded=bool(data["excluded"]),
        person_id=data["person_id"],
        person_name=data["person_name"] or "",
        last_message_at=data["last_message_at"],
        revision=int(data["revision"] or 0),
    )


def _history_query(chat_id: int) -> Select[Any]:
    return (
        select(
            _messages.c.id,
            _messages.c.from_me,
            _messages.c.sender_name,
            _messages.c.text,
            _messages.c.status,
            _messages.c.sent_at,
            _messages.c.media_kind,
            _messages.c.media_mime,
            _messages.c.media_filename,
            _message_media.c.state,
            _messages.c.edited_at,
            _messages.c.revoked_at,
            _messages.c.edit_history,
            *QUOTE_COLUMNS,
            _messages.c.details,
            _messages.c.revision,
        )
        .select_from(
            with_quote(_messages.outerjoin(_message_media, _message_media.c.message_id == _messages.c.id))
        )
        .where(_messages.c.chat_id == chat_id)
    )


def _history_message(row: RowMapping) -> HistoryMessage:
    return HistoryMessage(
        id=row["id"],
        from_me=bool(row["from_me"]),
        sender_name=row["sender_name"] or "",
        text=row["text"] or "",
        status=row["status"] or "",
        sent_at=row["sent_at"],
        media_kind=row["media_kind"] or "",
        media_mime=row["media_mime"] or "",
        media_filename=row["media_filename"] or "",
        media_state=row["state"] or "",
        edited=row["edited_at"] is not None,
        deleted=row["revoked_at"] is not None,
        edit_history=row["edit_history"] or "",
        quote=quote_from_row(row),
        details=row["details"] or "",
        revision=int(row["revision"] or 0),
    )


class SqlChatHistory:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def chats(self, company_id: int, limit: int = 200) -> list[ChatRow]:
        query = (
            _chat_query()
            .where(_accounts.c.company_id == company_id)
            .order_by(_chats.c.last_message_at.desc(), _chats.c.id.desc())
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            return [_chat(row) for row in (await connection.execute(query)).all()]

    async def chat(self, company_id: int, chat_id: int) -> ChatRow | None:
        query = _chat_query().where((_accounts.c.company_id == company_id) & (_chats.c.id == chat_id))
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return _chat(row) if row is not None else None

    async def page(self, chat_id: int, *, before_id: int | None, limit: int) -> list[HistoryMessage]:
        """Newest first: up to ``limit`` messages older than ``before_id`` (the newest when ``None``)."""
        query = (
            _history_query(chat_id).order_by(_messages.c.sent_at.desc(), _messages.c.id.desc()).limit(limit)
        )
        async with self._engine.connect() as connection:
            if before_id is not None:  # keyset paging on (sent_at, id), the order shown
                anchor = (
                    await connection.execute(
                        select(_messages.c.sent_at).where(
                            (_messages.c.id == before_id) & (_messages.c.chat_id == chat_id)
                        )
                    )
                ).scalar()
                if anchor is None:
                    return []
                query = query.where(
                    (_messages.c.sent_at < anchor)
                    | ((_messages.c.sent_at == anchor) & (_messages.c.id < before_id))
                )
            rows = (await connection.execute(query)).mappings().all()
        return [_history_message(row) for row in rows]

    async def newer(self, chat_id: int, *, after_id: int, limit: int) -> list[HistoryMessage]:
        """Stored after message ``after_id`` (by id, so a message stored late with an earlier time is not
        missed): the first ``limit`` of them, oldest first."""
        query = _history_query(chat_id).where(_messages.c.id > after_id).order_by(_messages.c.id).limit(limit)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [_history_message(row) for row in rows]

    async def changed(
        self, chat_id: int, *, seen: int, upto_id: int, from_id: int | None, limit: int
    ) -> list[HistoryMessage]:
        """Messages of the chat changed after revision ``seen`` that a page showing ``from_id`` (the first
        message it shows; ``None``: the whole chat) up to ``upto_id`` (the newest it has) shows: the first
        ``limit`` of them in the order they changed."""
        query = _history_query(chat_id).where((_messages.c.revision > seen) & (_messages.c.id <= upto_id))
        async with self._engine.connect() as connection:
            if from_id is not None:
                anchor = (
                    await connection.execute(
                        select(_messages.c.sent_at).where(
                            (_messages.c.id == from_id) & (_messages.c.chat_id == chat_id)
                        )
                    )
                ).scalar()
                if anchor is None:
                    return []
                query = query.where(
                    (_messages.c.sent_at > anchor)
                    | ((_messages.c.sent_at == anchor) & (_messages.c.id >= from_id))
                )
            query = query.order_by(_messages.c.revision, _messages.c.id).limit(limit)
            rows = (await connection.execute(query)).mappings().all()
        return [_history_message(row) for row in rows]

    async def media_file(self, company_id: int, chat_id: int, message_id: int) -> tuple[str, str, str] | None:
        """``(path, mime, file name)`` of a stored attachment of this company's chat."""
        query = (
            select(_blobs.c.path, _blobs.c.mime, _messages.c.media_mime, _messages.c.media_filename)
            .select_from(
                _messages.join(_chats, _chats.c.id == _messages.c.chat_id)
                .join(_accounts, _accounts.c.id == _chats.c.account_id)
                .join(_message_media, _message_media.c.message_id == _messages.c.id)
                .join(_blobs, _blobs.c.sha256 == _message_media.c.sha256)
            )
            .where(
                (_accounts.c.company_id == company_id)
                & (_messages.c.chat_id == chat_id)
                & (_messages.c.id == message_id)
            )
        )
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        if row is None:
            return None
        return str(row[0]), str(row[2] or row[1] or "application/octet-stream"), str(row[3] or "")
