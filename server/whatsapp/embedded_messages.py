"""whatsmeow messages (neonize's ``Message`` event, and history sync's ``WebMessageInfo``) → WaPipe's
``MessageReceived``, ``MessageChanged``, ``Reacted`` and ``IdentityLearned``. Pure.

Both shapes are first read into an ``Envelope`` (who, where, when), then their content into the same
events. Chat keys, LIDs and senders follow what WAHA's GOWS engine (whatsmeow too) gives WaPipe
(``waha_payloads``): a LID chat whose phone spelling whatsmeow names (``SenderAlt``, and
``RecipientAlt`` on our own 1:1 messages) is keyed by the phone number and the pair is learned.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from server.domain.errors import MalformedEvent
from server.domain.jids import Jid, JidKind, jid_or_none
from server.domain.message_changes import ChangeKind, MessageChanged, Reacted
from server.domain.whatsapp import (
    IdentityLearned,
    InboundMessage,
    MessageOrigin,
    MessageReceived,
    Peer,
    TransportEvent,
)
from server.whatsapp.embedded_content import plain_text, read_content, unwrap
from server.whatsapp.embedded_proto import enum_name, flag, jid_spelling, number, sub, text
from server.whatsapp.embedded_results import Skipped, Translated, event_time, jid_of, skip, unique
from server.whatsapp.waha_payloads import peer_for

# Contents that are WhatsApp's own housekeeping or that WaPipe cannot read without the session's keys.
_NOT_LOGGED = {
    "pollUpdateMessage": "poll_vote_encrypted",
    "encReactionMessage": "reaction_encrypted",
    "senderKeyDistributionMessage": "no_content",
    "messageContextInfo": "no_content",
}


@dataclass(frozen=True, slots=True)
class Envelope:
    account_id: str
    wa_message_id: str
    chat: Jid
    sender: Jid | None  # the author's spelling (a participant in groups)
    from_me: bool
    sent_at: datetime
    push_name: str | None
    pairs: tuple[tuple[Jid, Jid], ...]  # a spelling and its other spelling (LID ↔ phone)
    origin: MessageOrigin
    view_once: bool = False

    def alt(self, jid: Jid) -> Jid | None:
        for first, second in self.pairs:
            if first.chat_key == jid.chat_key:
                return second
            if second.chat_key == jid.chat_key:
                return first
        return None

    def identities(self) -> list[IdentityLearned]:
        found = (IdentityLearned.of(self.account_id, a, b) for a, b in self.pairs)
        return [pair for pair in found if pair is not None]


def live_envelope(event: object, *, account_id: str, received_at: datetime) -> Envelope:
    """The envelope of neonize's ``Message`` event (``Info.MessageSource``, ``Info.ID`` …)."""
    info = sub(event, "Info")
    source = sub(info, "MessageSource")
    wa_id = text(info, "ID")
    if info is None or source is None or wa_id is None:
        raise MalformedEvent("A message from the embedded transport has no id or source")
    chat = jid_of(jid_spelling(sub(source, "Chat")), what="message")
    sender = jid_or_none(jid_spelling(sub(source, "Sender")))
    from_me = flag(source, "IsFromMe")
    pairs = [(sender, jid_or_none(jid_spelling(sub(source, "SenderAlt"))))]
    if from_me and not chat.is_group:
        # RecipientAlt is the chat's other spelling only on our own 1:1 messages (see waha_payloads).
        pairs.append((chat, jid_or_none(jid_spelling(sub(source, "RecipientAlt")))))
    return Envelope(
        account_id=account_id,
        wa_message_id=wa_id.strip()[:200],
        chat=chat,
        sender=sender,
        from_me=from_me,
        sent_at=event_time(number(info, "Timestamp"), received_at),
        push_name=_name(text(info, "Pushname")),
        pairs=_pairs(pairs),
        origin=MessageOrigin.LIVE,
        view_once=any(flag(event, f) for f in ("IsViewOnce", "IsViewOnceV2", "IsViewOnceV2Extension")),
    )


def history_envelope(
    info: object, *, account_id: str, chat: Jid, chat_alt: Jid | None, received_at: datetime
) -> Envelope:
    """The envelope of one ``WebMessageInfo`` in a history sync conversation."""
    key = sub(info, "key")
    wa_id = text(key, "ID")
    if key is None or wa_id is None:
        raise MalformedEvent("A history message from the embedded transport has no id")
    from_me = flag(key, "fromMe")
    author = text(key, "participant") or text(info, "participant")
    sender = jid_or_none(author) if chat.is_group else chat
    return Envelope(
        account_id=account_id,
        wa_message_id=wa_id.strip()[:200],
        chat=chat,
        sender=sender,
        from_me=from_me,
        sent_at=event_time(number(info, "messageTimestamp"), received_at),
        push_name=_name(text(info, "pushName")),
        pairs=_pairs([(chat, chat_alt)]),
        origin=MessageOrigin.HISTORY,
    )


