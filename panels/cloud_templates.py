"""The settings page's WhatsApp-approved templates: each approved template of the company's Cloud API
number with its body, header, footer and buttons, and what fills each variable (an admin edits it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from panels.templating import render
from server.domain.cloud_templates import ApprovedTemplate, is_mapped
from server.domain.settings_form import FieldError
from server.domain.text import Text


@dataclass(frozen=True, slots=True)
class VariableRow:
    variable: str  # "1" or "first_name"
    placeholder: str  # what fills it (as stored, or as the admin typed it)

    @property
    def label(self) -> str:
        return "{{" + self.variable + "}}"


@dataclass(frozen=True, slots=True)
class TemplateRow:
    template: ApprovedTemplate
    variables: tuple[VariableRow, ...]
    mapped: bool
    saved: bool = False
    error: FieldError | None = None


@dataclass(frozen=True, slots=True)
class CloudTemplatesView:
    stage: str  # "list" | "no_cloud_number" | "unavailable"
    rows: tuple[TemplateRow, ...] = ()
    can_edit: bool = False
    number: str = ""  # the Cloud API number the templates were read for
    problem: FieldError | None = None  # why the list could not be read ("unavailable")


def template_row(
    template: ApprovedTemplate,
    mapping: Mapping[str, str] | None,
    *,
    typed: Mapping[str, str] | None = None,
    saved: bool = False,
    error: FieldError | None = None,
) -> TemplateRow:
    shown = typed if typed is not None else (mapping or {})
    variables = tuple(VariableRow(v, shown.get(v, "")) for v in template.variables)
    return TemplateRow(template, variables, is_mapped(template, mapping), saved, error)


def category_label(category: str) -> Text | str:
    labels = {
        "MARKETING": Text("Marketing"),
        "UTILITY": Text("Utility"),
        "AUTHENTICATION": Text("Authentication"),
    }
    return labels.get(category, category)


def render_cloud_templates(view: CloudTemplatesView) -> str:
    return render("partials/_settings_cloud_templates.html", cloud=view, category_label=category_label)


def render_cloud_template_row(row: TemplateRow, can_edit: bool) -> str:
    return render(
        "partials/_cloud_template_row.html", row=row, can_edit=can_edit, category_label=category_label
    )


def rows_of(
    pairs: Sequence[tuple[ApprovedTemplate, Mapping[str, str]]],
) -> tuple[TemplateRow, ...]:
    return tuple(template_row(template, mapping) for template, mapping in pairs)
