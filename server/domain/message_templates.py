"""Saved message templates: who owns one (the company or one user), what a saved one holds, the fields a
template may name, and the checks a template passes before it is stored.

A company template is made by an admin and seen by everyone in the company; a personal one by its user
alone. A name is unique within its scope (the company's templates, or one user's). The grammar of the
text is :mod:`server.domain.templates`; here are the standard fields each object offers (custom fields are
added by name from Pipedrive) and the refusals, each by name: ``template_name`` (empty or too long),
``template_text`` (empty), plus the grammar's ``unknown_template_field`` / ``template_syntax`` /
``message_too_long``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from server.domain.errors import InvalidInput
from server.domain.templates import check_template, field_key
from server.domain.text import Text

MAX_NAME = 100

# The fields every company has, by object, in the order the placeholder help lists them.
STANDARD_FIELDS: Mapping[str, tuple[str, ...]] = {
    "person": ("name", "first_name", "last_name", "email", "phone", "org_name"),
    "deal": ("title", "value", "currency", "status", "stage"),
    "org": ("name", "address"),
    "me": ("name", "first_name", "last_name", "email", "phone"),
}
# Pipedrive's own field names for the standard fields above: a placeholder naming one by Pipedrive's
# label ("{{person.Organization}}") reads the same value.
STANDARD_ALIASES: Mapping[str, Mapping[str, str]] = {
    "person": {"organization": "org_name", "org": "org_name"},
    "deal": {"deal_value": "value"},
    "org": {},
    "me": {},
}


class TemplateScope(StrEnum):
    company = "company"  # made by admins, every user sees it
    personal = "personal"  # one user's own


@dataclass(frozen=True, slots=True)
class TemplateAttachment:
    """A file in Pipedrive's Files the template sends with its text."""

    file_id: int
    name: str


@dataclass(frozen=True, slots=True)
class MessageTemplate:
    id: int
    scope: TemplateScope
    owner_user_id: int  # the Pipedrive user of a personal template; 0 for a company one
    name: str
    text: str
    attachment: TemplateAttachment | None
    created_by: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class TemplateDraft:
    """What a user typed into the template form, checked by ``check_draft``."""

    scope: TemplateScope
    name: str
    text: str
    file_id: int | None = None


def known_fields(custom: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    """The field keys a template may name per object: the standard ones, their aliases and the company's
    custom fields (``custom``: object → field names as Pipedrive shows them)."""
    known: dict[str, set[str]] = {}
    for name, fields in STANDARD_FIELDS.items():
        known[name] = {*fields, *STANDARD_ALIASES[name]} | {field_key(f) for f in custom.get(name, ())}
    return known


def check_draft(draft: TemplateDraft, known: Mapping[str, Iterable[str]]) -> TemplateDraft:
    """The draft with its name and text trimmed, or ``InvalidInput`` naming what is wrong."""
    name = " ".join(draft.name.split())
    if not name:
        raise InvalidInput(Text("Give the template a name"), reason="template_name")
    if len(name) > MAX_NAME:
        raise InvalidInput(
            Text("A template's name is limited to %(limit)s characters", limit=MAX_NAME),
            reason="template_name",
        )
    text = draft.text.strip()
    if not text:
        raise InvalidInput(Text("Write the template's message"), reason="template_text")
    check_template(text, known)
    return TemplateDraft(draft.scope, name, text, draft.file_id)
