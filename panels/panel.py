"""The "Send WhatsApp message" panel: the conversation with the Person, how their chat is linked, the form."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from panels.errors import ErrorView, panel_error
from panels.i18n import ENGLISH, language, moment
from panels.panel_form import FormView
from panels.templating import render
from server.domain.conversation import ContactChat, ContactMessage
from server.domain.errors import InvalidChatId
from server.domain.jids import parse_jid
from server.domain.message_changes import reaction_badges
from server.domain.message_kinds import KindView, kind_view
from server.domain.models import OutboxEntry, OutboxStatus
from server.domain.send_echoes import echoed_sends
from server.domain.send_failures import stored_failure
from server.domain.text import Text

TICKS = {
    "pending": ("🕓", Text("Waiting to be sent")),
    "queued": ("🕓", Text("Waiting to be sent")),
    "sending": ("🕓", Text("Sending")),
    "sent": ("✓", Text("Sent")),
    "delivered": ("✓✓", Text("Delivered")),
    "read": ("✓✓", Text("Read")),
    "played": ("✓✓", Text("Played")),
    "failed": ("!", Text("Not sent")),
}
RULES = {
    "stored_link": Text("the WhatsApp chat link stored on the Person"),
    "index_exact": Text("an exact phone number match"),
    "index_fuzzy": Text("a phone number written differently"),
    "search_exact": Text("an exact phone number match (search)"),
    "search_fuzzy": Text("a phone number written differently (search)"),
    "country_variant": Text("the same number in its country's other format"),
    "created": Text("a Person WaPipe created for the chat"),
    "manual": Text("a manual link"),
}
# An attachment without a file name is named by its kind.
MEDIA_KINDS = {
    "image": Text("image"),
    "video": Text("video"),
    "audio": Text("audio"),
    "voice": Text("voice note"),
    "document": Text("document"),
    "sticker": Text("sticker"),
    "gif": Text("gif"),
}
# How a message's time is written before the page writes it in the reader's time zone (local_time.js
# writes the same way), by language.
TIME_PATTERNS = {"en": "dd MMM HH:mm", "ja": "MMMdd日 HH:mm"}


@dataclass(frozen=True, slots=True)
class MessageRow:
    key: str
    from_me: bool
    text: str
    time_label: str
    via: str  # the company's number the message went through
    author: str | Text
    status: str
    tick: str
    tick_title: str | Text
    media_kind: str = ""
    media_name: str = ""
    media_url: str = ""
    media_removed: bool = False
    media_note: str | Text = (
        ""  # why an attachment cannot be opened: "not available", "removed by retention", …
    )
    error: ErrorView | None = None
    outbox_id: int | None = None  # a send not (yet) stored as a message
    retry_url: str = ""  # a failed send: puts it back into the form
    edited: bool = False  # shown with "(edited)"
    deleted: bool = False  # shown as "This message was deleted"
    quote: str = ""  # a reply: the short quote of the message it answers
    reactions: tuple[tuple[str, str | Text], ...] = ()  # (emoji, who)
    kind: KindView | None = None  # a location, shared contacts or a call
    at: datetime | None = None  # when it was sent (shown in the reader's time zone by the page)

    @property
    def media_title(self) -> str | Text:
        """The attachment's file name, else its kind ("image")."""
        return self.media_name or MEDIA_KINDS.get(self.media_kind, self.media_kind)


@dataclass(frozen=True, slots=True)
class MessagesView:
    rows: tuple[MessageRow, ...]
    poll_url: str
    version: str
    poll_seconds: float = 3.0  # how often the open panel asks for new messages


@dataclass(frozen=True, slots=True)
class LinkView:
    chat_id: int
    rule: str
    person_id: int | None
    alternatives: tuple[int, ...]
    pinned_deal_id: int | None
    deal_id: int | None
    suggested_deal_id: int | None
    notice: str | Text = ""
    error: ErrorView | None = None
    typed_person: str = ""  # what was typed into "Re-link" / "Pin" when it was refused, to keep it
    typed_deal: str = ""
    search_delay_ms: int = 400  # the pause in typing after which the search asks Pipedrive

    @property
    def rule_label(self) -> str | Text:
        return RULES.get(self.rule, self.rule or Text("not matched yet"))


@dataclass(frozen=True, slots=True)
class PanelView:
    person_id: int
    person_name: str
    deal_id: int | None
    messages: MessagesView
    form: FormView
    link: LinkView | None
    chat_url: str | None


_MEDIA_NOTES = {
    "unavailable": Text("not available"),
    "too_large": Text("too large"),
    "removed": Text("removed by retention"),
    "pending": Text("not downloaded yet"),
}


def _media_note(state: str) -> str | Text:
    """What the panel says of an attachment it cannot link to (the chat view says the same)."""
    return _MEDIA_NOTES.get(state, "")


