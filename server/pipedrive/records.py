"""What WaPipe writes or sets up in Pipedrive: activities and their types, files, notes, fields, webhooks.

Parsed as defensively as :mod:`server.pipedrive.models` (persons, deals, leads live there).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from server.pipedrive.models import as_bool, as_dict, as_int, as_list, as_str


@dataclass(frozen=True)
class ActivityType:
    id: int
    name: str
    key_string: str
    icon_key: str
    active: bool
    is_custom: bool

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> ActivityType:
        return cls(
            id=as_int(raw.get("id")) or 0,
            name=as_str(raw.get("name")) or "",
            key_string=as_str(raw.get("key_string")) or "",
            icon_key=as_str(raw.get("icon_key")) or "",
            active=as_bool(raw.get("active_flag", True)),
            is_custom=as_bool(raw.get("is_custom_flag")),
        )


@dataclass(frozen=True)
class Participant:
    person_id: int
    primary: bool = False


@dataclass(frozen=True)
class Activity:
    id: int
    subject: str
    type: str
    owner_id: int | None = None
    deal_id: int | None = None
    lead_id: str | None = None
    person_id: int | None = None
    org_id: int | None = None
    due_date: str | None = None
    due_time: str | None = None
    done: bool = False
    note: str | None = None
    participants: tuple[Participant, ...] = ()
    is_deleted: bool = False

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Activity:
        participants = []
        for item in as_list(raw.get("participants")):
            person_id = as_int(as_dict(item).get("person_id"))
            if person_id is not None:
                primary = as_dict(item).get("primary", as_dict(item).get("primary_flag"))
                participants.append(Participant(person_id=person_id, primary=as_bool(primary)))
        return cls(
            id=as_int(raw.get("id")) or 0,
            subject=as_str(raw.get("subject")) or "",
            type=as_str(raw.get("type")) or "",
            owner_id=as_int(raw.get("owner_id")),
            deal_id=as_int(raw.get("deal_id")),
            lead_id=as_str(raw.get("lead_id")),
            person_id=as_int(raw.get("person_id")),
            org_id=as_int(raw.get("org_id")),
            due_date=as_str(raw.get("due_date")),
            due_time=as_str(raw.get("due_time")),
            done=as_bool(raw.get("done")),
            note=as_str(raw.get("note")),
            participants=tuple(participants),
            is_deleted=as_bool(raw.get("is_deleted")),
        )


@dataclass(frozen=True)
class StoredFile:
    """A file in Pipedrive's Files (v1)."""

    id: int
    name: str
    file_size: int | None = None
    file_type: str | None = None
    person_id: int | None = None
    deal_id: int | None = None
    add_time: str | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> StoredFile:
        return cls(
            id=as_int(raw.get("id")) or 0,
            name=as_str(raw.get("name")) or as_str(raw.get("file_name")) or "",
            file_size=as_int(raw.get("file_size")),
            file_type=as_str(raw.get("file_type")),
            person_id=as_int(raw.get("person_id")),
            deal_id=as_int(raw.get("deal_id")),
            add_time=as_str(raw.get("add_time")),
        )


@dataclass(frozen=True)
class FieldDefinition:
    """A person or deal field (v2): ``code`` is the key used under ``custom_fields``."""

    code: str
    name: str
    field_type: str
    is_custom: bool

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> FieldDefinition:
        return cls(
            code=as_str(raw.get("field_code")) or as_str(raw.get("key")) or "",
            name=as_str(raw.get("field_name")) or as_str(raw.get("name")) or "",
            field_type=as_str(raw.get("field_type")) or "",
            is_custom=as_bool(raw.get("is_custom_field", raw.get("edit_flag"))),
        )


@dataclass(frozen=True)
class Note:
    id: int
    content: str
    person_id: int | None = None
    deal_id: int | None = None
    lead_id: str | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Note:
        return cls(
            id=as_int(raw.get("id")) or 0,
            content=as_str(raw.get("content")) or "",
            person_id=as_int(raw.get("person_id")),
            deal_id=as_int(raw.get("deal_id")),
            lead_id=as_str(raw.get("lead_id")),
        )


@dataclass(frozen=True)
class Webhook:
    id: int
    subscription_url: str
    event_action: str
    event_object: str
    version: str | None = None
    http_auth_user: str | None = None
    http_auth_password: str | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Webhook:
        return cls(
            id=as_int(raw.get("id")) or 0,
            subscription_url=as_str(raw.get("subscription_url")) or "",
            event_action=as_str(raw.get("event_action")) or "",
            event_object=as_str(raw.get("event_object")) or "",
            version=as_str(raw.get("version")),
            http_auth_user=as_str(raw.get("http_auth_user")),
            http_auth_password=as_str(raw.get("http_auth_password")),
        )
