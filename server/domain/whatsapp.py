"""The normalised values that cross the WhatsApp transport port (``server.domain.ports.whatsapp``).

The sync engine only ever sees these types: no gateway ids, ack integers or JID spellings. Chat keys are
canonical (see ``server.domain.jids``); message ids are WhatsApp's own (``wa_message_id``), with the
transport's spelling kept in ``transport_id`` for the calls that need it back (WAHA's ``reply_to``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from server.domain.errors import InvalidOutboundMessage
from server.domain.jids import Jid, JidKind, logical_message_key
from server.domain.message_changes import MessageChanged, Reacted
from server.domain.message_kinds import MessageDetails

MAX_TEXT_LENGTH = 4096  # WhatsApp's limit for one text message, in characters


class SessionStatus(StrEnum):
    STOPPED = "stopped"
    STARTING = "starting"
    NEEDS_PAIRING = "needs_pairing"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    LOGGED_OUT = "logged_out"
    BANNED = "banned"
    FAILED = "failed"
    UNREACHABLE = "unreachable"  # WhatsApp's servers cannot be reached from where the session runs


class Delivery(StrEnum):
    """How far a message got: pending → sent → delivered → read → played, in that order; ``failed`` apart."""

    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    PLAYED = "played"
    FAILED = "failed"


_RANK = {Delivery.PENDING: 0, Delivery.SENT: 1, Delivery.DELIVERED: 2, Delivery.READ: 3, Delivery.PLAYED: 4}


def advance(current: Delivery | None, new: Delivery) -> Delivery:
    """The status to keep when ``new`` arrives while ``current`` is stored. Never goes backwards.

    Statuses arrive out of order (read before delivered, sent last), so a lower rank is ignored.
    ``failed`` only replaces pending/sent: a message that reached the phone did not fail. A failed
    message that later proves delivered (delivered/read/played) moves on; pending/sent after failed do not.
    """
    if current is None or current == new:
        return new
    if new is Delivery.FAILED:
        return Delivery.FAILED if _RANK.get(current, 5) <= _RANK[Delivery.SENT] else current
    if current is Delivery.FAILED:
        return new if _RANK[new] >= _RANK[Delivery.DELIVERED] else current
    return new if _RANK[new] > _RANK[current] else current


class MediaKind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    VOICE = "voice"  # a push-to-talk voice note, shown with a waveform
    DOCUMENT = "document"
    STICKER = "sticker"
    GIF = "gif"  # a short looping video (WhatsApp sends GIFs as MP4)


class MessageOrigin(StrEnum):
    LIVE = "live"  # pushed by a webhook as it happened
    HISTORY = "history"  # imported after linking
    CATCHUP = "catchup"  # fetched after a reconnect to fill a gap


@dataclass(frozen=True, slots=True)
class Peer:
    """A person or a group as the transport knows it."""

    chat_key: str
    is_group: bool = False
    e164: str | None = None
    lid: str | None = None
    display_name: str | None = None


@dataclass(frozen=True, slots=True)
class MediaRef:
    """Where received media can be fetched.

    ``locator`` is opaque (a gateway file URL, a Cloud media id); ``None`` when the transport reported the
    media but kept no file (download disabled or failed): store the message with its media unavailable.
    """

    kind: MediaKind
    locator: str | None
    mime: str | None = None
    filename: str | None = None
    sha256: str | None = None
    size: int | None = None


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message seen on a connected number, in either direction."""

    account_id: str
    wa_message_id: str
    chat: Peer
    sender: Peer  # the participant in groups; our own number when from_me
    from_me: bool  # also for messages typed on the phone itself
    sent_at: datetime
    text: str | None = None  # the body, or the media caption
    media: MediaRef | None = None
    reply_to: str | None = None  # wa_message_id of the quoted message
    origin: MessageOrigin = MessageOrigin.LIVE
    from_api: bool = False  # the gateway's echo of a message we sent through it (WAHA source "api")
    transport_id: str | None = None  # the id as the transport spells it (WAHA "true_<chat>_<id>")
    quoted_text: str | None = None  # a reply: the answered message's text as the transport quoted it
    details: MessageDetails | None = None  # a location, shared contacts or a call

    @property
    def key(self) -> str:
        """The dedupe key: equal for twins (same event twice, ``@lid`` and ``@c.us`` spellings)."""
        return logical_message_key(self.account_id, self.wa_message_id, from_me=self.from_me)


@dataclass(frozen=True, slots=True)
class OutboundMedia:
    """Media to send: the bytes, or a URL the transport fetches itself."""

    kind: MediaKind
    mime: str
    filename: str | None = None
    data: bytes | None = field(default=None, repr=False)
    url: str | None = None

    def __post_init__(self) -> None:
        if (self.data is None) == (self.url is None):
            raise InvalidOutboundMessage("Outgoing media needs either its bytes or a URL, not both")
        if self.kind in (MediaKind.STICKER, MediaKind.GIF):
            raise InvalidOutboundMessage("Stickers and GIFs cannot be sent")
        if self.data is not None and not self.data:
            raise InvalidOutboundMessage("Outgoing media is empty")


