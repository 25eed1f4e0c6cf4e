"""Ports of the sync engine's state (``SyncStore`` and the stores it joins) and of the stored phone index
as the sync engine, the settings page and shared contact cards read it; implemented in ``server.storage``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Protocol

from server.domain.link_recheck import MatchedLink
from server.domain.matching import PersonPhones
from server.domain.message_changes import (
    PendingChange,
    ReactionLine,
)
from server.domain.sync import (
    ChatLink,
    CrmPerson,
    DayPart,
    DirtyDay,
    IntentClaim,
    MediaRetry,
    MessageMedia,
    SyncChat,
    SyncMessage,
    SyncProblem,
    SyncSettings,
)


class PhoneIndexStore(Protocol):
    """The persisted phone index: a company's Persons and their phones, with the ``updated_since`` mark,
    shared by every worker; its full listing is leased, so one worker lists a company's Persons at a time."""

    async def is_built(self, company_id: int) -> bool:
        """Whether the company's Persons were listed in full once (then a cold worker reads them here)."""
        ...

    async def claim_listing(self, company_id: int, *, owner: str, lease: timedelta, now: datetime) -> bool:
        """Take the company's full listing (``False`` while another owner's lease runs)."""
        ...

    async def renew_listing(self, company_id: int, *, owner: str, until: datetime) -> bool: ...

    async def finish_listing(
        self, company_id: int, *, owner: str, watermark: datetime | None, listed_at: datetime
    ) -> None:
        """Record a complete listing (built, its watermark, when) and free its lease."""
        ...

    async def release_listing(self, company_id: int, *, owner: str) -> None: ...

    async def listed_at(self, company_id: int) -> datetime | None: ...

    async def watermark(self, company_id: int) -> datetime | None: ...

    async def set_watermark(self, company_id: int, watermark: datetime | None) -> None:
        """Record the newest ``update_time`` applied (and that the index has been built)."""
        ...

    async def persons(self, company_id: int) -> list[PersonPhones]: ...

    async def save_persons(self, company_id: int, persons: Iterable[CrmPerson]) -> None: ...

    async def person_name(self, company_id: int, person_id: int) -> str | None: ...

    async def link_value(self, company_id: int, person_id: int) -> str | None: ...

    async def set_link_value(self, company_id: int, person_id: int, value: str) -> None: ...


class PhoneIndexReader(Protocol):
    """The stored phone index as the settings page reads it (matching preview, re-check list)."""

    async def is_built(self, company_id: int) -> bool: ...

    async def persons(self, company_id: int) -> list[PersonPhones]: ...

    async def person_name(self, company_id: int, person_id: int) -> str | None: ...


class ContactCardIndex(Protocol):
    """The stored phone index as shared contact cards read it and add the Persons they create to it."""

    async def persons(self, company_id: int) -> list[PersonPhones]: ...

    async def person_name(self, company_id: int, person_id: int) -> str | None: ...

    async def save_persons(self, company_id: int, persons: Sequence[CrmPerson]) -> None: ...


class MatchedLinks(Protocol):
    """Chat links made by matching, a page at a time in chat-id order (the settings page's re-check list)."""

    async def matched_links(self, company_id: int, *, after: int, limit: int) -> list[MatchedLink]: ...


class IntentStore(Protocol):
    """The write-ahead intents of creates in Pipedrive, shared with the sync engine (``SyncStore``)."""

    async def claim_intent(
        self, company_id: int, key: str, *, owner: str, lease: timedelta, now: datetime
    ) -> IntentClaim | None: ...

    async def complete_intent(self, key: str, result: str, *, now: datetime) -> None: ...

    async def release_intent(self, key: str) -> None: ...


class SyncChatStore(Protocol):
    """Chats as the sync engine sees them, with their account and company."""

    async def chat(self, chat_id: int) -> SyncChat | None: ...

    async def chat_by_key(self, account_id: int, chat_key: str) -> SyncChat | None: ...

    async def successor_chat(self, chat_id: int) -> int | None:
        """The chat a merged-away ``@lid`` chat now lives in."""
        ...


class ChatLinkStore(Protocol):
    """Each chat's link to Pipedrive and how far the engine has read the chat."""

    async def link(self, chat: SyncChat) -> ChatLink:
        """The chat's link, created on first use; adopts what was synced for a merged ``@lid`` chat."""
        ...

    async def save_link(self, link: ChatLink) -> None: ...

    async def chats_linked_to(self, company_id: int, person_id: int) -> list[int]:
        """The company's chats whose link names the Person."""
        ...


class ChatLeaseStore(Protocol):
    """One sync run at a time per chat."""

    async def acquire_chat(self, chat: SyncChat, *, owner: str, lease: timedelta, now: datetime) -> bool:
        """Take the chat's lease (``False`` while another owner holds it)."""
        ...

    async def release_chat(self, chat_id: int, *, owner: str) -> None: ...

    async def renew_chat(self, chat_id: int, *, owner: str, until: datetime) -> bool:
        """Hold the chat (and the creates ``owner`` has in flight) until ``until``; ``False`` when the
        chat's lease is no longer ``owner``'s."""
        ...

    async def abandoned_chats(self, now: datetime, limit: int = 500) -> list[int]:
        """Chats whose lease ran out without being released: their run's worker died."""
        ...


