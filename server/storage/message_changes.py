"""Edits and deletions applied to stored messages, and the queue of days they leave to rewrite.

An edit replaces the message's text and keeps the text it replaced in ``edit_history`` (JSON, oldest
first) for the chat view. A deletion by the sender marks the message deleted; unless the company keeps
deleted text in Pipedrive (``company_settings.keep_deleted_text``) its text, edit history and attachment
(the reference, the download record, and the file unless another message has the same one) are erased in
the same transaction; a file of it already uploaded to Pipedrive's Files that no other message of the
company has is queued in ``file_deletion`` for the chat's next sync to delete there. Each change that
altered a row queues its message (and the replies quoting it) in ``message_change``; the sync marks their
days dirty and drops the entries. A change naming a message not stored waits in ``waiting_change`` until
that message is stored (``server.storage.waiting_changes``); a deleted message never stored takes its text
out of the replies that quote it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.domain.message_changes import (
    AppliedChange,
    ChangeKind,
    MessageChanged,
    PendingChange,
    ReactionLine,
)
from server.domain.ports.storage import MediaFiles
from server.storage.dialect import upsert_insert
from server.storage.media_deletions import delete_files, list_deletions
from server.storage.reactions import reactions_between
from server.storage.revisions import mark_changed
from server.storage.tables import (
    CompanySettings,
    MediaBlob,
    MediaUpload,
    Message,
    MessageMediaRow,
    WhatsAppAccount,
    table_of,
    utcnow,
)
from server.storage.tables_changes import FileDeletion, MessageChange, WaitingChange
from server.storage.times import stored_time

_messages = table_of(Message)
_changes = table_of(MessageChange)
_accounts = table_of(WhatsAppAccount)
_settings = table_of(CompanySettings)
_message_media = table_of(MessageMediaRow)
_blobs = table_of(MediaBlob)
_uploads = table_of(MediaUpload)
_file_deletions = table_of(FileDeletion)
_waiting = table_of(WaitingChange)

_NO_MEDIA = {"media_kind": "", "media_mime": "", "media_filename": "", "media_locator": ""}
HISTORY_LIMIT = 20  # earlier versions kept per message; WhatsApp allows far fewer edits
WAITING_FOR = timedelta(days=8)  # how long a change waits for its message (a first import reads 7 days)


def earlier_versions(edit_history: str) -> tuple[tuple[str, datetime], ...]:
    """The texts edits replaced, oldest first, each with when it was replaced; ``()`` when unreadable."""
    try:
        items = json.loads(edit_history) if edit_history else []
    except ValueError:
        return ()
    versions: list[tuple[str, datetime]] = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("text"), str) and isinstance(item.get("at"), str):
            try:
                versions.append((item["text"], datetime.fromisoformat(item["at"])))
            except ValueError:
                continue
    return tuple(versions)


async def apply_message_change(
    engine: AsyncEngine,
    account_id: int,
    change: MessageChanged,
    *,
    waits: bool = True,
    files: MediaFiles | None = None,
) -> AppliedChange | None:
    """Apply ``change`` to the message it names; ``None`` when that message is not stored (the change then
    waits for it, unless ``waits`` is false). A deleted message's attachment file no other message has goes
    from ``files`` (``None``: this machine's disk)."""
    query = (
        select(
            _messages.c.id,
            _messages.c.chat_id,
            _messages.c.text,
            _messages.c.edited_at,
            _messages.c.revoked_at,
            _messages.c.edit_history,
            _settings.c.keep_deleted_text,
            _accounts.c.company_id,
        )
        .select_from(
            _messages.join(_accounts, _accounts.c.id == _messages.c.account_id).outerjoin(
                _settings, _settings.c.company_id == _accounts.c.company_id
            )
        )
        .where((_messages.c.account_id == account_id) & (_messages.c.message_key == change.target_key))
    )
    paths: list[str] = []
    async with engine.begin() as connection:
        row = (await connection.execute(query)).mappings().first()
        if row is None:
            if waits:
                await _wait(connection, account_id, change)
            if change.kind is ChangeKind.REVOKED:
                await _forget_quotes(connection, account_id, change.target_id)
            return None
        values = _edit(row, change) if change.kind is ChangeKind.EDITED else _revoke(row, change)
        if values is None:
            return AppliedChange(row["id"], row["chat_id"], changed=False)
        await connection.execute(
            update(_messages).where(_messages.c.id == row["id"]).values(**values, updated_at=utcnow())
        )
        if change.kind is ChangeKind.REVOKED and not row["keep_deleted_text"]:
            paths = await _forget_attachment(connection, row["id"], row["company_id"], row["chat_id"])
        replies = select(_messages.c.id, _messages.c.chat_id).where(
            _messages.c.reply_to_message_id == row["id"]
        )
        changed = [(row["id"], row["chat_id"]), *(await connection.execute(replies)).all()]
        await _queue(connection, changed)
        await mark_changed(connection, [message_id for message_id, _ in changed])
    # after the commit: a rolled-back deletion must not lose a file in use
    await delete_files(engine, files, paths)
    return AppliedChange(row["id"], row["chat_id"], changed=True)


async def _wait(connection: AsyncConnection, account_id: int, change: MessageChanged) -> None:
    """Keep a change to a message not stored until that message comes (once however often it is
    delivered); changes that waited longer than ``WAITING_FOR`` are given up."""
    now = utcnow()
    await connection.execute(
        delete(_waiting).where(
            (_waiting.c.account_id == account_id) & (_waiting.c.created_at < now - WAITING_FOR)
        )
    )
    await connection.execute(
        upsert_insert(connection.engine, _waiting)
        .values(
            account_id=account_id,
            message_key=change.target_key[:200],
            target_id=change.target_id[:128],
            target_from_me=change.target_from_me,
            kind=change.kind.value,
            text=change.text or "",
            changed_at=change.at,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["account_id", "message_key", "kind", "changed_at"])
    )


async def _forget_attachment(
    connection: AsyncConnection, message_id: int, company_id: int, chat_id: int
) -> list[str]:
    """The deleted message's downloaded attachment: its record, and its file unless another message (in
    any company: files are stored once by hash) has the same one. Its uploads to Pipedrive that no other
    message of the company has are queued for deletion there. The files to remove after the commit."""
    held = select(_message_media.c.sha256).where(
        (_message_media.c.message_id == message_id) & _message_media.c.sha256.is_not(None)
    )
    hashes = [str(sha) for sha in (await connection.execute(held)).scalars()]
    await connection.execute(delete(_message_media).where(_message_media.c.message_id == message_id))
    if not hashes:
        return []
    await _queue_file_deletions(connection, hashes, company_id, chat_id)
    still_used = select(_message_media.c.sha256).where(_message_media.c.sha256.in_(hashes))
    unused = _blobs.c.sha256.in_(hashes) & _blobs.c.sha256.not_in(still_used)
    paths = [str(p) for p in (await connection.execute(select(_blobs.c.path).where(unused))).scalars() if p]
    await connection.execute(delete(_blobs).where(unused))
    await list_deletions(connection, paths)
    return paths


async def _queue_file_deletions(
    connection: AsyncConnection, hashes: list[str], company_id: int, chat_id: int
) -> None:
    """The company's uploads of these blobs that none of its messages has any more: to delete in Pipedrive."""
    company_messages = select(_messages.c.id).where(
        _messages.c.account_id.in_(select(_accounts.c.id).where(_accounts.c.company_id == company_id))
    )
    used = select(_message_media.c.sha256).where(
        _message_media.c.sha256.in_(hashes) & _message_media.c.message_id.in_(company_messages)
    )
    orphaned = (
        (_uploads.c.company_id == company_id) & _uploads.c.sha256.in_(hashes) & _uploads.c.sha256.not_in(used)
    )
    file_ids = sorted(
        {int(f) for f in (await connection.execute(select(_uploads.c.file_id).where(orphaned))).scalars()}
    )
    now = utcnow()
    for file_id in file_ids:
        await connection.execute(
            upsert_insert(connection.engine, _file_deletions)
            .values(company_id=company_id, chat_id=chat_id, file_id=file_id, created_at=now)
            .on_conflict_do_nothing(index_elements=["company_id", "file_id"])
        )
    await connection.execute(delete(_uploads).where(orphaned))


async def _queue(connection: AsyncConnection, messages: list[Any]) -> None:
    """Queue the days of these (message id, chat id): the message changed, or the quote a reply shows."""
    now = utcnow()
    for message_id, chat_id in messages:
        await connection.execute(
            insert(_changes).values(chat_id=chat_id, message_id=message_id, created_at=now)
        )


async def _forget_quotes(connection: AsyncConnection, account_id: int, target_id: str) -> None:
    """A message never stored was deleted: the replies that quote its text from the transport drop it."""
    quoting = (
        (_messages.c.account_id == account_id)
        & (_messages.c.reply_to_id == target_id[:128])
        & _messages.c.reply_to_message_id.is_(None)
        & (_messages.c.quote_text != "")
    )
    found = (await connection.execute(select(_messages.c.id, _messages.c.chat_id).where(quoting))).all()
    if found:
        await connection.execute(update(_messages).where(quoting).values(quote_text="", updated_at=utcnow()))
        await _queue(connection, list(found))
        await mark_changed(connection, [message_id for message_id, _ in found])


def _edit(row: Any, change: MessageChanged) -> dict[str, object] | None:
    """The new text, unless the message was deleted, already says it, or a later edit is stored."""
    text = change.text or ""
    if row["revoked_at"] is not None or row["text"] == text:
        return None
    edited_at = stored_time(row["edited_at"])
    if edited_at is not None and change.at < edited_at:
        return None  # an older edit arriving late: the newer text stays
    history = [{"text": old, "at": at.isoformat()} for old, at in earlier_versions(row["edit_history"])]
    history.append({"text": row["text"], "at": change.at.isoformat()})
    return {
        "text": text,
        "edited_at": change.at,
        "edit_history": json.dumps(history[-HISTORY_LIMIT:], ensure_ascii=False),
    }


def _revoke(row: Any, change: MessageChanged) -> dict[str, object] | None:
    if row["revoked_at"] is not None:
        return None
    if row["keep_deleted_text"]:
        return {"revoked_at": change.at}
    return {"revoked_at": change.at, "text": "", "edit_history": "", "details": "", **_NO_MEDIA}


class ChangeRows:
    """The sync store's side of the queue: which changed messages of a chat wait for their day."""

    _engine: AsyncEngine

    async def pending_changes(self, chat_id: int) -> list[PendingChange]:
        query = (
            select(
                _changes.c.id, _changes.c.message_id, func.coalesce(_changes.c.day_at, _messages.c.sent_at)
            )
            .select_from(_changes.join(_messages, _messages.c.id == _changes.c.message_id))
            .where(_changes.c.chat_id == chat_id)
            .order_by(_changes.c.id)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [PendingChange(row[0], row[1], stored_time(row[2]) or row[2]) for row in rows]

    async def reactions_between(self, chat_id: int, start: datetime, end: datetime) -> list[ReactionLine]:
        return await reactions_between(self._engine, chat_id, start, end)

    async def drop_changes(self, chat_id: int, change_ids: Sequence[int]) -> None:
        """Forget the entries whose days were marked dirty."""
        if not change_ids:
            return
        async with self._engine.begin() as connection:
            await connection.execute(
                delete(_changes).where((_changes.c.chat_id == chat_id) & _changes.c.id.in_(list(change_ids)))
            )

    async def file_deletions(self, chat_id: int) -> list[tuple[int, int]]:
        query = (
            select(_file_deletions.c.id, _file_deletions.c.file_id)
            .where(_file_deletions.c.chat_id == chat_id)
            .order_by(_file_deletions.c.id)
        )
        async with self._engine.connect() as connection:
            return [(int(row[0]), int(row[1])) for row in (await connection.execute(query)).all()]

    async def drop_file_deletion(self, entry_id: int) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(delete(_file_deletions).where(_file_deletions.c.id == entry_id))
