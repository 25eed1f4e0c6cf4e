"""What the Pipedrive client returns for people and sales: users, persons, deals, pipelines, leads.

Activities, files, notes, fields and webhooks are in :mod:`server.pipedrive.records`.

Parsers accept missing keys and ``null`` (Pipedrive omits or nulls many fields) and never raise on extra keys.
Request bodies are TypedDicts so mypy checks that callers send v2's types (numbers as numbers).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

T = TypeVar("T")


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, Mapping):
        return as_int(value.get("id") if "id" in value else value.get("value"))
    return None


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def as_bool(value: Any) -> bool:
    return value is True or value == 1


def as_dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: ``next_cursor`` (v2) or ``next_start`` (v1) is ``None`` on the last page."""

    items: tuple[T, ...]
    next_cursor: str | None = None
    next_start: int | None = None


@dataclass(frozen=True)
class ContactValue:
    """A person's phone or email entry."""

    value: str
    primary: bool = False
    label: str | None = None

    @classmethod
    def parse(cls, raw: Any) -> ContactValue | None:
        if isinstance(raw, str):
            return cls(value=raw)
        if isinstance(raw, Mapping) and isinstance(raw.get("value"), str) and raw["value"]:
            return cls(
                value=raw["value"], primary=as_bool(raw.get("primary")), label=as_str(raw.get("label"))
            )
        return None


def _contacts(raw: Any) -> tuple[ContactValue, ...]:
    parsed = (ContactValue.parse(item) for item in as_list(raw))
    return tuple(item for item in parsed if item is not None)


@dataclass(frozen=True)
class User:
    id: int
    name: str
    email: str
    active: bool = True
    is_admin: bool = False
    timezone_name: str | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> User:
        access = [as_dict(item) for item in as_list(raw.get("access"))]
        is_admin = as_bool(raw.get("is_admin")) or any(as_bool(item.get("admin")) for item in access)
        return cls(
            id=as_int(raw.get("id")) or 0,
            name=as_str(raw.get("name")) or "",
            email=as_str(raw.get("email")) or "",
            active=as_bool(raw.get("active_flag", True)) and not as_bool(raw.get("is_deleted")),
            is_admin=is_admin,
            timezone_name=as_str(raw.get("timezone_name")),
        )


@dataclass(frozen=True)
class CurrentUser:
    """``GET /api/v1/users/me``: who installed the app, and in which company."""

    id: int
    company_id: int
    name: str
    email: str
    company_name: str
    company_domain: str
    timezone_name: str | None
    is_admin: bool
    language: str = ""  # the language the user reads Pipedrive in ("ja"), from language.language_code

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> CurrentUser:
        user = User.parse(raw)
        return cls(
            id=user.id,
            company_id=as_int(raw.get("company_id")) or 0,
            name=user.name,
            email=user.email,
            company_name=as_str(raw.get("company_name")) or "",
            company_domain=as_str(raw.get("company_domain")) or "",
            timezone_name=user.timezone_name,
            is_admin=user.is_admin,
            language=_language_code(raw),
        )


def _language_code(raw: Mapping[str, Any]) -> str:
    """``language.language_code`` (``ja``), else the language part of ``locale`` (``ja_JP``), else ""."""
    language = raw.get("language")
    code = as_str(language.get("language_code")) if isinstance(language, Mapping) else None
    if not code:
        code = (as_str(raw.get("locale")) or "").partition("_")[0]
    return (code or "").lower()[:16]


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    owner_id: int | None = None
    org_id: int | None = None
    phones: tuple[ContactValue, ...] = ()
    emails: tuple[ContactValue, ...] = ()
    custom_fields: Mapping[str, Any] = field(default_factory=dict)
    is_deleted: bool = False
    update_time: str | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Person:
        return cls(
            id=as_int(raw.get("id")) or 0,
            name=as_str(raw.get("name")) or "",
            owner_id=as_int(raw.get("owner_id")),
            org_id=as_int(raw.get("org_id")),
            phones=_contacts(raw.get("phones")),
            emails=_contacts(raw.get("emails")),
            custom_fields=as_dict(raw.get("custom_fields")),
            is_deleted=as_bool(raw.get("is_deleted")),
            update_time=as_str(raw.get("update_time")),
        )


