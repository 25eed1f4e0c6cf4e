"""Stop words: a reply that is only one of them (trimmed, any case, accents or not) is an opt-out.

The defaults cover English and the common translations; a company may keep its own list
(``clean_stop_words`` refuses an empty or oversized one by name, ``invalid_stop_words``). ``opt_out_line``
is the plain line a template can end with so recipients know how to stop the messages. ``LidReply`` is a
short reply from a chat WhatsApp names only by its LID, whose number is still to be found.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from server.domain.errors import InvalidInput
from server.domain.text import Text

DEFAULT_STOP_WORDS: tuple[str, ...] = (
    "STOP",
    "UNSUBSCRIBE",
    "STOPP",
    "ALTO",
    "ARRET",
    "ARRÊT",
    "PARAR",
    "BAJA",
    "ABMELDEN",
    "DISISCRIVI",
    "CANCELAR",
    "停止",
    "配信停止",
)
MAX_STOP_WORDS = 50
MAX_STOP_WORD = 40  # a reply longer than a few words is a conversation, not an opt-out
SHORT_REPLY = 4 * MAX_STOP_WORD  # replies longer than this are never compared (spaces, punctuation around)
_TRIM = " \t\r\n.!¡?¿,;:\"'()[]«»“”‘’。！？、"


def fold(text: str) -> str:
    """How a reply is compared: trimmed of spaces and punctuation around it, case- and accent-free."""
    decomposed = unicodedata.normalize("NFKD", text.strip(_TRIM).strip())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(bare.casefold().split())


def matching_stop_word(text: str, words: Iterable[str]) -> str | None:
    """The stop word ``text`` is (as the company wrote it), or ``None``. The whole message must be it."""
    if len(text) > SHORT_REPLY:
        return None
    folded = fold(text)
    if not folded:
        return None
    for word in words:
        if fold(word) == folded:
            return word
    return None


def clean_stop_words(words: Sequence[str]) -> tuple[str, ...]:
    """The list to keep: trimmed, blanks and repeats (as compared) dropped, in the order given."""
    kept: list[str] = []
    seen: set[str] = set()
    for raw in words:
        word = " ".join(raw.split())
        if not word:
            continue
        if len(word) > MAX_STOP_WORD:
            raise InvalidInput(
                Text("A stop word has at most %(limit)s characters", limit=MAX_STOP_WORD),
                reason="invalid_stop_words",
            )
        if fold(word) in seen:
            continue
        seen.add(fold(word))
        kept.append(word)
    if not kept:
        raise InvalidInput(Text("Keep at least one stop word"), reason="invalid_stop_words")
    if len(kept) > MAX_STOP_WORDS:
        raise InvalidInput(
            Text("At most %(limit)s stop words", limit=MAX_STOP_WORDS), reason="invalid_stop_words"
        )
    return tuple(kept)


def opt_out_line(stop_word: str = "STOP") -> Text:
    """The line a campaign message can end with (the page appends it to the text)."""
    return Text("Reply %(word)s to unsubscribe", word=stop_word)


@dataclass(frozen=True, slots=True)
class LidReply:
    """A new short text from a contact in a one-to-one chat WhatsApp names only by a LID (``<n>@lid``, no
    number known yet): a stop-word candidate whose number is to be found before it can opt out."""

    company_id: int
    account_id: int  # the number it came to
    lid: str  # the chat key
    text: str
    at: datetime  # when it was sent
