"""Ingest: apply a transport's normalised events to the inbox. Idempotent; order of arrival does not matter.

- A message is stored once under its logical key, whether it arrives twice, as ``@lid`` and ``@c.us``
  twins, live and again from history.
- A delivery status only ever moves forward; a status for a message not stored yet is reported back so
  the caller can retry later (acks can overtake the message they acknowledge); so is an edit, deletion or
  reaction of a message not stored yet. An edit, deletion or reaction also waits in the store for its
  message: when a catch-up brings that message later (the gateway's history shows it as first sent,
  without reactions), it is applied. On its own it starts no chat.
- A session's status is recorded in the order statuses happened; each newly applied ``connected`` is
  reported so the caller runs catch-up (idempotent, so a connection without a gap costs one history read).
- A new short text from a contact in a one-to-one chat is reported as a stop-word candidate: by its
  number, or by its LID when the chat has no number yet (``lid_replies``); never from a group.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from server.domain.jids import is_lid
from server.domain.message_changes import MessageChanged, Reacted
from server.domain.models import AccountRef
from server.domain.ports.storage import InboxStore
from server.domain.stop_words import SHORT_REPLY, LidReply
from server.domain.whatsapp import (
    Delivery,
    HistoryBatch,
    IdentityLearned,
    InboundMessage,
    MessageReceived,
    Peer,
    SessionChanged,
    SessionStatus,
    StatusChanged,
    TransportEvent,
)


@dataclass
class IngestOutcome:
    """What applying a batch of events did, for the job that applied them."""

    new_messages: list[tuple[int, int]] = field(default_factory=list)  # (account id, chat id)
    changed_messages: list[tuple[int, int]] = field(default_factory=list)  # edited or deleted: their chats
    early_changes: list[str] = field(default_factory=list)  # keys of changed messages not stored (yet)
    media_chats: set[int] = field(default_factory=set)  # chats whose new messages carry attachments
    duplicates: int = 0
    statuses: int = 0
    early_statuses: list[StatusChanged] = field(default_factory=list)  # their message is not stored yet
    reconnected: list[int] = field(default_factory=list)  # accounts back to connected: run catch-up
    # new one-to-one texts from contacts, short enough to be a stop word: (company id, number, text)
    short_replies: list[tuple[int, str, str]] = field(default_factory=list)
    # the same from chats known only by a LID: their number is to be found first
    lid_replies: list[LidReply] = field(default_factory=list)
    unknown_sessions: set[str] = field(default_factory=set)

    @property
    def touched_chats(self) -> set[tuple[int, int]]:
        return set(self.new_messages) | set(self.changed_messages)


async def ingest_events(
    events: Iterable[TransportEvent],
    *,
    transport: str,
    store: InboxStore,
    received_at: datetime | None = None,
) -> IngestOutcome:
    """Apply the events to the inbox (``received_at``: when their delivery reached WaPipe, stored with each
    new message; by default the moment it is stored)."""
    outcome = IngestOutcome()
    accounts: dict[str, AccountRef | None] = {}  # a delivery's events share their session
    for event in events:
        session = _session_of(event)
        if session not in accounts:
            accounts[session] = await store.account_for_session(transport, session)
        account = accounts[session]
        if account is None:
            outcome.unknown_sessions.add(session)
            continue
        if isinstance(event, MessageReceived):
            await _store_message(store, account, event.message, outcome, received_at)
        elif isinstance(event, HistoryBatch):
            for message in event.messages:
                await _store_message(store, account, message, outcome, received_at)
        elif isinstance(event, StatusChanged):
            if event.client_ref and event.from_me:
                await store.claim_send(account.id, event.client_ref, event.wa_message_id)
            stored = await store.advance_status(account.id, event.key, event.status)
            if stored is None:
                outcome.early_statuses.append(event)
            else:
                outcome.statuses += 1
                if event.status is Delivery.FAILED and event.from_me:
                    reason = event.reason or "send_failed"
                    detail = event.error or "WhatsApp did not deliver this message"
                    await store.record_send_failure(account.id, event.key, reason, detail)
        elif isinstance(event, SessionChanged):
            applied = await store.record_session(
                account.id, event.status, event.detail or "", event.me, event.at
            )
            if applied and event.status is SessionStatus.CONNECTED:  # every (re)connection can follow a gap
                outcome.reconnected.append(account.id)
        elif isinstance(event, MessageChanged):
            change = await store.apply_change(account.id, event)
            if change is None:  # it may overtake its message like an ack, or name one never stored
                outcome.early_changes.append(event.target_key)
            elif change.changed:
                outcome.changed_messages.append((account.id, change.chat_id))
        elif isinstance(event, Reacted):  # on a message not stored it waits for it: it starts no chat
            change = await store.apply_reaction(account.id, event)
            if change is None:
                outcome.early_changes.append(event.target_keys()[0])
            elif change.changed:
                outcome.changed_messages.append((account.id, change.chat_id))
        elif isinstance(event, IdentityLearned):
            await store.learn_identity(account.id, event.lid, event.pn_chat_key, event.e164)
    return outcome


async def _store_message(
    store: InboxStore,
    account: AccountRef,
    message: InboundMessage,
    outcome: IngestOutcome,
    received_at: datetime | None,
) -> None:
    account_id = account.id
    chat = message.chat
    if not chat.is_group and not message.from_me and not chat.display_name and message.sender.display_name:
        chat = replace(
            chat, display_name=message.sender.display_name
        )  # a 1:1 chat is named after the contact
    chat_id = await store.upsert_chat(account_id, chat, message.sent_at)
    if await store.add_message(account_id, chat_id, message, received_at=received_at):
        outcome.new_messages.append((account_id, chat_id))
        replies = await store.adopt_replies(account_id, message)  # replies that arrived before it
        outcome.changed_messages.extend((account_id, reply_chat) for _, reply_chat in replies)
        waited = await store.apply_waiting_changes(account_id, message.key)  # changes, reactions before it
        outcome.changed_messages.extend((account_id, change.chat_id) for change in waited)
        if message.media is not None:
            outcome.media_chats.add(chat_id)
        _collect_short_reply(account, message, chat, outcome)
    else:
        outcome.duplicates += 1


def _collect_short_reply(
    account: AccountRef, message: InboundMessage, chat: Peer, outcome: IngestOutcome
) -> None:
    """A new text from a contact, short enough to be a stop word, in a one-to-one chat: by its number, or
    by its LID when that is all WhatsApp gave. Groups never: a stop word there is said to the group, not in
    reply to a campaign's one-to-one message."""
    text = (message.text or "").strip()
    if message.from_me or chat.is_group or not 0 < len(text) <= SHORT_REPLY:
        return
    if chat.e164:
        outcome.short_replies.append((account.company_id, chat.e164, text))
    elif is_lid(chat.chat_key):
        outcome.lid_replies.append(
            LidReply(account.company_id, account.id, chat.chat_key, text, message.sent_at)
        )


def _session_of(event: TransportEvent) -> str:
    if isinstance(event, MessageReceived):
        return event.message.account_id
    return event.account_id
