"""Downloaded media: files under ``WAPIPE_MEDIA_DIR`` by SHA-256 (``DiskMediaFiles``; the S3-compatible
store is ``media_s3``), and their rows (blobs, per-message state, uploads to Pipedrive)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import tempfile
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.errors import ConfigurationError, NotFound
from server.domain.ports.storage import StoredFile
from server.domain.sync import MediaRetry, MediaState, MessageMedia, SyncMessage
from server.domain.text import Text
from server.storage.dialect import upsert_insert
from server.storage.revisions import mark_changed
from server.storage.tables import MediaBlob, MediaUpload, Message, MessageMediaRow, table_of, utcnow

_blobs = table_of(MediaBlob)
_message_media = table_of(MessageMediaRow)
_uploads = table_of(MediaUpload)
_messages = table_of(Message)
log = logging.getLogger(__name__)

IN_OBJECT_STORAGE = "s3:"  # how the path of a file kept in an S3-compatible bucket begins (``media_s3``)
READ_CHUNK = 256 * 1024  # bytes read from disk at a time when a file is streamed


class DiskMediaFiles:
    """Files by content hash: ``<dir>/ab/abcdef…``. Writing goes through a temporary file and a rename, so a
    half-written download never looks stored. A file's path is where it is on this machine's disk; the path of
    one kept in a bucket is refused by name (``media_store_not_configured``), never looked for on disk."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def save(self, chunks: AsyncIterator[bytes]) -> tuple[str, int, str]:
        self.directory.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".download-")
        try:
            with os.fdopen(handle, "wb") as output:
                async for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    await asyncio.to_thread(output.write, chunk)
            sha256 = digest.hexdigest()
            target = self.directory / sha256[:2] / sha256
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        return sha256, size, str(target)

    async def read(self, path: str) -> bytes:
        try:
            return await asyncio.to_thread(local_path(path).read_bytes)
        except FileNotFoundError as gone:
            raise NotFound(Text("This attachment is no longer stored.")) from gone

    async def open(self, path: str) -> StoredFile:
        try:
            handle = await asyncio.to_thread(local_path(path).open, "rb")
        except FileNotFoundError as gone:
            raise NotFound(Text("This attachment is no longer stored.")) from gone
        return StoredFile(os.fstat(handle.fileno()).st_size, _read_chunks(handle))

    async def delete(self, path: str) -> None:
        await asyncio.to_thread(local_path(path).unlink, missing_ok=True)


def local_path(path: str) -> Path:
    """The file ``path`` names on this machine's disk; ``ConfigurationError`` for a file kept in a bucket
    when this process has none configured."""
    if path.startswith(IN_OBJECT_STORAGE):
        raise ConfigurationError(
            Text(
                "This attachment is kept in object storage, but this process has no bucket configured: "
                "set WAPIPE_MEDIA_S3_BUCKET and its credentials as in the other processes"
            ),
            reason="media_store_not_configured",
        )
    return Path(path)


async def _read_chunks(handle: BinaryIO) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(handle.read, READ_CHUNK):
            yield chunk
    finally:
        handle.close()


