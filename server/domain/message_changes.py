"""Changes to a message already sent: its sender edited it or deleted it for everyone, or someone reacted.

Transports report them as their own events (WAHA ``message.edited`` / ``message.revoked`` /
``message.reaction``, the Cloud API's ``edit`` / ``revoke`` / ``reaction`` messages); they become one
``MessageChanged`` or ``Reacted`` naming the message by the logical key it was stored under.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from server.domain.jids import logical_message_key
from server.domain.text import Text

DELETED_TEXT = "This message was deleted"
EDITED_LABEL = "edited"


class ChangeKind(StrEnum):
    EDITED = "edited"
    REVOKED = "revoked"  # deleted for everyone by its sender


@dataclass(frozen=True, slots=True)
class MessageChanged:
    """``target_id``'s sender edited it (``text`` is the new text) or deleted it (``text`` is ``None``).

    ``target_from_me`` is the changed message's direction: only its sender can edit or delete it, so it is
    the direction of the change itself.
    """

    account_id: str
    target_id: str  # wa_message_id of the changed message
    target_from_me: bool
    kind: ChangeKind
    at: datetime
    text: str | None = None

    @property
    def target_key(self) -> str:
        return logical_message_key(self.account_id, self.target_id, from_me=self.target_from_me)


@dataclass(frozen=True, slots=True)
class Reacted:
    """``reactor_key`` reacted to ``target_id`` with ``emoji`` ("" removes their reaction).

    ``target_from_me`` is ``None`` when the transport names the message by its id alone (Cloud API).
    """

    account_id: str
    target_id: str
    target_from_me: bool | None
    reactor_key: str  # the chat key of who reacted; "me" for the connected number
    from_me: bool
    emoji: str
    at: datetime
    reactor_name: str | None = None

    def target_keys(self) -> tuple[str, ...]:
        directions = (False, True) if self.target_from_me is None else (self.target_from_me,)
        return tuple(logical_message_key(self.account_id, self.target_id, from_me=d) for d in directions)


@dataclass(frozen=True, slots=True)
class PendingChange:
    """A changed message whose day the sync has yet to rewrite."""

    id: int
    message_id: int
    sent_at: datetime  # the time whose day is rewritten: the message's, or a reaction's


@dataclass(frozen=True, slots=True)
class AppliedChange:
    """What applying a change did to the stored message: its chat, and whether anything changed."""

    message_id: int
    chat_id: int
    changed: bool


@dataclass(frozen=True, slots=True)
class ReactionLine:
    """A reaction as the day's transcript shows it: who, when, which emoji, on what."""

    id: int
    reacted_at: datetime
    from_me: bool
    reactor_key: str
    reactor_name: str
    emoji: str
    quote: str  # the short quote of the message reacted to


def reaction_text(emoji: str, quote: str) -> str:
    """ "👍 to “Can you do 5 % off?”"."""
    return f"{emoji} to “{quote}”"


def reaction_badges(reactions: Sequence[tuple[str, bool, str]]) -> tuple[tuple[str, str | Text], ...]:
    """(emoji, who) for a message's bubble (the panel's and the chat view's), from its (emoji, from me,
    reactor name) reactions: "You", the reactor's name, else "Contact", in the reader's language."""
    return tuple(
        (emoji, Text("You") if from_me else (name or Text("Contact"))) for emoji, from_me, name in reactions
    )
