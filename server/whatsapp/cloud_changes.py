"""Cloud API ``edit``, ``revoke`` and ``reaction`` messages → ``MessageChanged`` and ``Reacted``. Pure.

A customer's edit arrives in ``messages`` as ``{"type": "edit", "edit": {"original_message_id": …,
"message": {"type": "text", "text": {"body": …}}}}`` (a caption edit carries the media object with its
``caption``); a deletion as ``{"type": "revoke", "revoke": {"original_message_id": …}}``. The owner's own
edits and deletions made in the WhatsApp Business app arrive the same way in ``smb_message_echoes``. A
reaction is ``{"type": "reaction", "reaction": {"message_id": …, "emoji": …}}``; without ``emoji`` (or
with "") it removes the reaction. The message is named by its wamid alone, whichever way it went.
"""

from __future__ import annotations

from datetime import datetime

from server.domain.errors import InvalidChatId, MalformedWebhook
from server.domain.jids import parse_jid
from server.domain.message_changes import ChangeKind, MessageChanged, Reacted
from server.whatsapp.untrusted_input import JsonObject, datetime_from_epoch, get_int, get_object, get_str

CHANGE_TYPES = frozenset({"edit", "revoke", "reaction"})
EMOJI_LIMIT = 64
_CAPTIONED = ("image", "video", "document")


def parse_change(
    raw: JsonObject, account_id: str, *, from_me: bool, fallback_at: datetime
) -> MessageChanged | Reacted:
    """``raw`` is a message whose ``type`` is in ``CHANGE_TYPES``."""
    kind = get_str(raw, "type")
    if kind == "reaction":
        return _reaction(raw, account_id, from_me=from_me, fallback_at=fallback_at)
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


def _reaction(raw: JsonObject, account_id: str, *, from_me: bool, fallback_at: datetime) -> Reacted:
    reaction = get_object(raw, "reaction")
    target = get_str(reaction, "message_id")
    if target is None:
        raise MalformedWebhook("A Cloud API reaction names no message_id", reason="missing_reaction")
    sender = get_str(raw, "from")
    if not from_me and sender is None:
        raise MalformedWebhook("A Cloud API reaction names no sender", reason="invalid_reactor")
    return Reacted(
        account_id=account_id,
        target_id=target,
        target_from_me=None,
        reactor_key="me" if from_me else _user_key(sender or ""),
        from_me=from_me,
        emoji=(get_str(reaction, "emoji") or "").strip()[:EMOJI_LIMIT],
        at=datetime_from_epoch(get_int(raw, "timestamp")) or fallback_at,
    )


def _user_key(wa_id: str) -> str:
    """The canonical chat key of a ``wa_id`` (a business-scoped ``US.…`` id stays as it is)."""
    try:
        return parse_jid(wa_id).chat_key
    except InvalidChatId:
        return wa_id[:128]
