"""WAHA ``message.edited`` and ``message.revoked`` payloads → ``MessageChanged``. Pure.

``message.edited`` carries the edit as a message of its own (its own ``id``; ``body`` is the new text)
and names the edited message by ``editedMessageId``. ``message.revoked`` names the deleted message by
``revokedMessageId``, with ``before`` (the message as it was, when the engine still had it) and
``after`` (the revocation). Either id may come bare or serialized (``true_<chat>_<id>``).
"""

from __future__ import annotations

from datetime import datetime

from server.domain.errors import InvalidChatId, MalformedWebhook
from server.domain.jids import split_message_id
from server.domain.message_changes import ChangeKind, MessageChanged
from server.whatsapp.untrusted_input import JsonObject, get_bool, get_object, get_str


def parse_edited(payload: JsonObject, *, account_id: str, at: datetime) -> MessageChanged:
    target = get_str(payload, "editedMessageId")
    if target is None:
        raise MalformedWebhook(
            "A WAHA message.edited event names no editedMessageId", reason="missing_edited_message_id"
        )
    body = payload.get("body")
    text = body if isinstance(body, str) else ""
    wa_id, from_me = _target(target, get_bool(payload, "fromMe"), get_str(payload, "id"))
    return MessageChanged(account_id, wa_id, from_me, ChangeKind.EDITED, at, text=text)


def parse_revoked(payload: JsonObject, *, account_id: str, at: datetime) -> MessageChanged:
    before, after = get_object(payload, "before"), get_object(payload, "after")
    target = get_str(payload, "revokedMessageId") or get_str(before, "id")
    if target is None:
        raise MalformedWebhook(
            "A WAHA message.revoked event names no revokedMessageId", reason="missing_revoked_message_id"
        )
    # The deleted message's own direction: a group admin may delete someone else's message.
    stated = get_bool(before, "fromMe")
    if stated is None:
        stated = get_bool(after, "fromMe")
    wa_id, from_me = _target(target, stated, get_str(before, "id") or get_str(after, "id"))
    return MessageChanged(account_id, wa_id, from_me, ChangeKind.REVOKED, at)


def _target(target: str, stated_from_me: bool | None, own_id: str | None) -> tuple[str, bool]:
    """The changed message's bare id and direction: from its serialized id, else as the event states it,
    else from the direction in the event's own serialized id."""
    try:
        parts = split_message_id(target)
    except InvalidChatId as error:
        raise MalformedWebhook(
            f"A WAHA message change names an unreadable message id: {error.message}",
            reason="invalid_message_id",
        ) from error
    from_me = parts.from_me if parts.from_me is not None else stated_from_me
    if from_me is None and own_id is not None:
        try:
            from_me = split_message_id(own_id).from_me
        except InvalidChatId:
            from_me = None
    if from_me is None:
        raise MalformedWebhook(
            "A WAHA message change does not say whether the changed message was ours",
            reason="missing_direction",
        )
    return parts.wa_message_id, from_me
