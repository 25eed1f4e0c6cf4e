"""The app settings page: what the admin chose, the team, the numbers, open problems and the audit log.

Every label here is words to translate (``Text``); what WaPipe stored in English (an installation's state
detail, a sync problem) is shown in the reader's language when it is one of WaPipe's own sentences."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from panels.numbers import NumbersView, status_text
from panels.templating import render
from server.domain.settings_form import (
    MAX_RETENTION_DAYS,
    MIN_MESSAGE_RETENTION_DAYS,
    FieldError,
    SettingsInput,
)
from server.domain.team import TeamMember
from server.domain.text import Text

FREQUENCY_LABELS = (
    ("realtime", Text("In real time")),
    ("1h", Text("Every hour")),
    ("6h", Text("Every 6 hours")),
    ("12h", Text("Every 12 hours")),
    ("24h", Text("Once a day")),
)
ACTION_LABELS = (
    ("deal", Text("Create a deal")),
    ("lead", Text("Create a lead")),
    ("nothing", Text("Do nothing")),
)
ACTION_TITLES = {
    "settings.update": Text("Settings changed"),
    "chat.exclude": Text("Chat excluded"),
    "chat.include": Text("Chat included again"),
    "message.send": Text("Message sent"),
    "chat.relink": Text("Chat re-linked"),
    "chat.keep_link": Text("Link kept after a rules change"),
    "chat.rematch": Text("Chat matched again"),
    "chat.pin": Text("Deal pinned"),
    "chat.unpin": Text("Deal unpinned"),
    "contact.erase": Text("Contact erased"),
    "template.create": Text("Message template created"),
    "template.update": Text("Message template changed"),
    "template.delete": Text("Message template deleted"),
    "cloud_template.map": Text("WhatsApp-approved template mapped"),
    "campaign.create": Text("Campaign created"),
    "campaign.start": Text("Campaign started"),
    "campaign.pause": Text("Campaign paused"),
    "campaign.resume": Text("Campaign resumed"),
    "campaign.cancel": Text("Campaign cancelled"),
    "campaign.stop_words": Text("Stop words changed"),
    "campaign.opt_out": Text("Contact opted out"),
}


@dataclass(frozen=True, slots=True)
class PipelineOption:
    id: int
    name: str


MEMBER_STATES = {
    "installed": (Text("Installed"), "ok"),
    "needs_reauth": (Text("Needs re-authorisation"), "failing"),
    "uninstalled": (Text("Uninstalled"), "pending"),
    "not_installed": (Text("Not installed yet"), "pending"),
}


def stored_words(words: str) -> Text | str:
    """English WaPipe stored (a state's detail, a problem): in the reader's language when it is one of
    WaPipe's own sentences word for word, else as it was stored."""
    return Text(words) if words else ""


def user_label(user_id: int) -> Text:
    """A Pipedrive user nobody named: "User 12"."""
    return Text("User %(id)s", id=user_id)


@dataclass(frozen=True, slots=True)
class TeamNumber:
    number: str | Text
    status_label: str | Text
    status_class: str


@dataclass(frozen=True, slots=True)
class TeamRow:
    name: str | Text  # what to call them: their name, else their email, else "User <id>"
    email: str
    user_id: int
    is_admin: bool
    state: str  # a MemberState value
    state_label: Text
    state_class: str
    detail: str | Text
    numbers: tuple[TeamNumber, ...]


def team_row(member: TeamMember) -> TeamRow:
    label, css = MEMBER_STATES[member.state.value]
    numbers = tuple(
        TeamNumber(
            account.e164 or Text("not linked yet"),
            *status_text(account.status),
        )
        for account in member.numbers
    )
    email = member.email if member.email != member.label else ""
    return TeamRow(
        member.name or member.email or user_label(member.user_id),
        email,
        member.user_id,
        member.is_admin,
        member.state.value,
        label,
        css,
        stored_words(member.detail),
        numbers,
    )


@dataclass(frozen=True, slots=True)
class ChatOption:
    id: int
    label: str | Text
    excluded: bool


@dataclass(frozen=True, slots=True)
class ProblemRow:
    chat_id: int | None
    reason: str
    detail: str | Text


# What the audit log's subjects WaPipe writes say ("settings", "chat #12"); others are names and numbers.
_NUMBERED_SUBJECT = re.compile(r"(chat|message) #(\d+)")


def audit_subject(subject: str) -> str | Text:
    """An audit entry's subject as stored (English) in the reader's language: the words WaPipe writes for
    it translated, a name or number as it is."""
    if subject == "settings":
        return Text("settings")
    numbered = _NUMBERED_SUBJECT.fullmatch(subject)
    if numbered is None:
        return subject
    if numbered.group(1) == "chat":
        return Text("chat #%(id)s", id=numbered.group(2))
    return Text("message #%(id)s", id=numbered.group(2))


@dataclass(frozen=True, slots=True)
class AuditRow:
    actor_user_id: int
    actor_name: str  # "" when no installation of the company knows the user
    action: str
    subject: str | Text
    details: str
    created_at: datetime

    @property
    def title(self) -> Text | str:
        return ACTION_TITLES.get(self.action, self.action)

    @property
    def who(self) -> str | Text:
        return self.actor_name or user_label(self.actor_user_id)


@dataclass(frozen=True, slots=True)
class PreviewLine:
    typed: str
    e164: str
    person_id: int | None
    person_name: str
    rule: str
    source: str
    reason: str
    message: str | Text
    sentence: str | Text = ""  # in plain words: what matched and how, or what a chat would create
    others: tuple[str | Text, ...] = ()  # the other candidates with how each matched, best first
    more_others: int = 0


@dataclass(frozen=True, slots=True)
class ImportSchedule:
    """When the company's waiting chats are written (shown in the batch modes)."""

    batched: bool = False
    waiting_chats: int = 0
    next_at: datetime | None = None  # None: nothing waits


@dataclass(frozen=True, slots=True)
class SettingsFormView:
    typed: SettingsInput
    pipelines: tuple[PipelineOption, ...] | None  # None: Pipedrive could not be asked
    can_edit: bool
    errors: dict[str, FieldError] = field(default_factory=dict)
    saved: bool = False
    frequencies: tuple[tuple[str, Text], ...] = FREQUENCY_LABELS
    actions: tuple[tuple[str, Text], ...] = ACTION_LABELS
    min_message_days: int = MIN_MESSAGE_RETENTION_DAYS
    max_days: int = MAX_RETENTION_DAYS
    schedule: ImportSchedule = field(default_factory=ImportSchedule)
    flushed: int = 0  # chats queued to be written at once by this save

    @property
    def show_pipeline(self) -> bool:
        return self.typed.new_chat_action == "deal"


@dataclass(frozen=True, slots=True)
class EraseView:
    """The erase form's state: ``form`` (type a number), ``confirm`` (what would go), ``done``."""

    stage: str = "form"
    typed: str = ""
    e164: str = ""
    error: FieldError | None = None
    erased: dict[str, int] = field(default_factory=dict)  # chats, messages, attachments, outgoing…
    remaining_in_pipedrive: tuple[str | Text, ...] = ()

    @property
    def nothing_found(self) -> bool:
        return not any(self.erased.values())


@dataclass(frozen=True, slots=True)
class SettingsPageView:
    form: SettingsFormView
    team: tuple[TeamRow, ...]
    numbers: NumbersView
    chats: tuple[ChatOption, ...]
    problems: tuple[ProblemRow, ...] | None  # None: not shown (not an admin)
    audit: tuple[AuditRow, ...]
    install_url: str
    is_admin: bool
    invite_url: str = ""  # the install link to send a team member
    roster_read: bool = True  # False: Pipedrive's users list could not be read; only who installed is shown
    erase: EraseView = field(default_factory=EraseView)
    runners: tuple[tuple[str, datetime], ...] | None = None  # job runners by name (host, process): admins


def audit_row(
    actor: int, actor_name: str, action: str, subject: str, details: dict[str, object], at: datetime
) -> AuditRow:
    encoded = json.dumps(details, ensure_ascii=False, sort_keys=True)
    return AuditRow(actor, actor_name, action, audit_subject(subject), encoded, at)


def chat_option(
    chat_id: int, name: str, number: str | None, is_group: bool, excluded: bool, person_name: str = ""
) -> ChatOption:
    """A chat as the exclusion lists name it: a group by its subject ("Team Nord (group)"); a contact by
    the linked Person's name, else their WhatsApp profile name, and their number."""
    if is_group:
        subject = name or person_name
        if subject:
            return ChatOption(chat_id, Text("%(name)s (group)", name=subject), excluded)
        return ChatOption(chat_id, Text("Group chat %(id)s", id=chat_id), excluded)
    label = " · ".join(part for part in (person_name or name, number or "") if part)
    return ChatOption(chat_id, label or Text("Chat %(id)s", id=chat_id), excluded)


def render_settings_page(view: SettingsPageView) -> str:
    return render("panels/settings.html", view=view)


def render_settings_install(reason: str, message: str | Text, install_url: str) -> str:
    """The page a user without an installation sees instead of the settings: what to do next, and
    nothing of the company."""
    return render("panels/settings_install.html", reason=reason, message=message, install_url=install_url)


def render_settings_form(view: SettingsFormView) -> str:
    return render("partials/_settings_form.html", form=view)


def render_pipeline_slot(view: SettingsFormView) -> str:
    return render("partials/_settings_pipeline.html", form=view)


def render_audit(rows: Sequence[AuditRow]) -> str:
    return render("partials/_settings_audit.html", audit=rows)


def render_chats(chats: Sequence[ChatOption], can_edit: bool, error: FieldError | None = None) -> str:
    return render("partials/_settings_chats.html", chats=chats, can_edit=can_edit, error=error)


def render_erase(view: EraseView) -> str:
    return render("partials/_settings_erase.html", erase=view)


def render_preview(lines: Sequence[PreviewLine], typed: str) -> str:
    return render("partials/_settings_preview.html", lines=lines, typed=typed)
