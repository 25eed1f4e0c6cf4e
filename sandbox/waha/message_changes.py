"""A sender edits or deletes (for everyone) a message already sent: `message.edited` and `message.revoked`;
anyone in the chat reacts to one: `message.reaction`. `sandbox.waha.change_controls` plays them over HTTP.

WAHA reports an edit as a message of its own: a new `id`, `body` the new text, and `editedMessageId` the
bare id of the message edited (`WAMessageEditedBody`). A deletion names the deleted message by
`revokedMessageId` with `after` (the revocation itself) and, as GOWS sends it, `before: null`: the
gateway sends no copy of the deleted message (`WAMessageRevokedBody`; GOWS adds the raw event as
`_data`). The phone shows the change; the gateway's history keeps answering the message as first sent, as
GOWS does (its store is not updated: docs/waha.md), and never lists the protocol messages themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.waha.jids import normalize_chat_id
from sandbox.waha.messages import payload
from sandbox.waha.models import Message, SandboxError, Session, Status

if TYPE_CHECKING:
    from sandbox.waha.state import SandboxState

# whatsmeow's ProtocolMessage types
MESSAGE_EDIT = 14
REVOKE = 0


def _emit(state: SandboxState, session: Session, event: str, body: dict[str, Any]) -> None:
    """Like every message event, lost while the phone is offline or the session is not WORKING."""
    if session.faults.offline or session.status != Status.WORKING:
        return
    state.emit(session, event, body)


def sent(session: Session, message_id: str) -> Message:
    """A message of the session by its bare or serialized id; 404 when there is none."""
    message = session.find_message(message_id)
    if message is None:
        raise SandboxError(404, f"message {message_id} not found")
    return message


def _protocol(state: SandboxState, session: Session, message: Message) -> Message:
    """The protocol message that carries a change: same chat and author, an id and time of its own."""
    return Message(
        raw_id=state.ids.message_id(),
        chat_id=message.chat_id,
        from_me=message.from_me,
        sender=message.sender,
        timestamp=state.clock.now_s(),
        participant=message.participant,
        source=message.source,
        push_name=message.push_name,
        sender_alt=message.sender_alt,
        recipient_alt=message.recipient_alt,
    )


def _key(message: Message) -> dict[str, Any]:
    """whatsmeow's key of the changed message, from the side of whoever changes it: its sender, so
    ``fromMe`` is true (``BuildMessageKey`` with the sender's own id)."""
    chat = message.chat_id.replace("@c.us", "@s.whatsapp.net")
    return {"remoteJID": chat, "fromMe": True, "ID": message.raw_id}


def edit(state: SandboxState, session: Session, message_id: str, text: str) -> Message:
    """The sender changes a text (or a caption) to `text`: `message.edited`."""
    message = sent(session, message_id)
    if message.kind not in ("text", "image", "video", "document"):
        raise SandboxError(400, f"a {message.kind} message cannot be edited")
    if not text.strip():
        raise SandboxError(400, "an edit needs the new text")
    change = _protocol(state, session, message)
    change.body = text
    message.keep_as_sent()
    message.body = text
    body = payload(state, session, change)
    body["editedMessageId"] = message.raw_id
    body["_data"]["Info"]["Edit"] = "1"
    body["_data"]["Message"] = {
        "protocolMessage": {
            "key": _key(message),
            "type": MESSAGE_EDIT,
            "editedMessage": {"conversation": text},
        }
    }
    _emit(state, session, "message.edited", body)
    return change


def revoke(state: SandboxState, session: Session, message_id: str) -> Message:
    """The sender deletes the message for everyone: `message.revoked`; the gateway keeps no text of it."""
    message = sent(session, message_id)
    change = _protocol(state, session, message)
    after = payload(state, session, change)
    after["_data"]["Info"]["Edit"] = "7"  # whatsmeow's sender revoke ("8" is a group admin's)
    after["_data"]["Message"] = {"protocolMessage": {"key": _key(message), "type": REVOKE}}
    message.keep_as_sent()
    message.body, message.media = "", None
    _emit(
        state,
        session,
        "message.revoked",
        {"revokedMessageId": message.raw_id, "before": None, "after": after, "_data": after["_data"]},
    )
    return change


def react(
    state: SandboxState, session: Session, message_id: str, emoji: str, *, sender: str | None = None
) -> dict[str, Any]:
    """A reaction to a message (`emoji` "" removes it): `message.reaction` (`WAMessageReaction`). From the
    contact `sender` (digits or a JID; a group member in groups), else from the linked phone."""
    message = sent(session, message_id)
    from_me = sender is None
    author = (session.me_jid or "") if from_me else normalize_chat_id(sender or "")
    body: dict[str, Any] = {
        "id": f"{'true' if from_me else 'false'}_{message.chat_id}_{state.ids.message_id()}",
        "timestamp": state.clock.now_s(),
        "from": message.chat_id,
        "fromMe": from_me,
        "to": author if message.is_group else None,
        "participant": author if message.is_group else None,
        "reaction": {"text": emoji, "messageId": message.id},
    }
    if from_me:
        body["source"] = "app"
    _emit(state, session, "message.reaction", body)
    return body
