"""The short quote a reply carries of the message it answers, the same in every place it shows."""

from __future__ import annotations

from server.domain.message_changes import DELETED_TEXT

QUOTE_LIMIT = 80  # characters of the quoted text shown
_MEDIA_LABELS = {
    "image": "Image",
    "video": "Video",
    "audio": "Audio",
    "voice": "Voice note",
    "document": "Document",
    "sticker": "Sticker",
}
UNKNOWN_QUOTE = "an earlier message"  # the answered message is not in WaPipe and the transport sent no text


def short_quote(text: str, limit: int = QUOTE_LIMIT) -> str:
    """One line of at most ``limit`` characters, cut with "…"."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def quote_of(
    *,
    reply_to: str,
    found: bool,
    text: str | None = None,
    deleted: bool = False,
    media_kind: str | None = None,
    snapshot: str = "",
) -> str | None:
    """The quote of a reply (``None`` when the message answers nothing).

    ``found``: the answered message is stored; then its current state counts (deleted, edited text, an
    attachment without caption). Otherwise ``snapshot`` is what the transport said the quoted text was.
    """
    if not reply_to:
        return None
    if found:
        if deleted:
            return DELETED_TEXT
        if text and text.strip():
            return short_quote(text)
        if media_kind:
            return _MEDIA_LABELS.get(media_kind, "Attachment")
        return UNKNOWN_QUOTE
    return short_quote(snapshot) if snapshot.strip() else UNKNOWN_QUOTE