def message_events(envelope: Envelope, raw: object, *, me: Peer | None) -> Translated:
    """The events one message makes: a message, or a change to another one; plus learned identities."""
    if envelope.chat.kind is JidKind.OTHER:
        return skip("not_a_chat", f"{envelope.chat.server} messages are not logged")
    learned = tuple(envelope.identities())
    message, view_once = unwrap(raw)
    if message is None:
        return Translated(events=learned, skipped=(Skipped("no_content", "The message carries nothing"),))
    change = _change(envelope, message, me=me)
    if change is not None:
        return Translated(events=(*change.events, *learned), skipped=change.skipped)
    content = read_content(message, view_once=view_once or envelope.view_once)
    if content.is_empty:
        reason = next(
            (r for f, r in _NOT_LOGGED.items() if sub(message, f) is not None), "unsupported_content"
        )
        return Translated(events=learned, skipped=(Skipped(reason, _fields(message)),))
    chat = peer_for(envelope.chat, alt=envelope.alt(envelope.chat))
    inbound = InboundMessage(
        account_id=envelope.account_id,
        wa_message_id=envelope.wa_message_id,
        chat=chat,
        sender=_sender(envelope, chat, me=me),
        from_me=envelope.from_me,
        sent_at=envelope.sent_at,
        text=content.text,
        media=content.media,
        reply_to=content.reply_to,
        quoted_text=content.quoted_text,
        origin=envelope.origin,
        transport_id=envelope.wa_message_id,
        details=content.details,
    )
    events: list[TransportEvent] = [MessageReceived(inbound), *learned]
    return Translated(events=tuple(events))


def _change(envelope: Envelope, message: object, *, me: Peer | None) -> Translated | None:
    """An edit, a deletion or a reaction as its own event; ``None`` for a message of its own."""
    protocol = sub(message, "protocolMessage")
    if protocol is not None:
        kind = enum_name(protocol, "type") or "REVOKE"  # whatsmeow's REVOKE is 0, protobuf's default
        target = text(sub(protocol, "key"), "ID")
        if kind not in ("REVOKE", "MESSAGE_EDIT"):
            return skip("protocol_message", f"WhatsApp's own {kind} message is not logged")
        if target is None:
            raise MalformedEvent(f"A {kind} message from the embedded transport names no message")
        if kind == "REVOKE":
            return Translated(events=(_changed(envelope, target, ChangeKind.REVOKED, None),))
        new_text = plain_text(sub(protocol, "editedMessage"))
        if new_text is None:
            return skip("edit_without_text", "An edit that leaves no text is not logged")
        return Translated(events=(_changed(envelope, target, ChangeKind.EDITED, new_text),))
    reaction = sub(message, "reactionMessage")
    if reaction is None:
        return None
    key = sub(reaction, "key")
    target = text(key, "ID")
    if target is None:
        raise MalformedEvent("A reaction from the embedded transport names no message")
    sender = _sender(envelope, peer_for(envelope.chat, alt=envelope.alt(envelope.chat)), me=me)
    reacted = Reacted(
        account_id=envelope.account_id,
        target_id=target.strip()[:200],
        target_from_me=_reaction_target_from_me(envelope, key, me),
        reactor_key="me" if envelope.from_me else sender.chat_key,
        from_me=envelope.from_me,
        emoji=(text(reaction, "text") or "")[:20],
        at=envelope.sent_at,
        reactor_name=None if envelope.from_me else sender.display_name,
    )
    return Translated(events=(reacted,))


def _changed(envelope: Envelope, target: str, kind: ChangeKind, new_text: str | None) -> MessageChanged:
    # Only a message's sender edits or deletes it for everyone: the change's direction is the target's.
    return MessageChanged(
        account_id=envelope.account_id,
        target_id=target.strip()[:200],
        target_from_me=envelope.from_me,
        kind=kind,
        at=envelope.sent_at,
        text=new_text,
    )


def _reaction_target_from_me(envelope: Envelope, key: object, me: Peer | None) -> bool | None:
    """Whether we wrote the message reacted to. The key's ``fromMe`` is the reactor's point of view (our
    own reaction to our message, or their reaction to theirs). In a group, someone's reaction to another
    person's message names its author in ``participant``; ``None`` (the store tries both directions) when
    that cannot be compared with our own number."""
    key_from_me = flag(key, "fromMe")
    if envelope.from_me:
        return key_from_me
    if key_from_me:
        return False
    if not envelope.chat.is_group:
        return True
    author = jid_or_none(text(key, "participant"))
    if author is None or me is None:
        return None
    if author.chat_key in (me.chat_key, me.lid):
        return True
    return None if author.kind is JidKind.LID and me.lid is None else False


def _sender(envelope: Envelope, chat: Peer, *, me: Peer | None) -> Peer:
    if envelope.from_me:
        if me is not None:
            return me
        own = envelope.sender
        if own is not None and own.kind is JidKind.PHONE and own.chat_key != envelope.chat.chat_key:
            return peer_for(own)
        return Peer(chat_key="me")
    if not envelope.chat.is_group:
        return replace(chat, display_name=envelope.push_name) if envelope.push_name else chat
    if envelope.sender is None or envelope.sender.is_group:
        return Peer(chat_key=chat.chat_key, is_group=True)
    return peer_for(envelope.sender, display_name=envelope.push_name, alt=envelope.alt(envelope.sender))


def _pairs(candidates: list[tuple[Jid | None, Jid | None]]) -> tuple[tuple[Jid, Jid], ...]:
    kept = [
        (a, b)
        for a, b in candidates
        if a is not None and b is not None and {a.kind, b.kind} == {JidKind.LID, JidKind.PHONE}
    ]
    return unique(kept)


def _name(name: str | None) -> str | None:
    return name.strip()[:255] if name and name.strip() else None


def _fields(message: object) -> str:
    listed = getattr(message, "ListFields", None)
    names = [f.name for f, _ in listed()] if callable(listed) else []
    return f"A message with {', '.join(names[:5]) or 'no content'} is not logged"
