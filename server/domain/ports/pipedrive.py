"""Ports on the Pipedrive side: the company's Pipedrive as the sync engine uses it (``server.pipedrive``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from server.domain.sync import (
    ActivityWrite,
    CrmActivity,
    CrmDeal,
    CrmFile,
    CrmLead,
    CrmPerson,
    CrmUser,
    NewDeal,
    NewPerson,
)

ClientT_co = TypeVar("ClientT_co", covariant=True)


class PipedriveForCompany(Protocol[ClientT_co]):
    """The company's admin installation as a client (``server.pipedrive.connector`` implements it, with
    ``PipedriveClient`` as the client; ``server.pipedrive.sync_adapter`` turns that into a ``CrmGateway``).

    Raises a ``Permanent`` error (``NeedsReauth``, not installed) when the company has no usable one.
    """

    async def for_company(self, company_id: int) -> ClientT_co: ...


class CrmGateway(Protocol):
    """Pipedrive as the sync engine uses it, for one company (the admin installation's client).

    Errors are the domain's: ``Transient`` (retry; ``BudgetExhausted`` defers to ``retry_after``),
    ``NotFound``, ``NeedsReauth`` and other ``Permanent`` ones.
    """

    async def search_persons(self, term: str, *, exact: bool, field: str = "phone") -> list[CrmPerson]:
        """One ``persons/search`` call (20 tokens, 10 per 2 s); phones as typed."""
        ...

    def persons_updated_since(self, since: datetime | None, link_field_key: str) -> AsyncIterator[CrmPerson]:
        """Every Person changed since ``since`` (all of them for ``None``), deleted ones flagged."""
        ...

    async def create_person(self, person: NewPerson) -> CrmPerson: ...

    async def person(self, person_id: int) -> CrmPerson | None:
        """The Person as Pipedrive has it now; ``None`` when it has none by that id (deleted long ago)."""
        ...

    async def set_person_field(self, person_id: int, key: str, value: str) -> None: ...

    async def open_deals(self, person_id: int, link_field_key: str) -> list[CrmDeal]:
        """The Person's open deals, most recently updated first."""
        ...

    def deals_updated_since(self, since: datetime | None, link_field_key: str) -> AsyncIterator[CrmDeal]:
        """Every open Deal for ``None``; else every Deal (any status) changed since ``since``."""
        ...

    async def first_stage(self, pipeline_id: int | None) -> tuple[int, int]:
        """``(pipeline id, first stage id)`` of the pipeline, or of the default one for ``None``."""
        ...

    async def create_deal(self, deal: NewDeal) -> CrmDeal: ...

    async def set_deal_field(self, deal_id: int, key: str, value: str) -> None: ...

    async def create_lead(self, title: str, person_id: int, owner_id: int | None) -> CrmLead: ...

    async def leads_of_person(self, person_id: int) -> list[CrmLead]: ...

    async def find_activity_type(self) -> str | None:
        """The ``key_string`` of the "WhatsApp chat" activity type, reactivated if it was deactivated."""
        ...

    async def create_activity_type(self) -> str:
        """The "WhatsApp chat" type's ``key_string``, created unless a lookup finds it first."""
        ...

    async def find_field(self, entity: str) -> str | None:
        """The key of the "WhatsApp chat link" field on ``entity`` ("person" or "deal")."""
        ...

    async def create_field(self, entity: str) -> str:
        """The field's key, created unless a lookup finds it first."""
        ...

    async def users(self) -> list[CrmUser]: ...

    async def create_activity(self, activity: ActivityWrite) -> int: ...

    async def update_activity(self, activity_id: int, activity: ActivityWrite) -> None:
        """``NotFound`` when the activity was deleted in Pipedrive."""
        ...

    async def delete_activity(self, activity_id: int) -> None: ...

    async def activities_of_person(self, person_id: int, *, since: datetime | None) -> list[CrmActivity]:
        """The Person's activities changed since ``since`` (to find one whose create was not recorded)."""
        ...

    async def upload_file(
        self,
        content: bytes,
        *,
        filename: str,
        mime: str,
        person_id: int | None = None,
        deal_id: int | None = None,
    ) -> int: ...

    async def files_of(self, target: str, target_id: int) -> list[CrmFile]: ...

    async def delete_file(self, file_id: int) -> None:
        """Delete a file from Pipedrive's Files; ``NotFound`` when it is gone already."""
        ...


class PersonSearch(Protocol):
    """Pipedrive's Person search (the settings page's matching preview looks numbers up with it)."""

    async def search_persons(self, term: str, *, exact: bool, field: str = "phone") -> list[CrmPerson]: ...


class PersonWriter(PersonSearch, Protocol):
    """Search and create Persons with several phones (the Person behind a shared contact card)."""

    async def create_person_with_phones(
        self, name: str, phones: Sequence[str], owner_id: int | None
    ) -> CrmPerson: ...


class FileWhere(Protocol):
    """Where a file in Pipedrive's Files is (``server.pipedrive.records.StoredFile``)."""

    @property
    def id(self) -> int: ...

    @property
    def person_id(self) -> int | None: ...

    @property
    def deal_id(self) -> int | None: ...


class FileDownloads(Protocol):
    """Pipedrive's Files, read by id (``server.pipedrive.files.FilesApi``)."""

    async def get(self, file_id: int) -> FileWhere:
        """The file's record: the Person and Deal it is on; ``NotFound`` when it was deleted."""
        ...

    async def download(self, file_id: int) -> bytes:
        """The file's bytes; ``NotFound`` when it was deleted."""
        ...


class WithFiles(Protocol):
    """A company's Pipedrive client as the send job reads attachments through it (``PipedriveClient``)."""

    @property
    def files(self) -> FileDownloads: ...
