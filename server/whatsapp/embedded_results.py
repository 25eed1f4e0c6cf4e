"""What translating one neonize event gives: WaPipe's transport events, group news, linking codes, and
the parts left out with the reason why (for the logs). Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from server.domain.errors import InvalidChatId, MalformedEvent
from server.domain.jids import Jid, parse_jid
from server.domain.whatsapp import GroupInfo, TransportEvent
from server.whatsapp.untrusted_input import datetime_from_epoch

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Skipped:
    """A part of an event WaPipe does not log, and why (``reason`` is stable, ``detail`` says what)."""

    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class Translated:
    events: tuple[TransportEvent, ...] = ()
    groups: tuple[GroupInfo, ...] = ()  # a group's subject/description (and members when whole)
    qr_codes: tuple[str, ...] = ()  # linking values to draw (``server.whatsapp.qr``), first one now
    skipped: tuple[Skipped, ...] = ()


def skip(reason: str, detail: str) -> Translated:
    return Translated(skipped=(Skipped(reason, detail),))


def event_time(value: int | None, fallback: datetime) -> datetime:
    """A time whatsmeow gave in epoch seconds (or milliseconds); ``fallback`` when absent or implausible."""
    return datetime_from_epoch(value) or datetime_from_epoch(value, millis=True) or fallback


def jid_of(spelling: str | None, *, what: str) -> Jid:
    """A chat id the event must carry; ``MalformedEvent`` when it is missing or unreadable."""
    if spelling is None:
        raise MalformedEvent(f"The embedded transport's {what} names no chat")
    try:
        return parse_jid(spelling)
    except InvalidChatId as error:
        raise MalformedEvent(
            f"The embedded transport's {what} has an unreadable chat id: {error.message}"
        ) from error


def unique(values: Sequence[T]) -> tuple[T, ...]:
    kept: list[T] = []
    for value in values:
        if value not in kept:
            kept.append(value)
    return tuple(kept)