def _time_label(at: datetime, timezone: str) -> str:
    try:
        zone = ZoneInfo(timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    code = language()
    return moment(at.astimezone(zone), TIME_PATTERNS.get(code, TIME_PATTERNS[ENGLISH]), code)


def _contact_names(messages: Sequence[ContactMessage]) -> dict[int, str]:
    """Each chat's contact as their latest named message calls them: a call or a poll vote carries no name
    of its own, and is the same person's."""
    names: dict[int, str] = {}
    for message in messages:
        if not message.from_me and message.sender_name:
            names[message.chat_id] = message.sender_name
    return names


def _group_member(message: ContactMessage) -> str | Text:
    """Who wrote in a group: their name, else their number, else "Group member"."""
    if message.sender_name:
        return message.sender_name
    try:
        number = parse_jid(message.sender_key).e164 if message.sender_key else None
    except InvalidChatId:
        number = None
    return number or Text("Group member")


def message_rows(
    messages: Sequence[ContactMessage],
    outbox: Sequence[OutboxEntry],
    numbers: dict[int, str],
    timezone: str,
    media_url: Callable[[int], str],
    groups: Collection[int] = (),
) -> tuple[MessageRow, ...]:
    """Stored messages, plus sends still on their way (pending) or refused (failed with the reason).
    In the chats of ``groups`` (chat ids) each message names its own sender."""
    rows: list[tuple[datetime, MessageRow]] = []
    names = _contact_names(messages)
    for message in messages:
        author: str | Text
        if message.from_me:
            author = Text("You")
        elif message.chat_id in groups:
            author = _group_member(message)
        else:
            author = message.sender_name or names.get(message.chat_id) or Text("Contact")
        tick, title = TICKS.get(message.status, ("", message.status))
        rows.append(
            (
                message.sent_at,
                MessageRow(
                    key=f"m{message.id}",
                    from_me=message.from_me,
                    text=message.text,
                    time_label=_time_label(message.sent_at, timezone),
                    via=message.account_e164 or "",
                    author=author,
                    at=message.sent_at,
                    status=message.status,
                    tick=tick if message.from_me else "",
                    tick_title=title,
                    media_kind=message.media_kind,
                    media_name=message.media_filename,
                    media_url=media_url(message.id) if message.media_stored else "",
                    media_removed=message.media_removed,
                    media_note="" if message.media_stored else _media_note(message.media_state),
                    edited=message.edited,
                    deleted=message.deleted,
                    quote=message.quote or "",
                    reactions=reaction_badges(message.reactions),
                    kind=kind_view(message.details),
                ),
            )
        )
    stored = {message.message_key for message in messages}
    echoed = echoed_sends(outbox, messages)
    for entry in outbox:
        if entry.status == OutboxStatus.SENT and (entry.message_key in stored or entry.message_key is None):
            continue
        if entry.id in echoed:  # its echo is the stored message above
            continue
        if entry.status == OutboxStatus.SENT:
            status = "sent"
        elif entry.status == OutboxStatus.FAILED:
            status = "failed"
        else:
            status = "pending"
        tick, title = TICKS[status]
        failed = status == "failed"
        error = (
            panel_error(entry.error_reason, stored_failure(entry.error_reason, entry.error_message))
            if failed
            else None
        )
        rows.append(
            (
                entry.created_at,
                MessageRow(
                    key=f"o{entry.id}",
                    from_me=True,
                    text=entry.text,
                    time_label=_time_label(entry.created_at, timezone),
                    via=numbers.get(entry.account_id, ""),
                    author=Text("You"),
                    status=status,
                    tick=tick,
                    tick_title=title,
                    media_kind="document" if entry.file_id else "",
                    media_name=entry.file_name,
                    at=entry.created_at,
                    error=error,
                    outbox_id=entry.id,
                ),
            )
        )
    rows.sort(key=lambda pair: pair[0])
    return tuple(row for _, row in rows)


def messages_view(
    rows: tuple[MessageRow, ...], person_id: int, deal_id: int | None, *, poll_seconds: float = 3.0
) -> MessagesView:
    def retry_url(outbox_id: int) -> str:
        query = {"person_id": person_id, "retry": outbox_id}
        if deal_id is not None:
            query["deal_id"] = deal_id
        return "/panel/form?" + urlencode(query)

    rows = tuple(
        replace(row, retry_url=retry_url(row.outbox_id))
        if row.status == "failed" and row.outbox_id is not None
        else row
        for row in rows
    )
    digest = hashlib.sha256()
    for row in rows:
        seen = f"{row.text}\x00{row.reactions}\x00{row.kind}"  # a call's line changes when it is answered
        changed = f"{row.edited}:{row.deleted}:{hashlib.sha256(seen.encode()).hexdigest()[:8]}"
        digest.update(f"{row.key}:{row.status}:{row.media_url != ''}:{row.media_note}:{changed};".encode())
    version = digest.hexdigest()[:16]
    query = {"person_id": person_id, "v": version}
    if deal_id is not None:
        query["deal_id"] = deal_id
    return MessagesView(rows, "/panel/messages?" + urlencode(query), version, poll_seconds)


def link_view(chat: ContactChat, person_id: int, deal_id: int | None) -> LinkView:
    return LinkView(
        chat_id=chat.id,
        rule=chat.rule,
        person_id=chat.person_id,
        alternatives=tuple(p for p in chat.alternatives if p != chat.person_id),
        pinned_deal_id=chat.pinned_deal_id,
        deal_id=chat.deal_id,
        suggested_deal_id=deal_id if deal_id != chat.pinned_deal_id else None,
    )


def render_panel(view: PanelView) -> str:
    return render("panels/panel.html", view=view, error=None)


def render_messages(view: MessagesView) -> str:
    return render("partials/_panel_messages.html", messages=view)


def render_link(view: LinkView) -> str:
    return render("partials/_panel_link.html", link=view)


def render_panel_error(error: ErrorView) -> str:
    return render("panels/panel.html", view=None, error=error)