class SyncSettingsStore(Protocol):
    """The company's settings and the installations the engine writes as."""

    async def settings(self, company_id: int) -> SyncSettings: ...

    async def save_setup_keys(self, company_id: int, changes: dict[str, str]) -> None: ...

    async def installation_email(self, company_id: int, pipedrive_user_id: int) -> str | None: ...

    async def admin_user_id(self, company_id: int) -> int | None: ...


class SyncIntentStore(IntentStore, Protocol):
    """The intents as the sync engine also uses them: a Person deleted in Pipedrive forgets its creates."""

    async def forget_person_intents(self, company_id: int, person_id: int) -> None:
        """Drop completed Person creates whose result is ``person_id`` (a Person deleted in Pipedrive)."""
        ...


class DayStore(Protocol):
    """The chat's messages as the engine reads them, and its day activities (dirty flags, parts)."""

    async def messages_after(self, chat_id: int, cursor: int) -> list[SyncMessage]: ...

    async def has_unseen_messages(self, chat_id: int, cursor: int) -> bool: ...

    async def messages_between(self, chat_id: int, start: datetime, end: datetime) -> list[SyncMessage]: ...

    async def mark_days_dirty(
        self,
        chat_id: int,
        days: Iterable[date],
        *,
        now: datetime,
        cursor: int | None,
        arrived: Mapping[date, datetime] | None = None,
    ) -> None:
        """Mark the days dirty and (atomically) advance the chat's cursor to ``cursor``; ``arrived``: per
        day, when its oldest new live message arrived (a day keeps the oldest until it is written)."""
        ...

    async def mark_written_days_dirty(self, chat_id: int, *, now: datetime) -> None: ...

    async def has_dirty_days(self, chat_id: int, *, due_before: datetime) -> bool: ...

    async def dirty_days(self, chat_id: int, *, due_before: datetime) -> list[DirtyDay]: ...

    async def clear_dirty(self, chat_id: int, day: date, version: int) -> None:
        """Clear the flag only if the day is still at ``version``."""
        ...

    async def clear_all_dirty(self, chat_id: int) -> None: ...

    async def day_parts(self, chat_id: int, day: date) -> list[DayPart]: ...

    async def save_part(self, part: DayPart) -> None: ...

    async def drop_part(self, chat_id: int, day: date, part: int) -> None: ...


class ChangeStore(Protocol):
    """Edits, deletions and reactions waiting to reach the chat's day activities and files."""

    async def pending_changes(self, chat_id: int) -> list[PendingChange]:
        """The chat's messages edited or deleted since their day was last marked dirty, oldest first."""
        ...

    async def drop_changes(self, chat_id: int, change_ids: Sequence[int]) -> None: ...

    async def file_deletions(self, chat_id: int) -> list[tuple[int, int]]:
        """(entry id, Pipedrive file id) of the chat's uploaded files whose messages were deleted."""
        ...

    async def drop_file_deletion(self, entry_id: int) -> None: ...

    async def reactions_between(self, chat_id: int, start: datetime, end: datetime) -> list[ReactionLine]:
        """The chat's reactions made in [start, end), each with a quote of its message."""
        ...


class MediaStore(Protocol):
    """Attachments: their downloads (with retries) and their uploads to Pipedrive's Files."""

    async def pending_media(self, chat_id: int, *, due_at: datetime) -> list[SyncMessage]:
        """Messages whose attachment is not downloaded yet and may be tried by ``due_at``."""
        ...

    async def claim_media_attempt(self, message_id: int, *, now: datetime, retry: MediaRetry) -> int | None:
        """Take the attachment's next download: its number, or ``None`` when not due or taken."""
        ...

    async def next_media_attempt(self, chat_id: int) -> datetime | None: ...

    async def save_media(self, media: MessageMedia) -> None: ...

    async def media_of(self, message_ids: list[int]) -> dict[int, MessageMedia]: ...

    async def media_not_uploaded(
        self, chat_id: int, company_id: int, target: str, target_id: int
    ) -> list[tuple[SyncMessage, MessageMedia]]: ...

    async def save_upload(
        self, company_id: int, sha256: str, target: str, target_id: int, file_id: int
    ) -> None: ...


class WaitingDays(Protocol):
    """The chats with days waiting to be written, for the batch flush and the settings page."""

    async def dirty_chats(
        self, *, due_before: datetime, company_id: int | None = None, limit: int = 500
    ) -> list[tuple[int, int, datetime]]:
        """``(chat id, company id, oldest dirty change)``, of one company when ``company_id`` is given."""
        ...

    async def settings(self, company_id: int) -> SyncSettings: ...


class ProblemStore(Protocol):
    """Failures for the company's admins."""

    async def record_problem(self, problem: SyncProblem) -> None:
        """A failure for the company's admins (the settings page lists open ones)."""
        ...


class SyncStore(
    SyncChatStore,
    ChatLinkStore,
    ChatLeaseStore,
    SyncSettingsStore,
    SyncIntentStore,
    DayStore,
    ChangeStore,
    MediaStore,
    ProblemStore,
    Protocol,
):
    """The sync engine's state, one object over the stores above (the engine receives it whole).

    Every write is idempotent; leases and compare-and-set versions keep concurrent workers apart.
    """
