"""whatsmeow's history sync (neonize's ``HistorySync`` event) → a ``HistoryBatch`` per chat and the
LID ↔ phone pairs it lists. Pure.

whatsmeow pushes history in blobs (``Data.conversations[]``, each with its ``WebMessageInfo`` messages);
WaPipe does not page through them, so each batch is its chat's last (``next_offset`` ``None``). Messages
are read like live ones (``embedded_messages``) with origin ``history``. Past edits, deletions and
reactions are not replayed; one unreadable entry is skipped and the rest still arrives.
"""

from __future__ import annotations

from datetime import datetime

from server.domain.errors import MalformedEvent
from server.domain.jids import JidKind, jid_or_none
from server.domain.whatsapp import HistoryBatch, IdentityLearned, InboundMessage, MessageReceived, Peer
from server.whatsapp.embedded_messages import history_envelope, message_events
from server.whatsapp.embedded_proto import items, sub, text
from server.whatsapp.embedded_results import Skipped, Translated, unique


def history_events(event: object, *, account_id: str, received_at: datetime, me: Peer | None) -> Translated:
    data = sub(event, "Data")
    if data is None:
        raise MalformedEvent("A history sync from the embedded transport carries no data")
    learned: list[IdentityLearned] = []
    for mapping in items(data, "phoneNumberToLidMappings"):
        lid, phone = jid_or_none(text(mapping, "lidJID")), jid_or_none(text(mapping, "pnJID"))
        pair = IdentityLearned.of(account_id, lid, phone)
        if pair is not None:
            learned.append(pair)
    batches: list[HistoryBatch] = []
    skipped: list[Skipped] = []
    for conversation in items(data, "conversations"):
        found = _conversation(conversation, account_id=account_id, received_at=received_at, me=me)
        learned.extend(e for e in found.events if isinstance(e, IdentityLearned))
        batches.extend(e for e in found.events if isinstance(e, HistoryBatch))
        skipped.extend(found.skipped)
    return Translated(events=(*unique(learned), *batches), skipped=tuple(skipped))


def _conversation(
    conversation: object, *, account_id: str, received_at: datetime, me: Peer | None
) -> Translated:
    spelling = text(conversation, "ID")
    chat = jid_or_none(spelling)
    if chat is None or chat.kind is JidKind.OTHER:
        return Translated(
            skipped=(Skipped("not_a_chat", f"The history of {spelling or 'a chat'!s:.80} is not logged"),)
        )
    alt = jid_or_none(
        text(conversation, "pnJID") if chat.kind is JidKind.LID else text(conversation, "lidJID")
    )
    pair = IdentityLearned.of(account_id, chat, alt)
    messages: list[InboundMessage] = []
    skipped: list[Skipped] = []
    for entry in items(conversation, "messages"):
        info = sub(entry, "message")
        try:
            envelope = history_envelope(
                info, account_id=account_id, chat=chat, chat_alt=alt, received_at=received_at
            )
        except MalformedEvent as error:
            skipped.append(Skipped(error.reason, error.message))
            continue
        found = message_events(envelope, sub(info, "message"), me=me)
        skipped.extend(found.skipped)
        for event in found.events:
            if isinstance(event, MessageReceived):
                messages.append(event.message)
            elif not isinstance(event, IdentityLearned):
                skipped.append(Skipped("history_change_not_replayed", "A past edit, deletion or reaction"))
    made: list[IdentityLearned | HistoryBatch] = [pair] if pair is not None else []
    if messages:
        made.append(
            HistoryBatch(account_id=account_id, chat_key=messages[0].chat.chat_key, messages=tuple(messages))
        )
    return Translated(events=tuple(made), skipped=tuple(skipped))
