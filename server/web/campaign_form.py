"""The campaign modal's compose form, checked: what was typed (``ComposeInput``) becomes the ``Compose`` and
``Pacing`` the campaign service takes, or a refusal per field, each named (``data-reason``) and in the
form's order, so the page shows them beside the form and keeps what was typed.

A template choice is a saved template's id or a WhatsApp-approved one (``cloud:<name>:<language>``); the
approved template the campaign is sent as is the form's ``approved_template`` (``name:language``), passed on
as ``Compose.approved_template`` for the campaign service to check against the number's approved list.

Refusals: ``empty_message``, ``unknown_template``, ``unknown_from_mode``, ``no_from_number``,
``unknown_from_number``, ``invalid_number`` (a gap or cap that is not a whole number), ``invalid_pacing``
(the pacing's own rules, ``server.domain.campaigns.Pacing``), ``invalid_start_time``. The start time is
read in the company's time zone (Pipedrive's), since that is the clock the team works by.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from panels.campaign_compose import ComposeInput
from panels.i18n import translate
from server.domain.bounds import id_from_text
from server.domain.campaigns import Compose, FromMode, Pacing
from server.domain.cloud_templates import split_key
from server.domain.days import company_zone
from server.domain.errors import InvalidInput
from server.domain.message_templates import TemplateAttachment
from server.domain.settings_form import FieldError
from server.domain.stop_words import opt_out_line
from server.domain.text import Text
from server.web.cloud_templates import is_cloud_choice

MAX_NUMBER_TEXT = 9  # digits a gap or a cap may have


@dataclass(frozen=True, slots=True)
class CheckedCompose:
    compose: Compose | None
    pacing: Pacing | None
    errors: tuple[tuple[str, FieldError], ...]


def _whole(raw: str) -> int | None:
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= MAX_NUMBER_TEXT else None


def with_opt_out_line(text: str, stop_word: str) -> str:
    """The message as sent: the text, then the opt-out line in the sender's language."""
    return f"{text.rstrip()}\n\n{translate(opt_out_line(stop_word))}"


def check_pacing(
    typed: ComposeInput, timezone: str
) -> tuple[Pacing | None, tuple[tuple[str, FieldError], ...]]:
    errors: list[tuple[str, FieldError]] = []
    numbers: dict[str, int] = {}
    for name, raw in (("min_gap", typed.min_gap), ("max_gap", typed.max_gap), ("daily_cap", typed.daily_cap)):
        value = _whole(raw)
        if value is None:
            text = (
                Text("Enter a whole number of seconds")
                if name != "daily_cap"
                else Text("Enter a whole number")
            )
            errors.append((name, FieldError("invalid_number", text)))
        else:
            numbers[name] = value
    start_at = None
    if typed.start_at:
        try:
            start_at = datetime.fromisoformat(typed.start_at).replace(tzinfo=company_zone(timezone))
        except ValueError:
            errors.append(
                ("start_at", FieldError("invalid_start_time", Text("Enter the start as a date and a time")))
            )
    if errors:
        return None, tuple(errors)
    try:
        pacing = Pacing(
            min_gap_seconds=numbers["min_gap"],
            max_gap_seconds=numbers["max_gap"],
            daily_cap=numbers["daily_cap"],
            quiet_start=typed.quiet_start,
            quiet_end=typed.quiet_end,
            start_at=start_at,
        )
    except InvalidInput as refused:
        return None, (("pacing", FieldError(refused.reason, refused.text)),)
    return pacing, ()


def check_compose(
    typed: ComposeInput,
    *,
    numbers: Collection[int],
    templates: Mapping[int, TemplateAttachment | None],
    timezone: str,
    stop_word: str,
) -> CheckedCompose:
    """``numbers``: the company's connected numbers (account ids); ``templates``: the templates the user may
    use, each with its attachment (sent with every message of a campaign composed from it)."""
    errors: list[tuple[str, FieldError]] = []
    saved_choice = typed.template_id and not is_cloud_choice(typed.template_id)
    template_id = id_from_text(typed.template_id) if saved_choice else None
    if saved_choice and template_id not in templates:
        errors.append(("template_id", FieldError("unknown_template", Text("Choose one of your templates"))))
    if typed.approved_template:
        try:
            split_key(typed.approved_template)  # whether the number has it: the campaign service checks
        except InvalidInput as refused:
            errors.append(("template_id", FieldError(refused.reason, refused.text)))
    if not typed.text.strip() and not typed.approved_template:  # Cloud API numbers send the template
        errors.append(("text", FieldError("empty_message", Text("Write the message first"))))
    modes = {mode.value: mode for mode in FromMode}
    mode = modes.get(typed.from_mode)
    if mode is None:
        errors.append(("from_mode", FieldError("unknown_from_mode", Text("Choose how the numbers send"))))
    chosen = [id_from_text(raw) for raw in typed.account_ids]
    if not chosen:
        errors.append(("account_ids", FieldError("no_from_number", Text("Choose a number to send from"))))
    elif any(account_id is None or account_id not in numbers for account_id in chosen):
        errors.append(
            (
                "account_ids",
                FieldError("unknown_from_number", Text("Choose among your company's connected numbers")),
            )
        )
    pacing, pacing_errors = check_pacing(typed, timezone)
    errors.extend(pacing_errors)
    if errors or mode is None or pacing is None:
        return CheckedCompose(None, None, tuple(errors))
    text = (
        with_opt_out_line(typed.text, stop_word) if typed.opt_out_line and typed.text.strip() else typed.text
    )
    account_ids = tuple(dict.fromkeys(a for a in chosen if a is not None))
    attachment = templates.get(template_id) if template_id is not None else None
    compose = Compose(
        text, mode, account_ids, template_id, approved_template=typed.approved_template, attachment=attachment
    )
    return CheckedCompose(compose, pacing, ())
