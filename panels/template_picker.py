"""The template picker beside a message box (the panel's send form, the chat view's reply): choice groups
(the saved templates, company then personal; another source adds a group of its own), and what choosing
one puts in place: the rendered text in the message box (to edit before Send, never sent by itself),
a warning naming each placeholder that came out empty without a fallback, and the template's attachment
chosen where the box has one.

A choice's ``value`` names its source and id (``saved:12``), so a route can tell the groups apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from panels.message_templates import SCOPE_LABELS
from panels.panel_form import FileChoice
from panels.templating import render
from server.domain.message_templates import MessageTemplate, TemplateScope
from server.domain.text import Text

SAVED = "saved"


@dataclass(frozen=True, slots=True)
class PickerChoice:
    value: str  # "<source>:<id>"
    label: str | Text
    hint: str | Text = ""


@dataclass(frozen=True, slots=True)
class PickerGroup:
    key: str  # the source: "saved"
    label: str | Text
    choices: tuple[PickerChoice, ...]


@dataclass(frozen=True, slots=True)
class PickerView:
    groups: tuple[PickerGroup, ...]
    url: str  # what choosing fetches (hx-get)
    include: str  # the form fields sent with it (hx-include)
    reload_url: str = ""  # the picker itself, fetched again when the form's From number changes
    reload_on: str = ""  # the element whose change reloads it ("#from")

    @property
    def empty(self) -> bool:
        return not any(group.choices for group in self.groups)


@dataclass(frozen=True, slots=True)
class PickedView:
    """What choosing a template swaps in: ``text_slot`` names the message box's partial."""

    text: str
    text_slot: str  # "panel" | "chat"
    missing: tuple[str, ...] = ()
    attachment_note: str | Text = ""
    files: tuple[FileChoice, ...] | None = None  # the attachment list again, the template's file chosen
    chosen_file: int | None = None
    max_text: int = 0
    notice: str | Text = ""  # a WhatsApp-approved template: that it is sent as approved, or why it cannot be
    notice_reason: str = ""
    cloud_template: str = ""  # the chosen WhatsApp-approved template (``name:language``), sent with the form


def saved_group(templates: Sequence[MessageTemplate]) -> PickerGroup:
    """The saved templates, the company's first; each with its kind as a hint."""
    ordered = sorted(templates, key=lambda t: (t.scope is not TemplateScope.company, t.name.casefold()))
    return PickerGroup(
        SAVED,
        Text("Templates"),
        tuple(PickerChoice(f"{SAVED}:{t.id}", t.name, SCOPE_LABELS[t.scope]) for t in ordered),
    )


def choice_id(value: str, source: str = SAVED) -> int | None:
    """The id of a choice of ``source`` (``saved:12`` → 12); ``None`` for anything else."""
    prefix, _, raw = value.partition(":")
    if prefix != source or not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        return None
    return int(raw)


def missing_names(sources: Sequence[str]) -> tuple[str, ...]:
    """Each empty placeholder once, as written, in order."""
    return tuple(dict.fromkeys(sources))


def render_picker(view: PickerView) -> str:
    return render("partials/_template_picker.html", picker=view)


def render_picked(view: PickedView) -> str:
    return render("partials/_template_picked.html", picked=view)
