"""The app settings an admin edits, checked field by field: each refusal names its field and reason, and
what was typed is kept so the form can show it again. A refusal's words are translated where a page shows
them (``FieldError.text``); ``message`` is their English."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from server.domain.bounds import id_from_text
from server.domain.phone_numbers import is_international, to_e164
from server.domain.sync import SETTINGS_DEFAULTS, ImportFrequency, NewChatAction
from server.domain.text import Text

FREQUENCIES = tuple(item.value for item in ImportFrequency)
ACTIONS = tuple(item.value for item in NewChatAction)
MAX_EXCLUDED = 500
MAX_RETENTION_DAYS = 3650  # ten years; longer is "forever", which is an empty field
# A number whose stored messages are all gone re-imports its last week of history on reconnect; keeping
# messages at least that long means retention never deletes what a catch-up would bring back.
MIN_MESSAGE_RETENTION_DAYS = 7
# What a typed phone number may hold besides digits: a leading "+", spaces, and the usual separators.
_NOT_IN_A_NUMBER = re.compile(r"[^0-9+ ().\-/]")
_DIRECTION_MARKS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_DASHES = frozenset("\u2010\u2011\u2012\u2013\u2014\u2015\u2212")
_NO_SUCH_PIPELINE = Text("That pipeline does not exist in Pipedrive")


@dataclass(frozen=True, slots=True)
class CompanySettingsValues:
    """What the settings page saves (the keys setup stored are not the page's business)."""

    import_frequency: str = SETTINGS_DEFAULTS.import_frequency.value
    auto_add_persons: bool = SETTINGS_DEFAULTS.auto_add_persons
    new_chat_action: str = SETTINGS_DEFAULTS.new_chat_action.value
    pipeline_id: int | None = SETTINGS_DEFAULTS.pipeline_id
    import_groups: bool = SETTINGS_DEFAULTS.import_groups
    excluded_numbers: tuple[str, ...] = SETTINGS_DEFAULTS.excluded_numbers
    message_retention_days: int = SETTINGS_DEFAULTS.message_retention_days  # 0: keep forever
    media_retention_days: int = SETTINGS_DEFAULTS.media_retention_days
    keep_deleted_text: bool = SETTINGS_DEFAULTS.keep_deleted_text

    def as_dict(self) -> dict[str, object]:
        return {
            "import_frequency": self.import_frequency,
            "auto_add_persons": self.auto_add_persons,
            "new_chat_action": self.new_chat_action,
            "pipeline_id": self.pipeline_id,
            "import_groups": self.import_groups,
            "excluded_numbers": list(self.excluded_numbers),
            "message_retention_days": self.message_retention_days,
            "media_retention_days": self.media_retention_days,
            "keep_deleted_text": self.keep_deleted_text,
        }


@dataclass(frozen=True, slots=True)
class FieldError:
    reason: str
    text: str | Text  # what the page shows, in the reader's language
    lines: tuple[FieldError, ...] = ()  # one refusal per bad line of a field typed one item a line

    @property
    def message(self) -> str:
        """The refusal in English (the command line, logs)."""
        return str(self.text)


@dataclass(frozen=True, slots=True)
class SettingsInput:
    """The form as typed."""

    import_frequency: str = ""
    auto_add_persons: bool = False
    new_chat_action: str = ""
    pipeline_id: str = ""
    import_groups: bool = False
    excluded_numbers: str = ""
    message_retention_days: str = ""
    media_retention_days: str = ""
    keep_deleted_text: bool = False

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> SettingsInput:
        return cls(
            import_frequency=form.get("import_frequency", "").strip(),
            auto_add_persons=form.get("auto_add_persons", "") in {"on", "1", "true"},
            new_chat_action=form.get("new_chat_action", "").strip(),
            pipeline_id=form.get("pipeline_id", "").strip(),
            import_groups=form.get("import_groups", "") in {"on", "1", "true"},
            excluded_numbers=form.get("excluded_numbers", "")[:20000],
            message_retention_days=form.get("message_retention_days", "").strip()[:20],
            media_retention_days=form.get("media_retention_days", "").strip()[:20],
            keep_deleted_text=form.get("keep_deleted_text", "") in {"on", "1", "true"},
        )

    @classmethod
    def from_values(cls, values: CompanySettingsValues) -> SettingsInput:
        return cls(
            import_frequency=values.import_frequency,
            auto_add_persons=values.auto_add_persons,
            new_chat_action=values.new_chat_action,
            pipeline_id="" if values.pipeline_id is None else str(values.pipeline_id),
            import_groups=values.import_groups,
            excluded_numbers="\n".join(values.excluded_numbers),
            message_retention_days=_days_typed(values.message_retention_days),
            media_retention_days=_days_typed(values.media_retention_days),
            keep_deleted_text=values.keep_deleted_text,
        )


@dataclass(frozen=True, slots=True)
class Checked:
    values: CompanySettingsValues | None
    errors: dict[str, FieldError] = field(default_factory=dict)


def _typed_number(line: str) -> str:
    """Pasted spellings made plain: any Unicode space (no-break, thin, tab) is a space, any dash a "-", and
    the direction marks WhatsApp and phone address books wrap copied numbers in are dropped."""
    return "".join(
        " " if unicodedata.category(ch) == "Zs" or ch == "\t" else "-" if ch in _DASHES else ch
        for ch in line
        if ch not in _DIRECTION_MARKS
    )


def _stray_character(line: str) -> str | Text | None:
    """The first character no phone number is written with, named so an invisible one can be found."""
    found = _NOT_IN_A_NUMBER.search(line)
    if found is None:
        return None
    char = found.group()
    name = unicodedata.name(char, "")
    if char.isprintable() and not char.isspace() and unicodedata.category(char) != "Cf":
        return f"“{char}”"
    code = f"{ord(char):04X}"
    if name:
        return Text("an invisible character (U+%(code)s %(name)s)", code=code, name=name)
    return Text("an invisible character (U+%(code)s)", code=code)


def _holds(line: str, stray: str | Text) -> Text:
    return Text("%(typed)s holds %(character)s: type only the number", typed=line[:40], character=stray)


def _no_country_code(line: str) -> Text:
    return Text(
        "%(typed)s has no country code: write it as +<country code><number>, e.g. +4915112345678",
        typed=line[:40],
    )


def _not_a_phone_number(line: str) -> Text:
    return Text("%(typed)s is not a valid phone number", typed=line[:40])


def excluded_number(line: str) -> str | FieldError:
    """One excluded number in E.164 ("+4915112345678"); national spellings are refused by name."""
    line = _typed_number(line)
    stray = _stray_character(line)
    if stray is not None:
        return FieldError("excluded_number_invalid", _holds(line, stray))
    if not is_international(line):
        return FieldError("excluded_number_needs_country_code", _no_country_code(line))
    e164 = to_e164(line)
    if e164 is None:
        return FieldError("excluded_number_invalid", _not_a_phone_number(line))
    return e164


def excluded_numbers(typed: str) -> tuple[list[str], FieldError | None]:
    """The excluded numbers typed one a line, in E.164 and without repeats; and the refusal naming every
    bad line by its number (``None`` when all are good). The refusal's reason is its first line's."""
    numbers: list[str] = []
    bad: list[FieldError] = []
    for number, raw in enumerate(typed.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        checked = excluded_number(line)
        if isinstance(checked, FieldError):
            bad.append(
                FieldError(
                    checked.reason, Text("Line %(line)s: %(problem)s", line=number, problem=checked.text)
                )
            )
        elif checked not in numbers:
            numbers.append(checked)
    if not bad:
        return numbers, None
    if len(bad) == 1:
        return numbers, FieldError(bad[0].reason, bad[0].message, tuple(bad))
    # two or more lines here: the sentence is never about one
    message = Text("%(count)s lines need a change; each is named below", count=len(bad))
    return numbers, FieldError(bad[0].reason, message, tuple(bad))


def contact_number(typed: str) -> str | FieldError:
    """The number of a contact to erase, in E.164; anything else is refused by name."""
    line = _typed_number(typed).strip()
    if not line:
        return FieldError("phone_required", Text("Type the contact's WhatsApp number, e.g. +4915112345678"))
    stray = _stray_character(line)
    if stray is not None:
        return FieldError("phone_invalid", _holds(line, stray))
    if not is_international(line):
        return FieldError("phone_needs_country_code", _no_country_code(line))
    e164 = to_e164(line)
    if e164 is None:
        return FieldError("phone_invalid", _not_a_phone_number(line))
    return e164


def _days_typed(days: int) -> str:
    return str(days) if days else ""


def _retention_refusals(what: str, least: int) -> tuple[Text, Text]:
    """What a refused number of days to keep ``what`` says: not a whole number; out of range."""
    most = MAX_RETENTION_DAYS
    if what == "messages":
        return (
            Text(
                "Write how many days to keep messages as a whole number, or leave it empty to keep them "
                "forever"
            ),
            Text(
                "Keep messages for %(least)s to %(most)s days, or leave it empty to keep them forever",
                least=least,
                most=most,
            ),
        )
    return (
        Text(
            "Write how many days to keep attachment files as a whole number, or leave it empty to keep "
            "them forever"
        ),
        Text(
            "Keep attachment files for %(least)s to %(most)s days, or leave it empty to keep them forever",
            least=least,
            most=most,
        ),
    )


def retention_days(typed: str, what: str, minimum: int = 1) -> int | FieldError:
    """Days to keep ``what`` ("messages", "attachment files"); empty or 0 keeps it forever (0)."""
    if not typed:
        return 0
    not_a_number, out_of_range = _retention_refusals(what, minimum)
    if not (typed.isascii() and typed.isdigit()):
        return FieldError("retention_not_a_number", not_a_number)
    days = int(typed)
    if days == 0:
        return 0
    if not minimum <= days <= MAX_RETENTION_DAYS:
        return FieldError("retention_out_of_range", out_of_range)
    return days


def check_settings(typed: SettingsInput, pipeline_ids: Collection[int] | None) -> Checked:
    """``pipeline_ids``: the company's pipelines in Pipedrive (``None`` when they could not be loaded)."""
    errors: dict[str, FieldError] = {}
    if typed.import_frequency not in FREQUENCIES:
        errors["import_frequency"] = FieldError(
            "invalid_frequency",
            Text("Choose how often to import: %(choices)s", choices=", ".join(FREQUENCIES)),
        )
    if typed.new_chat_action not in ACTIONS:
        errors["new_chat_action"] = FieldError(
            "invalid_action", Text("Choose what happens on a new chat: create a deal, a lead, or nothing")
        )
    pipeline_id: int | None = None
    if typed.new_chat_action == NewChatAction.DEAL.value:
        if not typed.pipeline_id:
            errors["pipeline_id"] = FieldError(
                "pipeline_required", Text("Choose the pipeline new deals go into")
            )
        elif id_from_text(typed.pipeline_id) is None:
            errors["pipeline_id"] = FieldError("unknown_pipeline", _NO_SUCH_PIPELINE)
        else:
            pipeline_id = int(typed.pipeline_id)
            if pipeline_ids is None:
                errors["pipeline_id"] = FieldError(
                    "pipelines_unavailable", Text("Pipedrive's pipelines could not be loaded; try again")
                )
            elif pipeline_id not in pipeline_ids:
                errors["pipeline_id"] = FieldError("unknown_pipeline", _NO_SUCH_PIPELINE)
    else:  # kept for when "create a deal" is chosen again; a stale choice is dropped quietly
        kept = id_from_text(typed.pipeline_id) if typed.pipeline_id else None
        pipeline_id = kept if kept is not None and (pipeline_ids is None or kept in pipeline_ids) else None
    if typed.import_groups and not typed.auto_add_persons:
        errors["import_groups"] = FieldError(
            "groups_need_auto_add",
            Text("Importing groups needs “Add new chats as Persons”: each group becomes a Person of its own"),
        )
    numbers, bad_lines = excluded_numbers(typed.excluded_numbers)
    if bad_lines:
        errors["excluded_numbers"] = bad_lines
    if len(numbers) > MAX_EXCLUDED:
        errors["excluded_numbers"] = FieldError(
            "too_many_excluded", Text("At most %(most)s numbers can be excluded", most=MAX_EXCLUDED)
        )
    message_days = retention_days(typed.message_retention_days, "messages", MIN_MESSAGE_RETENTION_DAYS)
    if isinstance(message_days, FieldError):
        errors["message_retention_days"] = message_days
    media_days = retention_days(typed.media_retention_days, "attachment files")
    if isinstance(media_days, FieldError):
        errors["media_retention_days"] = media_days
    elif isinstance(message_days, int) and message_days and media_days > message_days:
        errors["media_retention_days"] = FieldError(
            "media_outlives_messages",
            Text(
                "Attachment files go with their messages after %(days)s days: keep them for %(days)s days "
                "or fewer",
                days=message_days,
            ),
        )
    if errors:
        return Checked(None, errors)
    assert isinstance(message_days, int) and isinstance(media_days, int)
    values = CompanySettingsValues(
        import_frequency=typed.import_frequency,
        auto_add_persons=typed.auto_add_persons,
        new_chat_action=typed.new_chat_action,
        pipeline_id=pipeline_id,
        import_groups=typed.import_groups,
        excluded_numbers=tuple(numbers),
        message_retention_days=message_days,
        media_retention_days=media_days,
        keep_deleted_text=typed.keep_deleted_text,
    )
    return Checked(values)


def changes(before: CompanySettingsValues, after: CompanySettingsValues) -> dict[str, dict[str, object]]:
    """``{field: {"before": …, "after": …}}`` for the fields that changed."""
    old, new = before.as_dict(), after.as_dict()
    return {key: {"before": old[key], "after": new[key]} for key in new if old[key] != new[key]}
