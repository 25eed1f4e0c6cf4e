"""WhatsApp chat ids ("JIDs"): one canonical chat key per chat, E.164 numbers, and logical message keys.

Transports spell the same chat differently: WAHA and whatsapp-web.js say ``4915112345678@c.us``, the
protocol (whatsmeow, Baileys, WAHA's ``_data``) says ``4915112345678@s.whatsapp.net``, a device of that
user is ``4915112345678:12@s.whatsapp.net``, the Cloud API says ``4915112345678``. All of them become the
canonical key ``4915112345678@s.whatsapp.net``. Hidden identities stay ``<n>@lid`` (a LID is not a phone
number and is never parsed as one), groups stay ``<id>@g.us``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers

from server.domain.errors import InvalidChatId

PHONE_SERVER = "s.whatsapp.net"
LEGACY_PHONE_SERVER = "c.us"
LID_SERVER = "lid"
GROUP_SERVER = "g.us"

_PHONE_SERVERS = frozenset({PHONE_SERVER, LEGACY_PHONE_SERVER, "hosted"})
_LID_SERVERS = frozenset({LID_SERVER, "hosted.lid"})
_OTHER_SERVERS = frozenset({"newsletter", "broadcast", "bot", "call"})
_DIGITS = re.compile(r"[0-9]{5,20}")
_GROUP_USER = re.compile(r"[0-9]{5,40}(?:-[0-9]{5,20})?")
_SERIALIZED_ID = re.compile(
    r"(?P<from_me>true|false)_(?P<chat>[^_@\s]+@[^_\s]+)_(?P<id>[^_\s]+)(?:_(?P<participant>[^_@\s]+@[^_\s]+))?"
)
_RAW_ID = re.compile(r"[A-Za-z0-9._=+/:-]{1,200}")


class JidKind(StrEnum):
    PHONE = "phone"
    LID = "lid"
    GROUP = "group"
    OTHER = "other"  # channels, status, broadcast lists, bots: never a CRM contact


@dataclass(frozen=True, slots=True)
class Jid:
    """A parsed chat id without its device part."""

    user: str
    kind: JidKind
    server: str

    @property
    def chat_key(self) -> str:
        """The canonical chat key: the one spelling we store."""
        if self.kind is JidKind.PHONE:
            return f"{self.user}@{PHONE_SERVER}"
        if self.kind is JidKind.LID:
            return f"{self.user}@{LID_SERVER}"
        if self.kind is JidKind.GROUP:
            return f"{self.user}@{GROUP_SERVER}"
        return f"{self.user}@{self.server}"

    @property
    def is_group(self) -> bool:
        return self.kind is JidKind.GROUP

    @property
    def e164(self) -> str | None:
        """The E.164 number of a phone id; ``None`` for LIDs, groups and others."""
        return e164_from_wa_user(self.user) if self.kind is JidKind.PHONE else None


def parse_jid(raw: str) -> Jid:
    """Parse any spelling of a chat id, a Cloud API ``wa_id``, or a ``+E.164`` number.

    Device and agent suffixes (``user.agent:device@server``) are dropped. Raises ``InvalidChatId``.
    """
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        raise InvalidChatId("An empty chat id is not a WhatsApp chat")
    if "@" not in text:
        digits = text[1:] if text.startswith("+") else text
        if _DIGITS.fullmatch(digits):
            return Jid(digits, JidKind.PHONE, PHONE_SERVER)
        raise InvalidChatId(f"{_short(text)!r} is neither a chat id nor an international phone number")
    user_part, _, server = text.partition("@")
    server = server.lower()
    user = user_part.split(":", 1)[0]
    if server in _PHONE_SERVERS or server in _LID_SERVERS:
        user = user.split(".", 1)[0]
        if not _DIGITS.fullmatch(user):
            raise InvalidChatId(f"{_short(text)!r} does not have a numeric user part")
        kind = JidKind.PHONE if server in _PHONE_SERVERS else JidKind.LID
        return Jid(user, kind, PHONE_SERVER if kind is JidKind.PHONE else LID_SERVER)
    if server == GROUP_SERVER:
        if not _GROUP_USER.fullmatch(user):
            raise InvalidChatId(f"{_short(text)!r} is not a group id")
        return Jid(user, JidKind.GROUP, GROUP_SERVER)
    if server in _OTHER_SERVERS and user and "@" not in user and len(text) <= 120:
        return Jid(user, JidKind.OTHER, server)
    raise InvalidChatId(f"{_short(text)!r} uses an unknown WhatsApp server")


def is_lid(chat_key: str) -> bool:
    """Whether ``chat_key`` names a chat WhatsApp knows only by its LID (the phone number hidden)."""
    jid = jid_or_none(chat_key)
    return jid is not None and jid.kind is JidKind.LID


def jid_or_none(spelling: str | None) -> Jid | None:
    """``parse_jid``, or ``None`` for no spelling or one that cannot be read."""
    if spelling is None:
        return None
    try:
        return parse_jid(spelling)
    except InvalidChatId:
        return None


def canonical_chat_key(raw: str) -> str:
    """``parse_jid(raw).chat_key``: ``4915112345678@c.us`` and ``4915112345678:3@s.whatsapp.net`` agree."""
    return parse_jid(raw).chat_key


def legacy_chat_id(raw: str) -> str:
    """The spelling WAHA expects in ``chatId``: phone ids on ``@c.us``; LIDs and groups unchanged."""
    jid = parse_jid(raw)
    if jid.kind is JidKind.PHONE:
        return f"{jid.user}@{LEGACY_PHONE_SERVER}"
    return jid.chat_key


def e164_from_wa_user(user: str) -> str | None:
    """The E.164 number for the digits of a WhatsApp phone id, or ``None`` when it is not a phone number.

    WhatsApp ids keep two historical spellings libphonenumber rejects: Mexican mobiles with the old
    ``1`` after ``+52``, and Brazilian mobiles registered before the ninth digit. Both are mapped to the
    number a person would dial today, so matching against the CRM works.
    """
    if not _DIGITS.fullmatch(user):
        return None
    candidates = [user]
    if user.startswith("521") and len(user) == 13:
        candidates.append("52" + user[3:])
    if user.startswith("55") and len(user) == 12 and user[4] in "6789":
        candidates.append(user[:4] + "9" + user[4:])
    for digits in candidates:
        number = _parse_international(digits)
        if number is not None and phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    number = _parse_international(user)
    if number is not None and phonenumbers.is_possible_number(number):
        # A number ahead of libphonenumber's metadata: keep WhatsApp's digits verbatim.
        return "+" + user
    return None


def wa_user_from_e164(e164: str) -> str:
    """The digits WhatsApp uses for an E.164 number (``+4915112345678`` → ``4915112345678``)."""
    number = _parse_international(e164.strip().lstrip("+"))
    if number is None or not phonenumbers.is_possible_number(number):
        raise InvalidChatId(f"{_short(e164)!r} is not an international phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).lstrip("+")


def phone_chat_key(e164: str) -> str:
    """The canonical chat key of a phone number (``+4915112345678`` → ``4915112345678@s.whatsapp.net``)."""
    return f"{wa_user_from_e164(e164)}@{PHONE_SERVER}"


@dataclass(frozen=True, slots=True)
class TransportMessageId:
    """A transport's message id taken apart.

    WAHA spells ids ``true|false_<chatId>_<msgId>[_<participant>]``; the inner ``msgId`` is what WhatsApp
    itself assigned and the only stable part: the chat may be spelled ``@lid`` in one delivery and
    ``@c.us`` in the next, and group message ids append the message's author (also on acks, where the
    reader is a separate field). Other transports (Cloud API ``wamid.…``) already give the bare id.
    """

    wa_message_id: str
    from_me: bool | None
    chat_id: str | None
    participant: str | None


def split_message_id(transport_id: str) -> TransportMessageId:
    """Split a transport message id; raises ``InvalidChatId`` for something that is no message id."""
    text = transport_id.strip() if isinstance(transport_id, str) else ""
    match = _SERIALIZED_ID.fullmatch(text)
    if match is not None:
        return TransportMessageId(
            wa_message_id=match["id"],
            from_me=match["from_me"] == "true",
            chat_id=match["chat"],
            participant=match["participant"],
        )
    if _RAW_ID.fullmatch(text) and not text.startswith(("true_", "false_")):
        return TransportMessageId(wa_message_id=text, from_me=None, chat_id=None, participant=None)
    raise InvalidChatId(f"{_short(text)!r} is not a WhatsApp message id")


def logical_message_key(account_id: str, transport_id: str, *, from_me: bool | None = None) -> str:
    """The one key under which a logical message is stored, however often and however spelled it arrives.

    ``<account_id>/<in|out>/<wa_message_id>``. The chat and the group participant are deliberately left
    out (they change between twins); the account is in (two connected numbers in one chat each keep their
    own copy); the direction is in because WhatsApp keys messages by (chat, from_me, id) and it never
    differs between twins. ``from_me`` is read from a serialized id when not given.
    """
    parts = split_message_id(transport_id)
    direction = from_me if from_me is not None else parts.from_me
    if direction is None:
        raise InvalidChatId(f"{_short(transport_id)!r} does not say whether we sent it; pass from_me")
    if not account_id or "/" in account_id:
        raise InvalidChatId(f"{_short(account_id)!r} is not an account id")
    return f"{account_id}/{'out' if direction else 'in'}/{parts.wa_message_id}"


def _parse_international(digits: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return None


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."
