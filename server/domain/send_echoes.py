"""Sending exactly once over transports without an idempotency key.

Neither WAHA nor the Cloud API takes a caller-chosen message id, and a send can fail *after* WhatsApp
accepted it (read timeout, 5xx or 429 from a gateway that had already sent). Resending blindly doubles the
message on the customer's phone; giving up silently loses it. The outbox closes the gap:

1. The outbox row (``client_ref``, unique) is written before anything is sent, with the chat, the
   ``send_fingerprint`` of the content and ``attempt_started_at``.
2. The send job (job id ``outbox:<client_ref>``) calls ``transport.send``. On success it stores
   ``SendResult.wa_message_id`` (unique per account) on the row: done.
3. On ``GatewayUnavailable`` with ``maybe_sent=False`` (connection refused) it simply retries.
   With ``maybe_sent=True`` (the row stays ``sending``) it does **not** resend at once. It defers, then:
   a. uses the message id a status webhook stored on the row meanwhile (4), else
   b. asks ``transport.find_sent(account, message, since=attempt_started_at)``: WAHA looks in the chat's
      history for our own messages since then whose chat and ``echo_fingerprint`` match (``is_echo_of``);
      the Cloud API answers ``None``, its statuses carry the reference instead (4);
   c. only when both say "not sent" does it send again.
4. The Cloud API echoes ``biz_opaque_callback_data`` (we send ``client_ref`` there) on every status
   (``StatusChanged.client_ref``): ingest stores the status's message id on the ``sending`` row of that
   account and reference (``InboxStore.claim_send``), a direct match, no fingerprint needed.
5. Either way the message row itself is deduped by ``InboundMessage.key`` / ``SendResult.key``, which are
   equal for a send and its echo, so the conversation shows one message. While a send's answer is still on
   its way, a WAHA ``message.any`` echo (``source: "api"``) may be stored first: the panel then shows the
   stored message and hides the entry (``echoed_sends``, oldest entry first, one message each).

The fingerprint is deliberately coarse (text vs media, normalised text): gateways echo an image sent as
a file as an image, a voice note as audio, and may re-encode media, so nothing finer survives the round
trip.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from server.domain.conversation import ContactMessage
from server.domain.jids import canonical_chat_key
from server.domain.models import OutboxEntry, OutboxStatus
from server.domain.whatsapp import InboundMessage, OutboundMessage

CLOCK_SKEW = timedelta(seconds=30)


def send_fingerprint(message: OutboundMessage) -> str:
    """The fingerprint of what we are about to send; store it on the outbox row."""
    if message.template is not None:
        template = message.template
        return _fingerprint("template", "\x00".join((template.name, *template.body_parameters)))
    return _fingerprint("media" if message.media is not None else "text", message.text)


def echo_fingerprint(message: InboundMessage) -> str:
    """The fingerprint of a gateway echo; equal to ``send_fingerprint`` of the message it echoes."""
    return _fingerprint("media" if message.media is not None else "text", message.text)


def is_echo_of(
    echo: InboundMessage,
    message: OutboundMessage,
    *,
    attempt_started_at: datetime,
    chat_keys: Collection[str],
) -> bool:
    """Whether ``echo`` can be the message an interrupted send delivered.

    ``chat_keys`` are the canonical keys of the chat we sent to, with its known aliases (the ``@lid`` and
    the phone spelling of one contact). The echo's own alias counts too: a message sent to a ``@lid`` comes
    back keyed by the phone number when the gateway knows it, with the LID in ``chat.lid``.
    """
    return (
        echo.from_me
        and echo.sent_at >= attempt_started_at - CLOCK_SKEW
        and (echo.chat.chat_key in chat_keys or echo.chat.lid in chat_keys)
        and echo_fingerprint(echo) == send_fingerprint(message)
    )


def echoed_sends(entries: Sequence[OutboxEntry], messages: Sequence[ContactMessage]) -> set[int]:
    """Outbox entries still on their way whose echo is already stored: the gateway echoed the message
    before its answer to the send came back. Shown once, as the stored message.

    Each stored message stands for one entry at most, oldest entry first (two identical "ok" sends keep
    their order), and never for one a finished send already names."""
    claimed = {entry.message_key for entry in entries if entry.message_key is not None}
    free = [message for message in messages if message.from_me and message.message_key not in claimed]
    echoed: set[int] = set()
    for entry in sorted(entries, key=lambda e: e.id):
        if entry.status not in (OutboxStatus.QUEUED, OutboxStatus.SENDING) or entry.message_key is not None:
            continue
        since = (entry.attempt_started_at or entry.created_at) - CLOCK_SKEW
        wanted = _fingerprint("media" if entry.file_id else "text", entry.text)
        for message in free:
            if (
                message.account_id == entry.account_id
                and message.sent_at >= since
                and _fingerprint("media" if message.media_kind else "text", message.text) == wanted
            ):
                echoed.add(entry.id)
                free.remove(message)
                break
    return echoed


def outbound_chat_keys(message: OutboundMessage, aliases: Collection[str] = ()) -> frozenset[str]:
    """The canonical chat keys an echo of ``message`` may arrive under."""
    return frozenset({canonical_chat_key(message.to), *aliases})


def _fingerprint(kind: str, text: str | None) -> str:
    normalised = unicodedata.normalize("NFC", (text or "").replace("\r\n", "\n")).strip()
    return hashlib.sha256(f"{kind}\x00{normalised}".encode()).hexdigest()
