"""What a Person's or Deal's page shows below its fields, read from the sandbox's state: the custom fields
(a web address as a link), the activities with their notes, the notes, and the files with a download
link (``/host/files/{id}/download``, for whoever looks at the page, within their company)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup

from sandbox.pipedrive.rich_text import clean_html, safe_href
from sandbox.pipedrive.state import CompanyData, Record

BYTE_UNITS = ("B", "KB", "MB", "GB")


@dataclass(frozen=True)
class CustomValue:
    label: str
    text: str
    href: str | None  # a web address: shown as a link


@dataclass(frozen=True)
class ActivityEntry:
    id: int
    subject: str
    type_name: str
    when: str
    done: bool
    owner: str
    note: Markup


@dataclass(frozen=True)
class NoteEntry:
    id: int
    added: str
    author: str
    content: Markup


@dataclass(frozen=True)
class FileEntry:
    id: int
    name: str
    size: str
    added: str
    download: str


@dataclass(frozen=True)
class Timeline:
    custom: list[CustomValue]
    activities: list[ActivityEntry]
    notes: list[NoteEntry]
    files: list[FileEntry]


def file_size(size: int) -> str:
    """1 B, 999 B, 1.5 KB, 2 MB: as a person reads a size (1 KB = 1024 B)."""
    value = float(size)
    for unit in BYTE_UNITS:
        if value < 1024 or unit == BYTE_UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f}".removesuffix(".0") + f" {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _moment(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if isinstance(value, datetime) else str(value or "")


def custom_values(fields: dict[int, Record], record: Record) -> list[CustomValue]:
    """The record's custom fields that have a value, in the order the company's fields are in."""
    values = record.get("custom_fields") or {}
    shown: list[CustomValue] = []
    for field in sorted(fields.values(), key=lambda f: (f.get("order_nr") or 0, f["id"])):
        value = values.get(field["key"])
        if not field.get("is_custom") or not field.get("active", True) or value in (None, "", []):
            continue
        text = value if isinstance(value, str) else str(value)
        shown.append(
            CustomValue(str(field["name"]), text, safe_href(text) if isinstance(value, str) else None)
        )
    return shown


def _activities(
    data: CompanyData, users: dict[int, str], resource: str, entity_id: int
) -> list[ActivityEntry]:
    def belongs(activity: Record) -> bool:
        if resource == "deal":
            return bool(activity["deal_id"] == entity_id)
        return activity["person_id"] == entity_id or any(
            p["person_id"] == entity_id for p in activity["participants"]
        )

    types = {t["key_string"]: str(t["name"]) for t in data.activity_types.values()}
    found = [a for a in data.activities.values() if not a["is_deleted"] and belongs(a)]
    found.sort(key=lambda a: (str(a["due_date"] or ""), str(a["due_time"] or ""), a["id"]), reverse=True)
    return [
        ActivityEntry(
            id=a["id"],
            subject=str(a["subject"] or ""),
            type_name=types.get(a["type"], str(a["type"])),
            when=" ".join(str(p) for p in (a["due_date"], (a["due_time"] or "")[:5]) if p),
            done=bool(a["done"]),
            owner=users.get(a["owner_id"], ""),
            note=clean_html(a["note"]),
        )
        for a in found
    ]


def timeline(
    data: CompanyData, users: dict[int, str], resource: str, entity_id: int, record: Record
) -> Timeline:
    """``users``: the company's user names by id; ``record``: the Person or Deal."""
    key = "deal_id" if resource == "deal" else "person_id"
    fields = data.deal_fields if resource == "deal" else data.person_fields
    notes = sorted(
        (n for n in data.notes.values() if n["active_flag"] and n[key] == entity_id),
        key=lambda n: n["id"],
        reverse=True,
    )
    files = sorted(
        (f.record for f in data.files.values() if f.record["active_flag"] and f.record[key] == entity_id),
        key=lambda r: r["id"],
        reverse=True,
    )
    return Timeline(
        custom=custom_values(fields, record),
        activities=_activities(data, users, resource, entity_id),
        notes=[
            NoteEntry(n["id"], _moment(n["add_time"]), users.get(n["user_id"], ""), clean_html(n["content"]))
            for n in notes
        ],
        files=[
            FileEntry(
                r["id"],
                str(r["name"]),
                file_size(int(r["file_size"])),
                _moment(r["add_time"]),
                f"/host/files/{r['id']}/download",
            )
            for r in files
        ],
    )
