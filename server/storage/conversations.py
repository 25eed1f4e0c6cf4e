"""Read side of the panel: a contact's chats (by linked Person or by phone) and their latest messages,
always within one company's numbers."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.conversation import ContactChat, ContactMessage
from server.domain.sync import MediaState
from server.storage.quotes import QUOTE_COLUMNS, quote_from_row, with_quote
from server.storage.reactions import reactions_of
from server.storage.tables import Chat, MediaBlob, Message, MessageMediaRow, WhatsAppAccount, table_of
from server.storage.tables_sync import SyncChatLink

_accounts = table_of(WhatsAppAccount)
_chats = table_of(Chat)
_messages = table_of(Message)
_links = table_of(SyncChatLink)
_message_media = table_of(MessageMediaRow)
_blobs = table_of(MediaBlob)


def _chat(row: Any) -> ContactChat:
    return ContactChat(
        id=row["id"],
        account_id=row["account_id"],
        account_e164=row["account_e164"],
        chat_e164=row["e164"],
        display_name=row["display_name"] or "",
        last_message_at=row["last_message_at"],
        person_id=row["person_id"],
        rule=row["rule"] or "",
        alternatives=tuple(int(p) for p in (row["alternatives"] or "").split(",") if p),
        pinned_deal_id=row["pinned_deal_id"],
        deal_id=row["deal_id"],
        is_group=bool(row["is_group"]),
        chat_key=row["chat_key"],
    )


def _message(row: Any) -> ContactMessage:
    return ContactMessage(
        id=row["id"],
        chat_id=row["chat_id"],
        account_id=row["account_id"],
        account_e164=row["account_e164"],
        message_key=row["message_key"],
        from_me=bool(row["from_me"]),
        sender_name=row["sender_name"] or "",
        text=row["text"] or "",
        status=row["status"],
        sent_at=row["sent_at"],
        media_kind=row["media_kind"] or "",
        media_mime=row["blob_mime"] or row["media_mime"] or "",
        media_filename=row["media_filename"] or "",
        media_stored=row["blob_path"] is not None,
        media_removed=row.get("media_state") == MediaState.REMOVED.value,
        media_state=row.get("media_state") or "",
        edited=row.get("edited_at") is not None,
        deleted=row.get("revoked_at") is not None,
        quote=quote_from_row(row) if "quoted_id" in row else None,
        details=row.get("details") or "",
        sender_key=row.get("sender_key") or "",
    )


def _chat_query() -> Any:
    return select(
        _chats.c.id,
        _chats.c.account_id,
        _accounts.c.e164.label("account_e164"),
        _chats.c.e164,
        _chats.c.display_name,
        _chats.c.last_message_at,
        _chats.c.is_group,
        _chats.c.chat_key,
        _links.c.person_id,
        _links.c.rule,
        _links.c.alternatives,
        _links.c.pinned_deal_id,
        _links.c.deal_id,
    ).select_from(
        _chats.join(_accounts, _accounts.c.id == _chats.c.account_id).outerjoin(
            _links, _links.c.chat_id == _chats.c.id
        )
    )


class SqlConversationStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def chat(self, company_id: int, chat_id: int) -> ContactChat | None:
        query = _chat_query().where(_accounts.c.company_id == company_id, _chats.c.id == chat_id)
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        return _chat(row) if row else None

    async def chats_with(
        self, company_id: int, *, person_id: int | None, e164s: Collection[str]
    ) -> list[ContactChat]:
        """The company's chats linked to ``person_id`` (a group's among them: its Person stands for the
        group) and its one-to-one chats with one of ``e164s``, latest first."""
        one_to_one = _chats.c.is_group.is_(False)
        matches: list[ColumnElement[bool]] = [one_to_one & _chats.c.e164.in_(list(e164s))] if e164s else []
        if person_id is not None:
            matches.append(_links.c.person_id == person_id)
        if not matches:
            return []
        query = (
            _chat_query()
            .where(_accounts.c.company_id == company_id, or_(*matches))
            .order_by(_chats.c.last_message_at.desc(), _chats.c.id.desc())
        )
        async with self._engine.connect() as connection:
            return [_chat(row) for row in (await connection.execute(query)).mappings()]

    async def latest_messages(
        self, company_id: int, chat_ids: Collection[int], *, limit: int = 40
    ) -> list[ContactMessage]:
        """The newest ``limit`` messages of the chats, oldest first (as a chat reads)."""
        if not chat_ids:
            return []
        query = (
            select(
                _messages.c.id,
                _messages.c.chat_id,
                _messages.c.account_id,
                _accounts.c.e164.label("account_e164"),
                _messages.c.message_key,
                _messages.c.from_me,
                _messages.c.sender_name,
                _messages.c.sender_key,
                _messages.c.text,
                _messages.c.status,
                _messages.c.sent_at,
                _messages.c.media_kind,
                _messages.c.media_mime,
                _messages.c.media_filename,
                _messages.c.edited_at,
                _messages.c.revoked_at,
                *QUOTE_COLUMNS,
                _messages.c.details,
                _blobs.c.path.label("blob_path"),
                _blobs.c.mime.label("blob_mime"),
                _message_media.c.state.label("media_state"),
            )
            .select_from(
                with_quote(
                    _messages.join(_accounts, _accounts.c.id == _messages.c.account_id)
                    .outerjoin(_message_media, _message_media.c.message_id == _messages.c.id)
                    .outerjoin(_blobs, _blobs.c.sha256 == _message_media.c.sha256)
                )
            )
            .where(_accounts.c.company_id == company_id, _messages.c.chat_id.in_(list(chat_ids)))
            .order_by(_messages.c.sent_at.desc(), _messages.c.id.desc())
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            rows = [_message(row) for row in (await connection.execute(query)).mappings()]
        reactions = await reactions_of(self._engine, [row.id for row in rows])
        return [replace(row, reactions=reactions.get(row.id, ())) for row in rows[::-1]]

    async def media_file(self, company_id: int, message_id: int) -> tuple[str, str, str] | None:
        """(path on disk, the type its sender gave, the sender's file name) of a stored attachment of one
        of the company's messages. The type is the sender's word, kept as data: what the file is served as
        is decided from its bytes (``server.web.media_response``)."""
        query = (
            select(_blobs.c.path, _blobs.c.mime, _messages.c.media_mime, _messages.c.media_filename)
            .select_from(
                _messages.join(_accounts, _accounts.c.id == _messages.c.account_id)
                .join(_message_media, _message_media.c.message_id == _messages.c.id)
                .join(_blobs, _blobs.c.sha256 == _message_media.c.sha256)
            )
            .where(_accounts.c.company_id == company_id, _messages.c.id == message_id)
        )
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        if row is None:
            return None
        mime = str(row["media_mime"] or row["mime"] or "application/octet-stream")
        return str(row["path"]), mime, str(row["media_filename"] or "")
