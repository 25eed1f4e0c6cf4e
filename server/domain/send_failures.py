"""The words a send fails with after it was queued, and reading them back.

The send job stores a failed send's reason and its message in English on the outbox row (the database and
the logs stay English). The panel shows the row to whoever opens it, in their language: it reads the stored
message back into the words it was made from (the templates of its reason, below) and shows those
translated. A message it cannot read back (a gateway's own words) is shown as it was stored.
"""

from __future__ import annotations

import re
from functools import lru_cache

from server.domain.text import Text

NUMBER_REMOVED = Text("The WhatsApp number was removed")
SENDER_UNINSTALLED = Text("Not sent: WaPipe was uninstalled for the Pipedrive user who sent this message")
FILE_DELETED = Text("The file was deleted in Pipedrive")


def file_too_large(file: str, size_mb: int, limit_mb: int) -> Text:
    return Text(
        "%(file)s is %(size)s MB; WhatsApp takes up to %(limit)s MB", file=file, size=size_mb, limit=limit_mb
    )


def no_answer(seconds: str) -> Text:
    """A send still going after its deadline (``JobTimings.send_deadline``)."""
    return Text("WhatsApp did not answer within %(seconds)s seconds", seconds=seconds)


def gave_up(message: str | Text, tries: int) -> Text:
    """A failure that lasted through every try: its message, and how often it was tried."""
    return Text("%(message)s (gave up after %(tries)s tries)", message=message, tries=tries)


# Each reason's messages as the send job words them: the message ids a stored message is read back with.
TEMPLATES: dict[str, tuple[str, ...]] = {
    "unknown_from_number": (NUMBER_REMOVED.msgid,),
    "sender_uninstalled": (SENDER_UNINSTALLED.msgid,),
    "attachment_missing": (FILE_DELETED.msgid,),
    "attachment_too_large": (file_too_large("", 0, 0).msgid,),
    "send_timed_out": (no_answer("").msgid,),
}
_GAVE_UP = gave_up("", 0).msgid
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def stored_failure(reason: str, message: str) -> str | Text:
    """The words a stored failure was made from, to show in the reader's language; the stored English
    when they cannot be told."""
    held = _read(_GAVE_UP, message)
    if held is not None:
        inner = held.params["message"]
        return Text(_GAVE_UP, message=stored_failure(reason, str(inner)), tries=held.params["tries"])
    for msgid in TEMPLATES.get(reason, ()):
        found = _read(msgid, message)
        if found is not None:
            return found
    return message


def _read(msgid: str, message: str) -> Text | None:
    """``Text(msgid, …)`` whose English is ``message``, if there is one."""
    match = _pattern(msgid).fullmatch(message)
    if match is None:
        return None
    text = Text(msgid, **match.groupdict())
    return text if str(text) == message else None


@lru_cache(maxsize=32)
def _pattern(msgid: str) -> re.Pattern[str]:
    parts = _PLACEHOLDER.split(msgid)  # literal, name, literal, name, …
    return re.compile(
        "".join(
            re.escape(part) if position % 2 == 0 else f"(?P<{part}>.+?)"
            for position, part in enumerate(parts)
        ),
        re.DOTALL,
    )