@dataclass(frozen=True, slots=True)
class Template:
    """A pre-approved Cloud API template (the only thing allowed outside the 24-hour window)."""

    name: str
    language: str
    body_parameters: tuple[str, ...] = ()
    parameter_names: tuple[str, ...] = ()  # a NAMED template: each body parameter's name, in order


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A message to send. ``client_ref`` is the outbox row's id and the idempotency key.

    ``to`` is a chat key, a chat id in any spelling, or an E.164 number. With media, ``text`` is the
    caption. ``reply_to`` is the ``transport_id`` of the quoted message.
    """

    client_ref: str
    to: str
    text: str | None = None
    media: OutboundMedia | None = None
    reply_to: str | None = None
    template: Template | None = None

    def __post_init__(self) -> None:
        if not self.client_ref.strip():
            raise InvalidOutboundMessage("An outgoing message needs a client reference (the outbox id)")
        if self.template is not None and (self.text is not None or self.media is not None):
            raise InvalidOutboundMessage("A template message carries no free text or media")
        if self.template is None and self.media is None and not (self.text and self.text.strip()):
            raise InvalidOutboundMessage("An outgoing message needs text, media or a template")


@dataclass(frozen=True, slots=True)
class SendResult:
    """WhatsApp accepted the message: store ``wa_message_id`` on the outbox row at once."""

    account_id: str
    client_ref: str
    wa_message_id: str
    chat_key: str
    accepted_at: datetime
    transport_id: str | None = None

    @property
    def key(self) -> str:
        """The same key the gateway's echo of this message will have."""
        return logical_message_key(self.account_id, self.wa_message_id, from_me=True)


@dataclass(frozen=True, slots=True)
class ChatSummary:
    peer: Peer
    last_message_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class GroupMember:
    peer: Peer
    role: str = "participant"  # participant | admin | superadmin | left


@dataclass(frozen=True, slots=True)
class GroupInfo:
    peer: Peer
    subject: str | None
    description: str | None = None
    members: tuple[GroupMember, ...] = ()


# ---- events produced by parse_webhook -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageReceived:
    message: InboundMessage


@dataclass(frozen=True, slots=True)
class StatusChanged:
    """A delivery status for a message; apply it with ``advance``."""

    account_id: str
    wa_message_id: str
    status: Delivery
    at: datetime
    from_me: bool = True
    recipient: str | None = None  # the chat key of who read it (group acks name the participant)
    error_code: str | None = None  # the transport's own code, e.g. "131047"
    reason: str | None = None  # our stable name for it, e.g. "outside_24h_window"
    error: str | None = None  # what to tell a person
    client_ref: str | None = None  # echoed by transports that carry our reference (Cloud API)

    @property
    def key(self) -> str:
        return logical_message_key(self.account_id, self.wa_message_id, from_me=self.from_me)


@dataclass(frozen=True, slots=True)
class SessionChanged:
    account_id: str
    status: SessionStatus
    at: datetime
    detail: str | None = None
    me: Peer | None = None


@dataclass(frozen=True, slots=True)
class IdentityLearned:
    """A hidden identity (``<n>@lid``) now known to be this phone number: merge the two contacts."""

    account_id: str
    lid: str
    pn_chat_key: str
    e164: str | None

    @classmethod
    def of(cls, account_id: str, first: Jid | None, second: Jid | None) -> IdentityLearned | None:
        """The LID ↔ phone pair two chat ids make, in either order, when they are one of each."""
        if first is None or second is None or {first.kind, second.kind} != {JidKind.LID, JidKind.PHONE}:
            return None
        lid, phone = (first, second) if first.kind is JidKind.LID else (second, first)
        return cls(account_id, lid.chat_key, phone.chat_key, phone.e164)


@dataclass(frozen=True, slots=True)
class HistoryBatch:
    """One page of past messages. ``next_offset`` is ``None`` on the last page."""

    account_id: str
    chat_key: str | None
    messages: Sequence[InboundMessage]
    next_offset: int | None = None

    @property
    def is_last(self) -> bool:
        return self.next_offset is None


TransportEvent = (
    MessageReceived
    | StatusChanged
    | SessionChanged
    | IdentityLearned
    | HistoryBatch
    | MessageChanged
    | Reacted
)


@dataclass(frozen=True, slots=True)
class Capabilities:
    qr_pairing: bool
    pair_code: bool
    groups: bool
    history_sync: bool
    reads_own_phone_messages: bool
    number_check: bool
    lid_resolution: bool
    window_24h: bool
    templates: bool