class MediaRows:
    _engine: AsyncEngine

    async def pending_media(self, chat_id: int, *, due_at: datetime) -> list[SyncMessage]:
        """The chat's messages whose attachment is not downloaded yet and may be tried by ``due_at``."""
        from server.storage.sync_days import message_columns, sync_message

        pending = _message_media.c.message_id.is_(None) | (
            (_message_media.c.state == MediaState.PENDING.value)
            & (_message_media.c.next_attempt_at.is_(None) | (_message_media.c.next_attempt_at <= due_at))
        )
        query = (
            select(*message_columns())
            .select_from(_messages.outerjoin(_message_media, _message_media.c.message_id == _messages.c.id))
            .where((_messages.c.chat_id == chat_id) & (_messages.c.media_kind != "") & pending)
            .order_by(_messages.c.id)
        )
        async with self._engine.connect() as connection:
            return [sync_message(row) for row in (await connection.execute(query)).mappings()]

    async def claim_media_attempt(self, message_id: int, *, now: datetime, retry: MediaRetry) -> int | None:
        """Take the next download of a pending attachment: its number (1: the first), with the attempt
        after it scheduled already (so a crash mid-download is retried on time); ``None`` when it is not
        due, no longer pending, or another worker took it first."""
        async with self._engine.begin() as connection:
            await connection.execute(
                upsert_insert(self._engine, _message_media)
                .values(message_id=message_id, state=MediaState.PENDING.value, attempts=0, updated_at=now)
                .on_conflict_do_nothing(index_elements=["message_id"])
            )
            row = (
                await connection.execute(
                    select(
                        _message_media.c.state, _message_media.c.attempts, _message_media.c.next_attempt_at
                    ).where(_message_media.c.message_id == message_id)
                )
            ).one()
            due = row.next_attempt_at is None or row.next_attempt_at <= now
            if row.state != MediaState.PENDING.value or not due:
                return None
            attempt = int(row.attempts) + 1
            taken = await connection.execute(
                update(_message_media)
                .where(
                    (_message_media.c.message_id == message_id)
                    & (_message_media.c.state == MediaState.PENDING.value)
                    & (_message_media.c.attempts == row.attempts)
                )
                .values(attempts=attempt, next_attempt_at=now + retry.wait_after(attempt), updated_at=now)
            )
        return attempt if taken.rowcount == 1 else None

    async def next_media_attempt(self, chat_id: int) -> datetime | None:
        """When the chat's next pending attachment may be tried again (``None``: none is waiting)."""
        query = (
            select(func.min(_message_media.c.next_attempt_at))
            .select_from(_message_media.join(_messages, _messages.c.id == _message_media.c.message_id))
            .where((_messages.c.chat_id == chat_id) & (_message_media.c.state == MediaState.PENDING.value))
        )
        async with self._engine.connect() as connection:
            found = (await connection.execute(query)).scalar()
        return found if isinstance(found, datetime) else None  # min() keeps the column's aware type

    async def chats_with_media_due(self, now: datetime, limit: int = 500) -> list[int]:
        """Chats with an attachment whose retry is due (its job was lost with a restart, say)."""
        query = (
            select(_messages.c.chat_id)
            .select_from(_message_media.join(_messages, _messages.c.id == _message_media.c.message_id))
            .where(
                (_message_media.c.state == MediaState.PENDING.value)
                & (_message_media.c.next_attempt_at <= now)
            )
            .group_by(_messages.c.chat_id)
            .order_by(_messages.c.chat_id)
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            return [int(row[0]) for row in (await connection.execute(query)).all()]

    async def message_id(self, account_id: int, message_key: str) -> int | None:
        """The id of the message stored under ``message_key`` on the account, ``None`` if none is."""
        query = select(_messages.c.id).where(
            (_messages.c.account_id == account_id) & (_messages.c.message_key == message_key)
        )
        async with self._engine.connect() as connection:
            found = (await connection.execute(query)).scalar()
        return None if found is None else int(found)

    async def save_media(self, media: MessageMedia) -> None:
        async with self._engine.begin() as connection:
            if media.sha256 is not None:
                await connection.execute(
                    upsert_insert(self._engine, _blobs)
                    .values(sha256=media.sha256, path=media.path, mime=media.mime[:128], size=media.size or 0)
                    .on_conflict_do_nothing(index_elements=["sha256"])
                )
            statement = upsert_insert(self._engine, _message_media).values(
                message_id=media.message_id, state=media.state.value, sha256=media.sha256, updated_at=utcnow()
            )
            await connection.execute(
                statement.on_conflict_do_update(
                    index_elements=["message_id"],
                    set_={"state": media.state.value, "sha256": media.sha256, "updated_at": utcnow()},
                )
            )
            await mark_changed(connection, [media.message_id])

    async def media_of(self, message_ids: list[int]) -> dict[int, MessageMedia]:
        if not message_ids:
            return {}
        query = (
            select(_message_media, _blobs.c.path, _blobs.c.mime, _blobs.c.size)
            .select_from(_message_media.outerjoin(_blobs, _blobs.c.sha256 == _message_media.c.sha256))
            .where(_message_media.c.message_id.in_(message_ids))
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return {row["message_id"]: _media(row) for row in rows}

    async def media_not_uploaded(
        self, chat_id: int, company_id: int, target: str, target_id: int
    ) -> list[tuple[SyncMessage, MessageMedia]]:
        from server.storage.sync_days import message_columns, sync_message

        uploaded = and_(
            _uploads.c.sha256 == _message_media.c.sha256,
            _uploads.c.company_id == company_id,
            _uploads.c.target == target,
            _uploads.c.target_id == target_id,
        )
        query = (
            select(
                *message_columns(),
                _message_media.c.state,
                _message_media.c.sha256,
                _blobs.c.path,
                _blobs.c.mime,
                _blobs.c.size,
            )
            .select_from(
                _messages.join(_message_media, _message_media.c.message_id == _messages.c.id)
                .join(_blobs, _blobs.c.sha256 == _message_media.c.sha256)
                .outerjoin(_uploads, uploaded)
            )
            .where(
                (_messages.c.chat_id == chat_id)
                & (_message_media.c.state == MediaState.STORED.value)
                & _uploads.c.id.is_(None)
            )
            .order_by(_messages.c.id)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        found: dict[str, tuple[SyncMessage, MessageMedia]] = {}
        for row in rows:  # one upload per blob, however many messages carry it
            found.setdefault(row["sha256"], (sync_message(row), _media(row)))
        return list(found.values())

    async def save_upload(
        self, company_id: int, sha256: str, target: str, target_id: int, file_id: int
    ) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                upsert_insert(self._engine, _uploads)
                .values(
                    company_id=company_id,
                    sha256=sha256,
                    target=target,
                    target_id=target_id,
                    file_id=file_id,
                    created_at=utcnow(),
                )
                .on_conflict_do_nothing(index_elements=["company_id", "sha256", "target", "target_id"])
            )

    async def uploads(self, company_id: int) -> list[tuple[str, str, int, int]]:
        """``(sha256, target, target id, file id)`` of every upload (for checks and the status page)."""
        query = select(_uploads.c.sha256, _uploads.c.target, _uploads.c.target_id, _uploads.c.file_id).where(
            _uploads.c.company_id == company_id
        )
        async with self._engine.connect() as connection:
            return [tuple(row) for row in (await connection.execute(query)).all()]

    async def forget_media_state(self, message_id: int) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(_message_media)
                .where(_message_media.c.message_id == message_id)
                .values(state="pending")
            )


def _media(row: object) -> MessageMedia:
    values = dict(row)  # type: ignore[call-overload]
    return MessageMedia(
        message_id=values.get("message_id") or values.get("id") or 0,
        state=MediaState(values["state"]),
        sha256=values.get("sha256"),
        size=values.get("size"),
        mime=values.get("mime") or "",
        path=values.get("path") or "",
    )
