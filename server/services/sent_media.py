"""Attachments we sent: the send job holds their bytes (a Pipedrive file chosen in the panel, a file
uploaded in the chat view), so they are kept at once like a downloaded attachment, by content hash, and
never wait for a download from the gateway. The sync engine then links them in the transcript and uploads
them to the Person's and the Deal's Files like any other attachment; where the file already is in
Pipedrive (the Person or Deal it was chosen from or uploaded to) it counts as uploaded, so no second copy
is made there. Where the file is, Pipedrive says (``files.get``): a file we cannot look up is uploaded by the
sync like any attachment."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from server.domain.errors import WaPipeError
from server.domain.ports.pipedrive import PipedriveForCompany, WithFiles
from server.domain.ports.storage import MediaFiles
from server.domain.sync import MediaState, MessageMedia
from server.domain.ttl_cache import TtlCache
from server.services.deliver import SentAttachment

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FileInPipedrive:
    """Where a file we sent already is in Pipedrive's Files: ``target`` is "person" or "deal"."""

    target: str
    target_id: int
    file_id: int


class SentMediaStore(Protocol):
    async def message_id(self, account_id: int, message_key: str) -> int | None:
        """The stored message's id, ``None`` when no such message is stored."""
        ...

    async def save_media(self, media: MessageMedia) -> None: ...

    async def save_upload(
        self, company_id: int, sha256: str, target: str, target_id: int, file_id: int
    ) -> None: ...


FilePlaces = TtlCache[tuple[int, int], tuple[FileInPipedrive, ...]]  # (company, file id) → where it is
PLACES_KEPT_FOR = timedelta(minutes=10)


def file_places_cache() -> FilePlaces:
    return TtlCache(PLACES_KEPT_FOR, 256)


async def keep_sent_attachment(
    store: SentMediaStore,
    files: MediaFiles,
    pipedrive: PipedriveForCompany[WithFiles] | None,
    sent: SentAttachment,
    *,
    known: FilePlaces | None = None,
    now: datetime | None = None,
) -> MessageMedia | None:
    """After a send with an attachment: keep its bytes as the stored message's attachment, noting where the
    Pipedrive file it came from already is, so the sync engine neither reports it as expired nor uploads a
    second copy there. ``None`` when the message is not stored or the transport fetched the attachment from
    a link itself (then Pipedrive is not asked either). Where a file is, once asked, is kept in ``known``
    (at ``now``) for the next send of the same file: a campaign's attachment is looked up once per worker."""
    entry, media = sent.entry, sent.media
    if media.data is None:
        return None
    message_id = await store.message_id(sent.account_id, sent.message_key)
    if message_id is None:
        return None
    sha256, size, path = await files.save(_chunks(media.data))
    if entry.file_id is not None and pipedrive is not None:
        key = (entry.company_id, entry.file_id)
        places = known.get(key, now) if known is not None and now is not None else None
        if places is None:
            places = await _places_of(pipedrive, entry.company_id, entry.file_id)
            if known is not None and now is not None and places is not None:
                known.put(key, now, places)
        for place in places or ():
            await store.save_upload(entry.company_id, sha256, place.target, place.target_id, place.file_id)
    kept = MessageMedia(message_id, MediaState.STORED, sha256, size, media.mime, path)
    await store.save_media(kept)
    return kept


async def _places_of(
    pipedrive: PipedriveForCompany[WithFiles], company_id: int, file_id: int
) -> tuple[FileInPipedrive, ...] | None:
    """Where Pipedrive says the file is; ``None`` when it did not say (asked again next time)."""
    try:
        client = await pipedrive.for_company(company_id)
        stored = await client.files.get(file_id)
    except WaPipeError as error:  # not known where it is: the sync uploads it like any attachment
        log.info("file %s of a sent message not looked up (%s)", file_id, error.reason)
        return None
    places = (("person", stored.person_id), ("deal", stored.deal_id))
    return tuple(
        FileInPipedrive(target, target_id, stored.id) for target, target_id in places if target_id is not None
    )


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data
