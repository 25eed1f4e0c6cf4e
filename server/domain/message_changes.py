"""Changes to a message already sent: its sender edited it or deleted it for everyone.

Transports report them as their own events (WAHA ``message.edited`` / ``message.revoked``, the Cloud API's
``edit`` / ``revoke`` messages); both become one ``MessageChanged`` naming the changed message by the
same logical key the message was stored under.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from server.domain.jids import logical_message_key

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
class PendingChange:
    """A changed message whose day the sync has yet to rewrite."""

    id: int
    message_id: int
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class AppliedChange:
    """What applying a change did to the stored message: its chat, and whether anything changed."""

    message_id: int
    chat_id: int
    changed: bool
