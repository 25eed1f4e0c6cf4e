"""Keeping an attachment we sent: its bytes are stored as the sent message's attachment, and the Person or
Deal whose Files it came from (Pipedrive says where the file is) counts as having it."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from server.domain.errors import NotFound, Transient
from server.domain.models import OutboxEntry, OutboxStatus
from server.domain.sync import MediaState, MessageMedia
from server.domain.whatsapp import MediaKind, OutboundMedia
from server.services.deliver import SentAttachment
from server.services.sent_media import file_places_cache, keep_sent_attachment

OFFER = b"%PDF-1.7 the offer"
MEDIA = OutboundMedia(kind=MediaKind.DOCUMENT, mime="application/pdf", filename="offer.pdf", data=OFFER)


def sent(file_id: int | None = 99, media: OutboundMedia = MEDIA) -> SentAttachment:
    row = OutboxEntry(
        id=17, client_ref="ref-17", company_id=3, account_id=5, requested_by=42, to_chat="+4917655501234",
        person_id=11, deal_id=None, text="See attached", file_id=file_id, file_name="offer.pdf",
        status=OutboxStatus.SENT, attempts=1, attempt_started_at=None, wa_message_id="3EB0ABC",
        message_key="wp-acme/out/3EB0ABC", error_reason="", error_message="",
        created_at=datetime(2026, 12, 6, 9, 0, tzinfo=UTC),
    )  # fmt: skip
    return SentAttachment(row, 5, "wp-acme/out/3EB0ABC", media)


@dataclass
class Store:
    stored: dict[tuple[int, str], int] = field(default_factory=lambda: {(5, "wp-acme/out/3EB0ABC"): 700})
    media: list[MessageMedia] = field(default_factory=list)
    uploads: list[tuple[int, str, str, int, int]] = field(default_factory=list)

    async def message_id(self, account_id: int, message_key: str) -> int | None:
        return self.stored.get((account_id, message_key))

    async def save_media(self, media: MessageMedia) -> None:
        self.media.append(media)

    async def save_upload(
        self, company_id: int, sha256: str, target: str, target_id: int, file_id: int
    ) -> None:
        self.uploads.append((company_id, sha256, target, target_id, file_id))


@dataclass
class Disk:
    saved: list[bytes] = field(default_factory=list)

    async def save(self, chunks: AsyncIterator[bytes]) -> tuple[str, int, str]:
        data = b"".join([chunk async for chunk in chunks])
        self.saved.append(data)
        return hashlib.sha256(data).hexdigest(), len(data), f"/media/{len(self.saved)}"

    async def read(self, path: str) -> bytes:
        raise AssertionError("keeping never reads")


@dataclass
class Pipedrive:
    answer: Any
    asked: list[tuple[int, int]] = field(default_factory=list)

    async def for_company(self, company_id: int) -> Pipedrive:
        self.company = company_id
        return self

    @property
    def files(self) -> Pipedrive:
        return self

    async def get(self, file_id: int) -> Any:
        self.asked.append((self.company, file_id))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


SHA = hashlib.sha256(OFFER).hexdigest()
AT = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


async def test_the_bytes_are_kept_and_where_the_file_is_counts_as_uploaded() -> None:
    store, disk = Store(), Disk()
    pipedrive = Pipedrive(SimpleNamespace(id=99, person_id=11, deal_id=4))
    kept = await keep_sent_attachment(store, disk, pipedrive, sent())
    assert pipedrive.asked == [(3, 99)]
    assert disk.saved == [OFFER]
    assert kept == MessageMedia(700, MediaState.STORED, SHA, len(OFFER), "application/pdf", "/media/1")
    assert store.media == [kept]
    assert store.uploads == [(3, SHA, "person", 11, 99), (3, SHA, "deal", 4, 99)]


async def test_where_a_file_is_is_asked_once_per_ten_minutes() -> None:
    """A campaign's attachment goes to every recipient: Pipedrive is asked where it is once."""
    known = file_places_cache()
    pipedrive = Pipedrive(SimpleNamespace(id=99, person_id=None, deal_id=None))  # in no Person's Files
    for _ in range(3):
        await keep_sent_attachment(Store(), Disk(), pipedrive, sent(), known=known, now=AT)
    assert pipedrive.asked == [(3, 99)]
    later = AT + timedelta(minutes=10)
    await keep_sent_attachment(Store(), Disk(), pipedrive, sent(), known=known, now=later)
    assert pipedrive.asked == [(3, 99), (3, 99)]


async def test_a_file_pipedrive_did_not_answer_for_is_asked_about_again() -> None:
    known = file_places_cache()
    failing = Pipedrive(Transient("later", reason="rate_limited"))
    await keep_sent_attachment(Store(), Disk(), failing, sent(), known=known, now=AT)
    answering = Pipedrive(SimpleNamespace(id=99, person_id=11, deal_id=None))
    store = Store()
    await keep_sent_attachment(store, Disk(), answering, sent(), known=known, now=AT)
    assert answering.asked == [(3, 99)] and store.uploads == [(3, SHA, "person", 11, 99)]


async def test_a_file_only_on_a_person_counts_there_only() -> None:
    store = Store()
    await keep_sent_attachment(
        store, Disk(), Pipedrive(SimpleNamespace(id=99, person_id=None, deal_id=4)), sent()
    )
    assert store.uploads == [(3, SHA, "deal", 4, 99)]


@pytest.mark.parametrize(
    "error", [NotFound("gone", reason="not_found"), Transient("later", reason="rate_limited")]
)
async def test_a_file_pipedrive_does_not_answer_for_is_kept_to_be_uploaded_by_the_sync(
    error: Exception,
) -> None:
    store = Store()
    kept = await keep_sent_attachment(store, Disk(), Pipedrive(error), sent())
    assert kept is not None and store.media == [kept]
    assert store.uploads == []


async def test_an_uploaded_file_or_no_pipedrive_asks_nothing() -> None:
    pipedrive = Pipedrive(AssertionError("not asked"))
    store = Store()
    assert await keep_sent_attachment(store, Disk(), pipedrive, sent(file_id=None)) is not None
    assert await keep_sent_attachment(store, Disk(), None, sent()) is not None
    assert pipedrive.asked == [] and store.uploads == []


async def test_nothing_is_kept_for_a_message_not_stored_or_a_link_the_transport_fetched() -> None:
    store, disk = Store(stored={}), Disk()
    pipedrive = Pipedrive(SimpleNamespace(id=99, person_id=11, deal_id=None))
    assert await keep_sent_attachment(store, disk, pipedrive, sent()) is None
    assert pipedrive.asked == []  # nothing to keep: Pipedrive is not asked where the file is
    link = OutboundMedia(
        kind=MediaKind.IMAGE, mime="image/png", filename="a.png", url="https://example.test/a.png"
    )
    assert await keep_sent_attachment(Store(), disk, None, sent(file_id=None, media=link)) is None
    assert disk.saved == []
