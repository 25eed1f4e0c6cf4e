"""The day's transcript: the HTML note (and subject) of a chat's "WhatsApp chat" activity.

Rendering is a pure function of the day's message records: lines are ordered by (sent_at, key), so
rendering again after a retry, a replay or a catch-up gives byte-identical notes, and ``content_hash``
lets the engine skip a PATCH that would change nothing. Everything a WhatsApp user typed (text, names,
file names) is treated as hostile: HTML-escaped, stripped of bidi overrides and invisible characters
that could make a line read as something else, and only ``ALLOWED_TAGS`` are produced.

Pipedrive caps a note at 100 KB (UTF-8 bytes of the HTML), so a busy day is split into parts, each its
own activity ("… (part 2)"); a line never spans two parts, and appending lines never changes the parts
already filled. A single message too large for a note on its own is cut, with a line saying so.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from server.domain.days import as_utc, local_clock
from server.domain.message_changes import DELETED_TEXT, EDITED_LABEL
from server.domain.message_kinds import MessageDetails, describe
from server.domain.quotes import QUOTE_LIMIT
from server.domain.whatsapp import Delivery, MediaKind

NOTE_LIMIT_BYTES = 100_000
MIN_NOTE_BYTES = 4_096  # room for any line without its text (names and file names are capped)
SUBJECT_LIMIT = 255
ALLOWED_TAGS = frozenset({"p", "br", "b", "i", "a"})
_NAME_LIMIT = 100
_FILE_NAME_LIMIT = 200
_URL_LIMIT = 2_000
_MAX_PREFIX_BYTES = 64  # the "Continued from part N" line, for any realistic N

# Bidi embeddings, overrides and isolates reorder what follows them ("txt.exe" shown as "exe.txt");
# zero-width and other invisible characters hide text or make different strings look the same.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_INVISIBLE = frozenset("\u200b\u2060\u2061\u2062\u2063\u2064\ufeff\u180e\u00ad")
_JOINERS = frozenset("\u200c\u200d")  # needed inside emoji sequences and Persian/Indic words only
_LINE_BREAKS = re.compile(r"\r\n|[\r\u2028\u2029\u0085]")
_URL = re.compile(r"https?://[^\s\"'<>\\\x00-\x1f\x7f]+", re.IGNORECASE)

_MEDIA_LABELS = {
    MediaKind.IMAGE: "Image",
    MediaKind.VIDEO: "Video",
    MediaKind.AUDIO: "Audio",
    MediaKind.VOICE: "Voice note",
    MediaKind.DOCUMENT: "Document",
    MediaKind.STICKER: "Sticker",
    MediaKind.GIF: "GIF",
}


@dataclass(frozen=True, slots=True)
class TranscriptAttachment:
    """A message's media as the transcript shows it.

    ``url``: where the file can be opened (its Pipedrive file, or our web view); only http(s) is linked.
    ``too_large``: over Pipedrive's upload limit, so it lives only in WaPipe. ``unavailable``: it could
    not be downloaded (its link expired, or every attempt failed). ``pending``: not downloaded yet.
    """

    kind: MediaKind
    file_name: str | None = None
    url: str | None = None
    size_bytes: int | None = None
    duration_seconds: int | None = None
    too_large: bool = False
    unavailable: bool = False
    removed: bool = False  # its file was deleted by the company's retention setting
    pending: bool = False  # its download is still being tried


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    """One message of the day, independent of how it is stored. ``key`` is its logical message key."""

    key: str
    sent_at: datetime
    from_me: bool
    text: str | None = None
    sender_name: str | None = None  # in groups: the participant who wrote it
    sender_number: str | None = None  # in groups, when the participant's name is unknown
    attachment: TranscriptAttachment | None = None
    status: Delivery | None = None
    edited: bool = False  # shown with "(edited)"
    deleted: bool = False  # deleted by its sender: "This message was deleted" (and the text, if kept)
    quote: str | None = None  # a reply: the short quote of the message it answers
    reaction: str | None = None  # a reaction: "👍 to “Can you do 5 % off?”"
    details: MessageDetails | None = None  # a location, shared contacts or a call


@dataclass(frozen=True, slots=True)
class TranscriptChat:
    """The chat the transcript belongs to, and how to render it."""

    zone: ZoneInfo
    contact_name: str | None = None  # how the contact's lines name them (their WhatsApp name), or the group's
    subject_name: str | None = None  # what the subject calls the chat (its Person's name); else contact_name
    contact_number: str | None = None  # E.164
    is_group: bool = False
    show_status: bool = False  # delivery ticks change often: showing them costs a PATCH per tick
    you_label: str = "You"


@dataclass(frozen=True, slots=True)
class TranscriptPart:
    """One activity's worth of the day: its subject, its note and the lines in it."""

    number: int
    subject: str
    html: str
    line_keys: tuple[str, ...]
    content_hash: str

    @property
    def size_bytes(self) -> int:
        return len(self.html.encode())


