"""WAHA's ``poll.vote`` → one logged line per vote, as votes come. Pure.

``PollVotePayload``: ``vote`` (``id`` of the vote's own message, ``selectedOptions`` by their text,
``timestamp`` in milliseconds, ``from``/``to``/``fromMe``/``participant``) and ``poll`` (the poll's
message). A changed vote comes again under a new id with the options now chosen; an empty list means the
vote was taken back.
"""

from __future__ import annotations

from datetime import datetime

from server.domain.errors import InvalidChatId, MalformedWebhook
from server.domain.jids import JidKind, jid_or_none, split_message_id
from server.domain.message_kinds import poll_vote
from server.domain.whatsapp import InboundMessage, MessageOrigin, MessageReceived, Peer
from server.whatsapp.untrusted_input import (
    JsonObject,
    datetime_from_epoch,
    get_bool,
    get_int,
    get_list,
    get_object,
    get_str,
)
from server.whatsapp.waha_payloads import peer_for


def poll_vote_events(
    payload: JsonObject, *, account_id: str, at: datetime, me: Peer | None
) -> list[MessageReceived]:
    vote = get_object(payload, "vote")
    vote_id = get_str(vote, "id")
    if vote is None or vote_id is None:
        raise MalformedWebhook("A WAHA poll.vote names no vote", reason="invalid_poll_vote")
    try:
        parts = split_message_id(vote_id)
    except InvalidChatId as error:
        raise MalformedWebhook(f"A WAHA poll vote id is unreadable: {error.message}") from error
    from_me = get_bool(vote, "fromMe") is True
    chat_id = parts.chat_id or get_str(vote, "to" if from_me else "from")
    chat_jid = jid_or_none(chat_id)
    if chat_jid is None or chat_jid.kind is JidKind.OTHER:
        return []
    chat = peer_for(chat_jid)
    voter = jid_or_none(get_str(vote, "participant")) if chat_jid.is_group else None
    sender = me if from_me and me is not None else peer_for(voter) if voter is not None else chat
    options = [o for o in get_list(vote, "selectedOptions") if isinstance(o, str)]
    message = InboundMessage(
        account_id=account_id,
        wa_message_id=parts.wa_message_id,
        chat=chat,
        sender=sender,
        from_me=from_me,
        sent_at=datetime_from_epoch(get_int(vote, "timestamp"), millis=True) or at,
        origin=MessageOrigin.LIVE,
        transport_id=vote_id,
        details=poll_vote(options),
    )
    return [MessageReceived(message)]
