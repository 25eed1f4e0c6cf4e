"""The campaign modal (opened from a Pipedrive Person or Deal list): who the campaign is for, the message
and its From numbers, pacing, the preview of what each recipient will get and who is skipped and why.

``ComposeInput`` is the form as typed: a refusal re-renders beside it and never loses what was typed.
Every word here is a ``Text``; names, phone numbers and rendered messages are shown as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from panels.template_picker import PickerGroup
from panels.templating import render
from server.domain.campaigns import Pacing, Preview, SkipReason, skip_reason_text
from server.domain.models import Account
from server.domain.ports.recipients import ListKind, SavedFilter
from server.domain.settings_form import FieldError
from server.domain.text import Text, ntext

FROM_MODES = (
    ("fixed", Text("One number")),
    ("last_number", Text("Each contact's last number")),
    ("round_robin", Text("Take turns across the chosen numbers")),
)
# What the placeholder help lists: a field of each object, written as a template writes it.
PLACEHOLDER_EXAMPLES = (
    ("{{person.first_name}}", Text("the Person's first name")),
    ("{{person.name}}", Text("the Person's full name")),
    ("{{deal.title}}", Text("the Deal's title")),
    ("{{org.name}}", Text("the Organization's name")),
    ("{{me.name}}", Text("your name")),
    ("{{person.first_name|there}}", Text("a fallback for when the field is empty")),
)
SKIP_ORDER = tuple(SkipReason)


@dataclass(frozen=True, slots=True)
class ComposeInput:
    """The compose form as typed: every field a string, as the browser sent it."""

    text: str = ""
    template_id: str = ""  # a saved template's id, or an approved one's choice ("cloud:name:language")
    approved_template: str = ""  # the Meta-approved template chosen (``name:language``), set by choosing it
    from_mode: str = "fixed"
    account_ids: tuple[str, ...] = ()
    min_gap: str = ""
    max_gap: str = ""
    daily_cap: str = ""
    quiet_start: str = ""
    quiet_end: str = ""
    start_at: str = ""
    opt_out_line: bool = False

    @classmethod
    def defaults(cls, pacing: Pacing, account_ids: Sequence[int] = ()) -> ComposeInput:
        return cls(
            account_ids=tuple(str(i) for i in account_ids),
            min_gap=str(pacing.min_gap_seconds),
            max_gap=str(pacing.max_gap_seconds),
            daily_cap=str(pacing.daily_cap),
            quiet_start=pacing.quiet_start,
            quiet_end=pacing.quiet_end,
        )

    @classmethod
    def from_form(cls, form: Mapping[str, str], account_ids: Sequence[str]) -> ComposeInput:
        return cls(
            text=form.get("text", ""),
            template_id=form.get("template_id", ""),
            approved_template=form.get("approved_template", "").strip(),
            from_mode=form.get("from_mode", ""),
            account_ids=tuple(account_ids),
            min_gap=form.get("min_gap", "").strip(),
            max_gap=form.get("max_gap", "").strip(),
            daily_cap=form.get("daily_cap", "").strip(),
            quiet_start=form.get("quiet_start", "").strip(),
            quiet_end=form.get("quiet_end", "").strip(),
            start_at=form.get("start_at", "").strip(),
            opt_out_line=form.get("opt_out_line", "") in ("1", "on"),
        )


@dataclass(frozen=True, slots=True)
class NumberChoice:
    id: int
    number: str


@dataclass(frozen=True, slots=True)
class TemplateChoice:
    id: int
    name: str


def number_choices(accounts: Sequence[Account]) -> tuple[NumberChoice, ...]:
    """The company's connected numbers, the ones a campaign may send from."""
    return tuple(
        NumberChoice(a.id, a.e164) for a in accounts if a.status == "connected" and a.e164 is not None
    )


def source_label(kind: ListKind, ids: Sequence[int], filter_name: str) -> Text:
    if filter_name:
        return Text("Saved filter: %(name)s", name=filter_name)
    if kind is ListKind.DEAL:
        return ntext("%(count)s selected Deal", "%(count)s selected Deals", len(ids))
    return ntext("%(count)s selected Person", "%(count)s selected Persons", len(ids))


@dataclass(frozen=True, slots=True)
class SourceView:
    """The modal's first step: the selection it was opened with, or the saved filters to choose from."""

    kind: str
    ids: str  # the selection as Pipedrive passed it ("1,2,3"), for the form that creates the campaign
    count: int
    filters: tuple[SavedFilter, ...]
    error: FieldError | None = None
    chosen: SavedFilter | None = None  # the filter the list showed: the campaign is made from it at once

    @property
    def label(self) -> Text:
        return source_label(ListKind(self.kind), [0] * self.count, "")


