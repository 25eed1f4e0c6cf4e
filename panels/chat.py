"""The chat view: one chat's whole history, newest page first, with media, ticks and a reply box."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from panels.chat_new import NewChatForm
from panels.templating import render
from server.domain.message_kinds import KindView
from server.domain.text import Text

TICKS = {
    "pending": ("🕓", Text("Pending")),
    "queued": ("🕓", Text("Queued")),
    "sent": ("✓", Text("Sent")),
    "delivered": ("✓✓", Text("Delivered")),
    "read": ("✓✓", Text("Read")),
    "played": ("✓✓", Text("Played")),
    "failed": ("!", Text("Failed")),
}
INLINE_IMAGES = ("image/jpeg", "image/png", "image/gif", "image/webp")
# What an attachment is called when it has no file name (English: the kind as it is stored).
MEDIA_KINDS = {
    "image": Text("image"),
    "video": Text("video"),
    "audio": Text("audio"),
    "voice": Text("voice"),
    "document": Text("document"),
    "sticker": Text("sticker"),
    "gif": Text("gif"),
}


@dataclass(frozen=True, slots=True)
class MessageView:
    id: int
    from_me: bool
    sender: str
    text: str
    sent_at: datetime
    status: str
    media_kind: str
    media_mime: str
    media_filename: str
    media_state: str
    media_url: str
    kind: KindView | None = None  # a location, shared contacts or a call
    edited: bool = False  # shown with "(edited)"
    deleted: bool = False  # shown as "This message was deleted"
    quote: str = ""  # a reply: the short quote of the message it answers
    reactions: tuple[tuple[str, str | Text], ...] = ()  # (emoji, who)
    earlier: tuple[tuple[str, datetime], ...] = ()  # the texts edits replaced, oldest first

    @property
    def tick(self) -> tuple[str, str | Text]:
        return TICKS.get(self.status, ("", self.status))

    @property
    def kind_label(self) -> str | Text:
        return MEDIA_KINDS.get(self.media_kind, self.media_kind)

    @property
    def file_label(self) -> str | Text:
        """The download link's words: the file's name, else what kind of file it is."""
        return self.media_filename or Text("%(kind)s file", kind=self.kind_label)

    @property
    def media_note(self) -> Text:
        """An attachment that is not stored, and why."""
        name = self.media_filename or self.kind_label
        if self.media_state == "unavailable":
            return Text("%(name)s (not available)", name=name)
        if self.media_state == "too_large":
            return Text("%(name)s (too large)", name=name)
        if self.media_state == "removed":
            return Text("%(name)s (removed by retention)", name=name)
        return Text("%(name)s (not downloaded yet)", name=name)

    @property
    def is_image(self) -> bool:
        return self.media_state == "stored" and self.media_mime in INLINE_IMAGES

    @property
    def is_audio(self) -> bool:
        return self.media_state == "stored" and self.media_mime.startswith("audio/")

    @property
    def has_file(self) -> bool:
        return self.media_state == "stored"


@dataclass(frozen=True, slots=True)
class HistoryPage:
    chat_id: int
    messages: tuple[MessageView, ...]  # oldest first, as shown
    older_url: str | None
    newer_url: str | None = None  # polled for messages stored after these (not on pages of older ones)
    poll_seconds: float = 3.0  # how often the open history asks for newer messages
    changed: tuple[MessageView, ...] = ()  # shown messages that changed: swapped in place, out of band
    polled: bool = False  # the answer to the open page's poll (no "no messages yet" when none is new)


@dataclass(frozen=True, slots=True)
class ReplyForm:
    chat_id: int
    csrf_token: str
    client_ref: str
    text: str = ""
    error_reason: str = ""
    error_message: str | Text = ""
    sent: bool = False
    can_reply: bool = True
    max_upload_mb: int = 16


@dataclass(frozen=True, slots=True)
class ChatPageView:
    chat_id: int
    title: str | Text
    number: str
    account_number: str
    person_name: str
    user_name: str
    history: HistoryPage
    reply: ReplyForm
    new_chat: NewChatForm | None = None


def render_chat_page(view: ChatPageView) -> str:
    return render("panels/chat.html", view=view)


def render_history(page: HistoryPage) -> str:
    return render("partials/_chat_history.html", page=page)


def render_reply(form: ReplyForm) -> str:
    return render("partials/_chat_reply.html", reply=form)


def render_chat_problem(
    reason: str, message: str | Text, retry_url: str | None = None, install_url: str | None = None
) -> str:
    return render(
        "panels/chat_problem.html",
        reason=reason,
        message=message,
        retry_url=retry_url,
        install_url=install_url,
    )


def message_views(messages: Sequence[MessageView]) -> tuple[MessageView, ...]:
    return tuple(sorted(messages, key=lambda m: (m.sent_at, m.id)))
