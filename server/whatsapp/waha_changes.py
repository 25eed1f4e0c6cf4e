"""WAHA ``message.edited``, ``message.revoked`` and ``message.reaction`` payloads → ``MessageChanged`` and
``Reacted``. Pure.

``message.edited`` carries the edit as a message of its own (its own ``id``; ``body`` is the new text)
and names the edited message by ``editedMessageId``. ``message.revoked`` names the deleted message by
``revokedMessageId``, with ``before`` (the message as it was, when the engine still had it; GOWS sends
``null``) and ``after`` (the revocation). Without ``before``, the deleted message's direction comes from
the raw revocation's key (GOWS: ``_data.Message.protocolMessage.key``), which whatsmeow builds from the
revoker's side: ``fromMe`` when the revoker deleted their own message, else ``participant`` names its
author (a group admin deleting someone else's message). Either id may come bare or serialized
(``true_<chat>_<id>``). A reaction (``WAMessageReaction``) comes from ``from`` (in groups
``participant``) and names the message it is on in ``reaction.messageId``; its ``reaction.text`` is the
emoji, "" when the reaction was removed.
"""

from __future__ import annotations

from datetime import datetime

from server.domain.errors import InvalidChatId, MalformedWebhook
from server.domain.jids import parse_jid, split_message_id
from server.domain.message_changes import ChangeKind, MessageChanged, Reacted
from server.domain.whatsapp import Peer
from server.whatsapp.untrusted_input import (
    JsonObject,
    datetime_from_epoch,
    get_bool,
    get_int,
    get_object,
    get_str,
)

EMOJI_LIMIT = 64


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


def parse_revoked(
    payload: JsonObject, *, account_id: str, at: datetime, me: Peer | None = None
) -> MessageChanged:
    before, after = get_object(payload, "before"), get_object(payload, "after")
    target = get_str(payload, "revokedMessageId") or get_str(before, "id")
    if target is None:
        raise MalformedWebhook(
            "A WAHA message.revoked event names no revokedMessageId", reason="missing_revoked_message_id"
        )
    # The deleted message's own direction: a group admin may delete someone else's message.
    stated = get_bool(before, "fromMe")
    if stated is None:
        stated = _author_is_me(payload, after, me)
    if stated is None:
        stated = get_bool(after, "fromMe")
    wa_id, from_me = _target(target, stated, get_str(before, "id") or get_str(after, "id"))
    return MessageChanged(account_id, wa_id, from_me, ChangeKind.REVOKED, at)


def _author_is_me(payload: JsonObject, after: JsonObject | None, me: Peer | None) -> bool | None:
    """Whether the deleted message was ours, from the raw revocation's key (the revoker's side)."""
    key = None
    for holder in (payload, after):
        protocol = get_object(get_object(get_object(holder, "_data"), "Message"), "protocolMessage")
        key = key or get_object(protocol, "key")
    revoker_is_me = get_bool(after, "fromMe")
    own_message = get_bool(key, "fromMe")
    if own_message is True:
        return revoker_is_me  # the revoker deleted their own message
    author = get_str(key, "participant")
    if own_message is None or author is None:
        return None
    if revoker_is_me is True:
        return False  # we deleted someone else's message
    if me is None:
        return None
    try:
        author_key = parse_jid(author).chat_key
    except InvalidChatId:
        return None
    return author_key in {me.chat_key, me.lid}


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


def parse_reaction(payload: JsonObject, *, account_id: str, at: datetime) -> Reacted:
    reaction = get_object(payload, "reaction")
    target = get_str(reaction, "messageId")
    emoji = reaction.get("text") if reaction is not None else None  # "" when the reaction was removed
    if target is None or not isinstance(emoji, str):
        raise MalformedWebhook(
            "A WAHA message.reaction names no reaction.messageId or reaction.text", reason="missing_reaction"
        )
    try:
        parts = split_message_id(target)
    except InvalidChatId as error:
        raise MalformedWebhook(
            f"A WAHA reaction names an unreadable message id: {error.message}", reason="invalid_message_id"
        ) from error
    from_me = get_bool(payload, "fromMe") is True
    reactor = "me" if from_me else _reactor(get_str(payload, "participant") or get_str(payload, "from"))
    return Reacted(
        account_id=account_id,
        target_id=parts.wa_message_id,
        target_from_me=parts.from_me,
        reactor_key=reactor,
        from_me=from_me,
        emoji=emoji.strip()[:EMOJI_LIMIT],
        at=datetime_from_epoch(get_int(payload, "timestamp")) or at,
    )


def _reactor(spelling: str | None) -> str:
    try:
        return parse_jid(spelling or "").chat_key
    except InvalidChatId as error:
        raise MalformedWebhook(
            f"A WAHA reaction names no readable sender: {error.message}", reason="invalid_reactor"
        ) from error