@dataclass(frozen=True, slots=True)
class TemplateChoices:
    """The compose form's template choice: the saved templates the user sees, and the WhatsApp-approved
    ones when a chosen From number is a Cloud API number (fetched again when the From numbers change)."""

    saved: tuple[TemplateChoice, ...] = ()
    approved: PickerGroup | None = None
    chosen: str = ""  # the select's value as typed
    approved_template: str = ""  # the hidden field: the approved template the campaign is sent as

    @property
    def empty(self) -> bool:
        return not self.saved and not (self.approved and self.approved.choices)


@dataclass(frozen=True, slots=True)
class ComposeView:
    campaign_id: int
    source: Text
    typed: ComposeInput
    numbers: tuple[NumberChoice, ...]
    # the saved and approved templates, and what stays chosen of them (one no longer offered is not)
    template_choices: TemplateChoices
    opt_out_text: str = ""  # the line added under the message when the box is ticked
    modes: tuple[tuple[str, Text], ...] = FROM_MODES
    placeholders: tuple[tuple[str, Text], ...] = PLACEHOLDER_EXAMPLES


@dataclass(frozen=True, slots=True)
class SkipCount:
    reason: str
    label: Text
    count: int


@dataclass(frozen=True, slots=True)
class PreviewRowView:
    name: str
    phone: str
    from_number: str
    text: str
    skip_reason: str
    skip_label: Text | None
    missing: tuple[str, ...]
    approved_template: str = ""  # sent as this WhatsApp-approved template (``name:language``)


@dataclass(frozen=True, slots=True)
class PreviewView:
    campaign_id: int
    rows: tuple[PreviewRowView, ...] = ()
    total: int = 0
    will_send: int = 0  # at most, when some numbers are ``unchecked``
    skipped: tuple[SkipCount, ...] = ()
    errors: tuple[tuple[str, FieldError], ...] = ()  # (field, refusal), in the form's order
    unchecked: int = 0  # of ``will_send``, numbers checked for WhatsApp only as their message goes out
    attachment: str = ""  # the template's file sent with every message, by name

    @property
    def can_start(self) -> bool:
        return not self.errors and self.will_send > 0

    @property
    def question(self) -> Text:
        """What Pipedrive's confirmation asks before Start."""
        if self.unchecked:
            return ntext(
                "Send this message to up to %(count)s person now?",
                "Send this message to up to %(count)s people now?",
                self.will_send,
            )
        return ntext(
            "Send this message to %(count)s person now?",
            "Send this message to %(count)s people now?",
            self.will_send,
        )


def skip_counts(skipped: Mapping[SkipReason, int]) -> tuple[SkipCount, ...]:
    """The reasons anyone is skipped for, in one fixed order, with how many each."""
    return tuple(
        SkipCount(reason.value, skip_reason_text(reason), skipped[reason])
        for reason in SKIP_ORDER
        if skipped.get(reason, 0) > 0
    )


def preview_view(campaign_id: int, preview: Preview, attachment: str = "") -> PreviewView:
    rows = tuple(
        PreviewRowView(
            name=row.name,
            phone=row.phone,
            from_number=row.from_number,
            text=row.text,
            skip_reason=row.skip.value if row.skip is not None else "",
            skip_label=skip_reason_text(row.skip) if row.skip is not None else None,
            missing=row.missing,
            approved_template=row.approved_template,
        )
        for row in preview.rows
    )
    return PreviewView(
        campaign_id,
        rows=rows,
        total=preview.total,
        will_send=preview.will_send,
        skipped=skip_counts(preview.skipped),
        attachment=attachment,
        unchecked=preview.unchecked,
    )


@dataclass(frozen=True, slots=True)
class ModalView:
    """The whole modal page: its first step, choosing the source (the compose step is a fragment)."""

    kind: str
    source: SourceView | None = None


def render_modal(view: ModalView) -> str:
    return render("panels/campaign_modal.html", view=view)


def render_source(view: SourceView) -> str:
    return render("partials/_campaign_source.html", source=view)


def render_compose(view: ComposeView) -> str:
    return render("partials/_campaign_compose.html", compose=view)


def render_message_box(text: str) -> str:
    return render("partials/_campaign_text.html", text=text)


@dataclass(frozen=True, slots=True)
class PickedTemplate:
    """What choosing in the template choice swaps in: the message box (``None``: left as typed, when the
    choice cannot be used), the approved template the form now sends as, and a note saying which."""

    text: str | None
    approved_template: str = ""
    notice: str | Text = ""
    notice_reason: str = ""


def render_picked_template(view: PickedTemplate) -> str:
    return render("partials/_campaign_template_picked.html", picked=view)


def render_template_choices(view: TemplateChoices) -> str:
    return render("partials/_campaign_templates.html", choices=view)


def render_preview(view: PreviewView) -> str:
    return render("partials/_campaign_preview.html", preview=view)