def render_transcript(
    lines: Iterable[TranscriptLine], chat: TranscriptChat, *, max_bytes: int = NOTE_LIMIT_BYTES
) -> tuple[TranscriptPart, ...]:
    """The day's parts, each note at most ``max_bytes`` UTF-8 bytes; ``()`` for no lines.

    Lines are ordered by (sent_at, key); a key given twice is rendered once (the first in that order).
    """
    ordered: dict[str, TranscriptLine] = {}
    for line in sorted(lines, key=lambda item: (as_utc(item.sent_at), item.key)):
        ordered.setdefault(line.key, line)
    if max_bytes < MIN_NOTE_BYTES:
        raise ValueError(f"max_bytes must be at least {MIN_NOTE_BYTES}")
    groups: list[list[tuple[str, str]]] = []
    used = 0
    for key, line in ordered.items():
        rendered = render_line(line, chat, max_bytes=max_bytes - _MAX_PREFIX_BYTES)
        size = len(rendered.encode())
        if not groups or used + size > max_bytes:
            groups.append([])
            used = len(_continuation(len(groups) - 1).encode()) if len(groups) > 1 else 0
        groups[-1].append((key, rendered))
        used += size
    parts = []
    for index, group in enumerate(groups, start=1):
        note = (_continuation(index - 1) if index > 1 else "") + "".join(rendered for _, rendered in group)
        subject = activity_subject(chat, part=index)
        keys = tuple(key for key, _ in group)
        parts.append(TranscriptPart(index, subject, note, keys, content_hash(subject, note)))
    return tuple(parts)


def render_line(line: TranscriptLine, chat: TranscriptChat, *, max_bytes: int | None = None) -> str:
    """One message as ``<p>HH:MM → <b>Name</b>: …</p>``; its text is cut to fit ``max_bytes`` if given."""
    rendered = _render_line(line, chat, line.text)
    if max_bytes is None or len(rendered.encode()) <= max_bytes or not line.text:
        return rendered
    note = f" [message cut here: the full text ({_size(len(line.text.encode()))}) is kept in WaPipe]"
    low, high = 0, len(line.text)
    while low < high:  # the longest prefix of the text that still fits
        middle = (low + high + 1) // 2
        if len(_render_line(line, chat, line.text[:middle] + "…" + note).encode()) <= max_bytes:
            low = middle
        else:
            high = middle - 1
    return _render_line(line, chat, line.text[:low] + "…" + note)


def activity_subject(chat: TranscriptChat, *, part: int = 1) -> str:
    """ "WhatsApp chat with <name or +number>", "… (part 2)"; plain text of at most 255 characters. The name
    is ``subject_name`` (the linked Person's), else ``contact_name``."""
    name = (
        single_line(chat.subject_name or "")
        or single_line(chat.contact_name or "")
        or single_line(chat.contact_number or "")
        or "unknown contact"
    )
    suffix = f" (part {part})" if part > 1 else ""
    head = "WhatsApp chat with "
    room = SUBJECT_LIMIT - len(head) - len(suffix)
    if len(name) > room:
        name = name[: room - 1].rstrip() + "…"
    return head + name + suffix


def content_hash(subject: str, note: str) -> str:
    """A hash of what a PATCH would send: equal hashes mean the activity needs no update."""
    return hashlib.sha256(f"{subject}\x00{note}".encode()).hexdigest()


def neutralise(text: str) -> str:
    """``text`` without characters that could spoof how it reads; newlines kept as "\\n".

    Removes bidi embeddings/overrides/isolates, zero-width and invisible characters and control
    characters (tabs become spaces). Zero-width joiners survive only between two non-ASCII visible
    characters, where emoji sequences and Persian or Indic words need them.
    """
    text = _LINE_BREAKS.sub("\n", text)
    kept: list[str] = []
    for index, ch in enumerate(text):
        if ch in _BIDI_CONTROLS or ch in _INVISIBLE:
            continue
        if ch in _JOINERS:
            before = kept[-1] if kept else ""
            after = text[index + 1] if index + 1 < len(text) else ""
            if not (_joinable(before) and _joinable(after)):
                continue
        elif ch == "\t":
            ch = " "
        elif ch != "\n" and unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn"):
            continue
        kept.append(ch)
    return "".join(kept)


