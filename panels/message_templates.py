"""The message templates page (``/settings/templates``): the templates a user sees, the form that makes or
edits one, and the placeholder help (each object's fields, a click puts the placeholder into the text).

Admins manage the company's templates; every user manages their own. A refusal is shown beside the form
with its reason (``data-reason``) and what was typed kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from panels.templating import render
from server.domain.message_templates import MessageTemplate, TemplateScope
from server.domain.text import Text

SCOPE_LABELS = {TemplateScope.company: Text("Company"), TemplateScope.personal: Text("Personal")}
OBJECT_LABELS = {
    "person": Text("Person"),
    "deal": Text("Deal"),
    "org": Text("Organization"),
    "me": Text("You (the sender)"),
}


@dataclass(frozen=True, slots=True)
class TemplateRow:
    id: int
    name: str
    scope: TemplateScope
    scope_label: Text
    text: str
    attachment: str
    can_edit: bool


@dataclass(frozen=True, slots=True)
class FieldGroup:
    """One object's fields in the placeholder help, each as the placeholder it writes."""

    label: Text
    placeholders: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TemplateFormView:
    template_id: int | None = None
    scope: str = TemplateScope.personal.value
    name: str = ""
    text: str = ""
    file_id: str = ""
    can_choose_company: bool = False
    error_reason: str = ""
    error_message: str | Text = ""
    saved: bool = False


@dataclass(frozen=True, slots=True)
class TemplatesPageView:
    rows: tuple[TemplateRow, ...]
    form: TemplateFormView
    fields: tuple[FieldGroup, ...]
    is_admin: bool


def template_rows(
    templates: Sequence[MessageTemplate], user_id: int, is_admin: bool
) -> tuple[TemplateRow, ...]:
    return tuple(
        TemplateRow(
            id=t.id,
            name=t.name,
            scope=t.scope,
            scope_label=SCOPE_LABELS[t.scope],
            text=t.text,
            attachment=t.attachment.name if t.attachment else "",
            can_edit=is_admin if t.scope is TemplateScope.company else t.owner_user_id == user_id,
        )
        for t in templates
    )


def field_groups(fields: Mapping[str, Sequence[str]]) -> tuple[FieldGroup, ...]:
    """Each object's fields as placeholders (``{{person.first_name}}``; a custom field by its name)."""
    return tuple(
        FieldGroup(OBJECT_LABELS[name], tuple(f"{{{{{name}.{field}}}}}" for field in found))
        for name, found in fields.items()
        if name in OBJECT_LABELS
    )


def edit_form(template: MessageTemplate, can_choose_company: bool) -> TemplateFormView:
    return TemplateFormView(
        template_id=template.id,
        scope=template.scope.value,
        name=template.name,
        text=template.text,
        file_id=str(template.attachment.file_id) if template.attachment else "",
        can_choose_company=can_choose_company,
    )


def render_templates_page(view: TemplatesPageView) -> str:
    return render("panels/settings_templates.html", view=view)


def render_templates_section(view: TemplatesPageView) -> str:
    """The list and the form together: what a save or a deletion swaps."""
    return render("partials/_templates_section.html", view=view)


def render_template_form(view: TemplateFormView, fields: tuple[FieldGroup, ...]) -> str:
    return render("partials/_template_form.html", form=view, fields=fields)
