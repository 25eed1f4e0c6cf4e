"""What the panel reads about one contact: their chats across the company's numbers and the messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ContactChat:
    """One chat of one of the company's numbers with the contact, and how it is linked to Pipedrive."""

    id: int
    account_id: int
    account_e164: str | None
    chat_e164: str | None
    display_name: str
    last_message_at: datetime | None
    person_id: int | None = None
    rule: str = ""
    alternatives: tuple[int, ...] = ()
    pinned_deal_id: int | None = None
    deal_id: int | None = None
    is_group: bool = False  # a group chat: its Person stands for the group, answered under ``chat_key``
    chat_key: str = ""


@dataclass(frozen=True, slots=True)
class ContactMessage:
    """One stored message, with the attachment as downloaded (``media_sha256`` when it is on disk)."""

    id: int
    chat_id: int
    account_id: int
    account_e164: str | None
    message_key: str
    from_me: bool
    sender_name: str
    text: str
    status: str
    sent_at: datetime
    media_kind: str = ""
    media_mime: str = ""
    media_filename: str = ""
    media_stored: bool = False
    media_removed: bool = False  # its file was deleted by the company's attachment retention
    media_state: str = ""  # a MediaState value, "" for a message without an attachment
    edited: bool = False  # its sender edited it
    deleted: bool = False  # its sender deleted it
    quote: str | None = None  # a reply: the short quote of the message it answers
    reactions: tuple[tuple[str, bool, str], ...] = ()  # (emoji, from me, reactor name), oldest first
    details: str = ""  # a location, contacts or a call (``message_kinds.encode``)
    sender_key: str = ""  # who wrote it (in a group: one of its members)