def single_line(text: str, limit: int = _NAME_LIMIT) -> str:
    """A name or file name: neutralised, whitespace collapsed to single spaces, at most ``limit`` chars."""
    cleaned = " ".join(neutralise(text).split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def _render_line(line: TranscriptLine, chat: TranscriptChat, text: str | None) -> str:
    arrow = "→" if line.from_me else "←"
    body: list[str] = [f"<i>{DELETED_TEXT}</i>"] if line.deleted else []
    if line.reaction:
        body.append(html.escape(single_line(line.reaction, QUOTE_LIMIT + 80)))
    if line.quote and not line.deleted:
        body.append(f"<i>↪ “{html.escape(single_line(line.quote, QUOTE_LIMIT))}”</i>")
    if line.attachment is not None:
        body.append(_attachment(line.attachment))
    if line.details is not None:
        body.append(_details(line.details))
    if text:
        body.append(html.escape(neutralise(text).strip("\n")).replace("\n", "<br>"))
    status = ""
    if chat.show_status and line.from_me and line.status is not None:
        status = f" <i>({line.status.value})</i>"
    content = "<br>".join(part for part in body if part)
    if line.edited and not line.deleted:
        content += f" <i>({EDITED_LABEL})</i>"
    name = html.escape(_sender(line, chat))
    return f"<p>{local_clock(line.sent_at, chat.zone)} {arrow} <b>{name}</b>: {content}{status}</p>"


def _sender(line: TranscriptLine, chat: TranscriptChat) -> str:
    if line.from_me:
        return single_line(chat.you_label) or "You"
    candidates: tuple[str | None, ...]
    if chat.is_group:
        candidates = (line.sender_name, line.sender_number)
    else:
        candidates = (chat.contact_name, chat.contact_number, line.sender_name)
    return next((name for c in candidates if c and (name := single_line(c))), "Unknown")


def _attachment(attachment: TranscriptAttachment) -> str:
    label = _MEDIA_LABELS.get(attachment.kind, "Attachment")
    if attachment.duration_seconds is not None and attachment.duration_seconds >= 0:
        label += " " + _duration(attachment.duration_seconds)
    file_name = single_line(attachment.file_name or "", _FILE_NAME_LIMIT)
    url = attachment.url if attachment.url and len(attachment.url) <= _URL_LIMIT else None
    link_target = url if url is not None and _URL.fullmatch(url) else None
    shown = html.escape(file_name or label)
    linked = f'<a href="{html.escape(link_target, quote=True)}">{shown}</a>' if link_target else shown
    described = f"{html.escape(label)}: {linked}" if file_name else linked
    if attachment.too_large:
        size = f" ({_size(attachment.size_bytes)})" if attachment.size_bytes is not None else ""
        return f"{described} <i>(attachment too large for Pipedrive{size}: kept in WaPipe)</i>"
    if attachment.unavailable:
        return f"{described} <i>(not available: it could not be downloaded from WhatsApp)</i>"
    if attachment.pending:
        return f"{described} <i>(not downloaded yet: WaPipe is trying again)</i>"
    if attachment.removed:
        return f"{described} <i>(removed by retention)</i>"
    return described


def _details(details: MessageDetails) -> str:
    """``Location: <a href="https://…maps…">place</a>``, ``Contact: name (numbers)``, ``Call: …``."""
    view = describe(details)  # in English: the notes are the whole company's
    text = html.escape(single_line(str(view.text), _FILE_NAME_LIMIT * 5))
    if view.url is not None and _URL.fullmatch(view.url):
        text = f'<a href="{html.escape(view.url, quote=True)}">{text}</a>'
    return f"{html.escape(str(view.label))}: {text}"


def _continuation(previous_part: int) -> str:
    return f"<p><i>Continued from part {previous_part}.</i></p>"


def _joinable(ch: str) -> bool:
    return bool(ch) and not ch.isascii() and not ch.isspace() and unicodedata.category(ch)[0] != "C"


def _duration(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _size(size_bytes: int) -> str:
    """Binary units, as file managers show them: "23 MB", "1.5 MB", "800 KB"."""
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size_bytes >= factor:
            value = size_bytes / factor
            return f"{value:.0f} {unit}" if value >= 10 else f"{value:.1f} {unit}".replace(".0 ", " ")
    return f"{size_bytes} bytes"
