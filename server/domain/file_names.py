"""File names that came from outside (a WhatsApp sender, a browser's upload), cleaned the same way wherever
WaPipe passes them on: the name of a chat-view upload, of an attachment uploaded to Pipedrive Files, and
the name a download is saved under."""

from __future__ import annotations

import re
import unicodedata

MAX_LENGTH = 120
MAX_EXTENSION = 16
FALLBACK = "attachment"
# Control characters, format characters (bidi overrides and isolates, zero-width characters, soft hyphen),
# line and paragraph separators: none belongs in a file name, and some reorder or hide what a person reads.
_DROPPED = frozenset({"Cc", "Cf", "Zl", "Zp"})
# Characters a file system or a header would read as syntax.
_RESERVED = re.compile(r'["*:;<>?|]')


def clean_file_name(raw: str | None, fallback: str = FALLBACK) -> str:
    """The last part of ``raw`` (after ``/`` or ``\\``) without dropped characters, reserved characters as
    ``_``, no leading dots, no trailing dots or spaces, at most 120 characters with the extension kept;
    ``fallback`` when nothing is left."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in _DROPPED)
    name = _RESERVED.sub("_", name).lstrip(". ").rstrip(". ")
    return _shortened(name) or fallback


def _shortened(name: str) -> str:
    if len(name) <= MAX_LENGTH:
        return name
    stem, dot, extension = name.rpartition(".")
    if dot and stem and len(extension) <= MAX_EXTENSION:
        return stem[: MAX_LENGTH - len(extension) - 1].rstrip(". ") + "." + extension
    return name[:MAX_LENGTH].rstrip(". ")