@dataclass(frozen=True)
class PersonHit:
    """One ``persons/search`` result; phones here are plain strings as typed into Pipedrive."""

    id: int
    name: str
    phones: tuple[str, ...]
    emails: tuple[str, ...]
    owner_id: int | None
    organization_id: int | None
    score: float

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> PersonHit:
        item = as_dict(raw.get("item"))
        score = raw.get("result_score")
        return cls(
            id=as_int(item.get("id")) or 0,
            name=as_str(item.get("name")) or "",
            phones=tuple(p.value for p in _contacts(item.get("phones"))),
            emails=tuple(e.value for e in _contacts(item.get("emails"))),
            owner_id=as_int(item.get("owner")),
            organization_id=as_int(item.get("organization")),
            score=float(score) if isinstance(score, int | float) else 0.0,
        )


@dataclass(frozen=True)
class DealHit:
    """One ``deals/search`` result: the Deal's title, status and its Person's name."""

    id: int
    title: str
    status: str
    person_name: str

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> DealHit:
        item = as_dict(raw.get("item"))
        return cls(
            id=as_int(item.get("id")) or 0,
            title=as_str(item.get("title")) or "",
            status=as_str(item.get("status")) or "",
            person_name=as_str(as_dict(item.get("person")).get("name")) or "",
        )


@dataclass(frozen=True)
class Deal:
    id: int
    title: str
    person_id: int | None = None
    org_id: int | None = None
    owner_id: int | None = None
    pipeline_id: int | None = None
    stage_id: int | None = None
    status: str | None = None
    value: float | None = None
    currency: str | None = None
    custom_fields: Mapping[str, Any] = field(default_factory=dict)
    is_deleted: bool = False

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Deal:
        value = raw.get("value")
        return cls(
            id=as_int(raw.get("id")) or 0,
            title=as_str(raw.get("title")) or "",
            person_id=as_int(raw.get("person_id")),
            org_id=as_int(raw.get("org_id")),
            owner_id=as_int(raw.get("owner_id")),
            pipeline_id=as_int(raw.get("pipeline_id")),
            stage_id=as_int(raw.get("stage_id")),
            status=as_str(raw.get("status")),
            value=float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None,
            currency=as_str(raw.get("currency")),
            custom_fields=as_dict(raw.get("custom_fields")),
            is_deleted=as_bool(raw.get("is_deleted")),
        )


@dataclass(frozen=True)
class Pipeline:
    id: int
    name: str
    order_nr: int
    is_deleted: bool = False

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Pipeline:
        return cls(
            id=as_int(raw.get("id")) or 0,
            name=as_str(raw.get("name")) or "",
            order_nr=as_int(raw.get("order_nr")) or 0,
            is_deleted=as_bool(raw.get("is_deleted")),
        )


@dataclass(frozen=True)
class Stage:
    id: int
    name: str
    pipeline_id: int
    order_nr: int
    is_deleted: bool = False

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Stage:
        return cls(
            id=as_int(raw.get("id")) or 0,
            name=as_str(raw.get("name")) or "",
            pipeline_id=as_int(raw.get("pipeline_id")) or 0,
            order_nr=as_int(raw.get("order_nr")) or 0,
            is_deleted=as_bool(raw.get("is_deleted")),
        )


@dataclass(frozen=True)
class Lead:
    id: str
    title: str
    person_id: int | None = None
    organization_id: int | None = None
    owner_id: int | None = None
    label_ids: tuple[str, ...] = ()

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Lead:
        return cls(
            id=as_str(raw.get("id")) or "",
            title=as_str(raw.get("title")) or "",
            person_id=as_int(raw.get("person_id")),
            organization_id=as_int(raw.get("organization_id")),
            owner_id=as_int(raw.get("owner_id")),
            label_ids=tuple(x for x in as_list(raw.get("label_ids")) if isinstance(x, str)),
        )


LeadLabelColor = Literal[
    "blue", "brown", "dark-gray", "gray", "green", "orange", "pink", "purple", "red", "yellow"
]


@dataclass(frozen=True)
class LeadLabel:
    id: str
    name: str
    color: str

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> LeadLabel:
        return cls(
            id=as_str(raw.get("id")) or "",
            name=as_str(raw.get("name")) or "",
            color=as_str(raw.get("color")) or "",
        )
