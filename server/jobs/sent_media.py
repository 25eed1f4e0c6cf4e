"""The send job's step after a send with an attachment: keep what we sent (``server.services.sent_media``),
noting where the Pipedrive file it came from already is, so the sync engine neither reports it as
expired nor uploads a second copy there."""

from __future__ import annotations

import logging

from server.domain.errors import WaPipeError
from server.jobs.deps import JobDeps
from server.services.deliver import SentAttachment
from server.services.sent_media import FileInPipedrive, keep_sent_media

log = logging.getLogger(__name__)


async def keep_sent_attachment(deps: JobDeps, sent: SentAttachment) -> None:
    if deps.media_files is None:
        return
    entry = sent.entry
    already_in: tuple[FileInPipedrive, ...] = ()
    if entry.file_id is not None and deps.pipedrive is not None:
        try:
            client = await deps.pipedrive.for_company(entry.company_id)
            stored = await client.files.get(entry.file_id)
        except WaPipeError as error:  # not known where it is: the sync uploads it like any attachment
            log.info("file %s of a sent message not looked up (%s)", entry.file_id, error.reason)
        else:
            places = (("person", stored.person_id), ("deal", stored.deal_id))
            already_in = tuple(FileInPipedrive(t, i, stored.id) for t, i in places if i is not None)
    await keep_sent_media(
        deps.sync_store,
        deps.media_files,
        company_id=entry.company_id,
        account_id=sent.account_id,
        message_key=sent.message_key,
        media=sent.media,
        already_in=already_in,
    )
