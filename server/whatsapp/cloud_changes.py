"""Cloud API ``edit`` and ``revoke`` messages → ``MessageChanged``. Pure.

A customer's edit arrives in ``messages`` as ``{"type": "edit", "edit": {"original_message_id": …,
"message": {"type": "text", "text": {"body": …}}}}`` (a caption edit carries the media object with its
``caption``); a deletion as ``{"type": "revoke", "revoke": {"original_message_id": …}}``. The owner's own
edits and deletions made in the WhatsApp Business app arrive the same way in ``smb_message_echoes``.
"""

from __future__ import annotations

from datetime import datetime

from server.domain.errors import MalformedWebhook
from server.domain.message_changes import ChangeKind, MessageChanged
from server.whatsapp.untrusted_input import JsonObject, datetime_from_epoch, get_int, get_object, get_str

CHANGE_TYPES = frozenset({"edit", "revoke"})
_CAPTIONED = ("image", "video", "document")


def parse_change(raw: JsonObject, account_id: str, *, from_me: bool, fallback_at: datetime) -> MessageChanged:
    """``raw`` is a message whose ``type`` is in ``CHANGE_TYPES``."""
    kind = get_str(raw, "type")
    body = get_object(raw, kind or "")
    target = get_str(body, "original_message_id")
    if target is None:
        raise MalformedWebhook(
            f"A Cloud API {kind} message names no original_message_id", reason="missing_original_message_id"
        )
    at = datetime_from_epoch(get_int(raw, "timestamp")) or fallback_at
    if kind == "revoke":
        return MessageChanged(account_id, target, from_me, ChangeKind.REVOKED, at)
    return MessageChanged(account_id, target, from_me, ChangeKind.EDITED, at, text=_new_text(body))


def _new_text(edit: JsonObject | None) -> str:
    message = get_object(edit, "message")
    kind = get_str(message, "type") or "text"
    if kind == "text":
        text = get_str(get_object(message, "text"), "body")
    elif kind in _CAPTIONED:
        text = get_str(get_object(message, kind), "caption")
    else:
        text = None
    if text is None:
        raise MalformedWebhook(
            f"A Cloud API edit carries no new text (its message is of type {kind[:20]!r})",
            reason="missing_edit_text",
        )
    return text
