"""What the simulated gateway keeps: sessions, chats, messages, media, groups, contacts and fault switches."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

ACK_NAMES = {-1: "ERROR", 0: "PENDING", 1: "SERVER", 2: "DEVICE", 3: "READ", 4: "PLAYED"}
SEND_FAILURES = ("timeout", "500", "429")
KINDS = ("text", "image", "document", "voice", "video", "audio")


class SandboxError(Exception):
    """An API error answer: HTTP status and message (extra fields go into the JSON body)."""

    def __init__(self, code: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = code
        self.message = message
        self.extra = extra


class Status(StrEnum):
    STOPPED = "STOPPED"
    STARTING = "STARTING"
    SCAN_QR_CODE = "SCAN_QR_CODE"
    WORKING = "WORKING"
    FAILED = "FAILED"


@dataclass
class RetryPolicy:
    """WAHA's `retries`: after a failed delivery, up to `attempts` more tries spaced by the policy."""

    policy: str = "constant"
    delay_seconds: float = 2.0
    attempts: int = 15

    def delay(self, retry: int, jitter_seed: int = 0) -> float:
        """Seconds before retry number `retry` (1 = first retry). Exponential: 2^retry × `delay_seconds`
        plus up to 20 % jitter (`jitter_seed` stands for WAHA's random draw), as WAHA's sender waits."""
        if self.policy == "linear":
            return self.delay_seconds * retry
        if self.policy == "exponential":
            base = self.delay_seconds * 2.0**retry
            return base * (1 + (jitter_seed % 1000) / 1000 * 0.2)
        return self.delay_seconds


@dataclass
class WebhookTarget:
    url: str
    events: list[str]
    hmac_key: str | None = None
    retries: RetryPolicy = field(default_factory=RetryPolicy)
    custom_headers: list[tuple[str, str]] = field(default_factory=list)

    def wants(self, event: str) -> bool:
        return "*" in self.events or event in self.events


@dataclass
class Faults:
    """Per-session fault switches, also set over HTTP with `POST /_sim/{session}/faults`."""

    duplicate_deliveries: int = 0  # extra deliveries of each webhook with the same evt id
    duplicate_new_event_id: bool = False  # one more delivery of each payload under a new evt id
    lid_twins: bool = False  # contact messages also arrive as an @lid twin
    acks_out_of_order: bool = False  # acks of new sends arrive highest first
    offline: bool = False  # offline gap: messages reach history only, no message webhooks
    silent: bool = False  # status stays WORKING but no webhook is sent at all
    send_failures: list[str] = field(default_factory=list)  # next sends fail after delivery
    media_status: int | None = None  # every /api/files download answers this (404 or 403)
    media_gone: bool = False  # the phone's servers lost the media: history cannot download it again
    # One file failing on its own: its next downloads (by file name) answer these HTTP statuses, one each
    # (504 stands for a gateway that timed out), then it is served again.
    media_failures: dict[str, list[int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Media:
    name: str  # "<message id>.<ext>", the file name under /api/files/
    mimetype: str
    data: bytes
    filename: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class Message:
    raw_id: str
    chat_id: str
    from_me: bool
    sender: str  # the author's JID (`@c.us` or `@lid`); ours when from_me
    timestamp: int  # seconds
    body: str = ""
    kind: str = "text"
    participant: str | None = None  # the author in a group
    media: Media | None = None
    ack: int = 0
    reply_to: str | None = None  # raw id of the quoted message
    source: str | None = None  # "api" | "app" for our own messages
    push_name: str = ""
    sender_alt: str | None = None  # the other spelling of the author (pn for lid, lid for pn)
    recipient_alt: str | None = None  # our own 1:1 messages: the other spelling of the chat
    content: dict[str, Any] | None = None  # a location or vCards (sandbox.waha.message_kinds)
    # What the gateway's store keeps once the sender edited or deleted the message: the text and media as
    # first sent (GOWS never updates its stored copy; the phone shows ``body`` and ``media``).
    as_sent: tuple[str, Media | None] | None = None

    @property
    def is_group(self) -> bool:
        return self.chat_id.endswith("@g.us")

    def keep_as_sent(self) -> None:
        """Remember the message as first sent before the phone's copy changes."""
        if self.as_sent is None:
            self.as_sent = (self.body, self.media)

    @property
    def id(self) -> str:
        """WAHA's serialized id: `true|false_<chatId>_<id>[_<participant>]`."""
        base = f"{'true' if self.from_me else 'false'}_{self.chat_id}_{self.raw_id}"
        return f"{base}_{self.participant}" if self.is_group and self.participant else base


@dataclass
class Chat:
    id: str
    name: str
    messages: list[Message] = field(default_factory=list)

    @property
    def is_group(self) -> bool:
        return self.id.endswith("@g.us")

    @property
    def last_timestamp(self) -> int:
        return self.messages[-1].timestamp if self.messages else 0


@dataclass
class Member:
    name: str
    phone: str | None  # digits
    lid: str | None  # digits
    admin: bool = False


@dataclass
class Group:
    id: str
    subject: str
    members: list[Member]
    created: int = 0


@dataclass
class OutboxEntry:
    """What reached the recipient's phone through the API."""

    message_id: str
    chat_id: str
    kind: str
    text: str
    timestamp_ms: int
    mimetype: str | None = None
    filename: str | None = None
    size: int | None = None
    sha256: str | None = None
    file_url: str | None = None
    reply_to: str | None = None

    def as_dict(self, ack: int) -> dict[str, Any]:
        out = dict(self.__dict__)
        out.update(ack=ack, ackName=ACK_NAMES[ack])
        return out


@dataclass
class Session:
    name: str
    config: dict[str, Any]
    webhooks: list[WebhookTarget]
    status: Status = Status.STOPPED
    statuses: list[tuple[str, int]] = field(default_factory=list)
    phone: str | None = None  # digits of the linked number
    push_name: str = ""
    own_lid: str | None = None
    qr_value: str | None = None
    qr_generation: int = 0
    qr_rotations: int = 0
    pairing: tuple[str, str] | None = None  # (phone, code) from request-code
    chats: dict[str, Chat] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    lids: dict[str, str | None] = field(default_factory=dict)  # lid digits -> phone digits or unknown
    outbox: list[OutboxEntry] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)

    @property
    def me_jid(self) -> str | None:
        return f"{self.phone}@c.us" if self.phone else None

    def me(self) -> dict[str, str] | None:
        """GOWS reports the linked device's own LID next to its phone id (`me.lid`)."""
        if not self.phone:
            return None
        me = {"id": f"{self.phone}@c.us", "pushName": self.push_name}
        if self.own_lid:
            me["lid"] = f"{self.own_lid}@lid"
        return me

    def find_message(self, message_id: str) -> Message | None:
        """By raw id or serialized id."""
        for chat in self.chats.values():
            for message in chat.messages:
                if message_id in (message.raw_id, message.id):
                    return message
        return None
