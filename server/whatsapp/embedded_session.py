"""whatsmeow's connection events (through neonize) → ``SessionChanged`` with the status the numbers page
shows. Pure.

``detail`` keeps whatsmeow's own name for what happened (``KEEPALIVE_TIMEOUT``,
``CONNECT_FAILURE_TEMP_BANNED``), spelled like WAHA's status names, so the pages show the status's own
translated reason (``session_reasons``) and the logs say exactly which event it was. When WhatsApp cannot
be reached at all (no network, DNS, a refused connection), no event comes: the running session records the
``unreachable`` status itself (``server.whatsapp.embedded_connection``).
"""

from __future__ import annotations

from datetime import datetime

from server.domain.errors import MalformedEvent
from server.domain.jids import JidKind, jid_or_none
from server.domain.whatsapp import Peer, SessionChanged, SessionStatus
from server.whatsapp.embedded_proto import enum_name, jid_spelling, sub, text, type_name
from server.whatsapp.embedded_results import Translated
from server.whatsapp.waha_payloads import peer_for

# neonize's event type → (status, detail) for the events that carry nothing else.
_PLAIN = {
    "neonize.Connected": (SessionStatus.CONNECTED, "CONNECTED"),
    "neonize.KeepAliveRestored": (SessionStatus.CONNECTED, "KEEPALIVE_RESTORED"),
    "neonize.Disconnected": (SessionStatus.DISCONNECTED, "DISCONNECTED"),
    "neonize.KeepAliveTimeout": (SessionStatus.DISCONNECTED, "KEEPALIVE_TIMEOUT"),
    "neonize.StreamError": (SessionStatus.DISCONNECTED, "STREAM_ERROR"),
    "neonize.StreamReplaced": (SessionStatus.FAILED, "STREAM_REPLACED"),  # another client took the session
    "neonize.ClientOutdated": (SessionStatus.FAILED, "CLIENT_OUTDATED"),
    "neonize.TemporaryBan": (SessionStatus.BANNED, "TEMPORARY_BAN"),
}
# ConnectFailure and LoggedOut reasons (whatsmeow's ConnectFailureReason) → status.
_FAILURES = {
    "LOGGED_OUT": SessionStatus.LOGGED_OUT,
    "MAIN_DEVICE_GONE": SessionStatus.LOGGED_OUT,
    "UNKNOWN_LOGOUT": SessionStatus.LOGGED_OUT,
    "TEMP_BANNED": SessionStatus.BANNED,
    "CLIENT_OUTDATED": SessionStatus.FAILED,
    "BAD_USER_AGENT": SessionStatus.FAILED,
    "GENERIC": SessionStatus.DISCONNECTED,
    "INTERNAL_SERVER_ERROR": SessionStatus.DISCONNECTED,
    "SERVICE_UNAVAILABLE": SessionStatus.DISCONNECTED,
    "EXPERIMENTAL": SessionStatus.DISCONNECTED,
}
SESSION_EVENTS = frozenset(
    {*_PLAIN, "neonize.QR", "neonize.PairStatus", "neonize.ConnectFailure", "neonize.LoggedOut"}
)


def session_events(event: object, *, account_id: str, at: datetime, me: Peer | None) -> Translated:
    name = type_name(event)
    if name == "neonize.QR":
        codes = tuple(code for code in (_code(c) for c in getattr(event, "Codes", ())) if code)
        if not codes:
            raise MalformedEvent("A QR event from the embedded transport carries no linking code")
        changed = SessionChanged(account_id, SessionStatus.NEEDS_PAIRING, at, "SCAN_QR_CODE", me)
        return Translated(events=(changed,), qr_codes=codes)
    if name == "neonize.PairStatus":
        return Translated(events=(_paired(event, account_id=account_id, at=at, me=me),))
    if name == "neonize.ConnectFailure":
        reason = enum_name(event, "Reason") or "GENERIC"
        status = _FAILURES.get(reason, SessionStatus.DISCONNECTED)
        return _one(account_id, status, at, f"CONNECT_FAILURE_{reason}", me)
    if name == "neonize.LoggedOut":
        reason = enum_name(event, "Reason") or "LOGGED_OUT"
        # whatsmeow dropped the session's keys: only linking again helps (a ban says so on its own).
        status = SessionStatus.BANNED if reason == "TEMP_BANNED" else SessionStatus.LOGGED_OUT
        return _one(account_id, status, at, f"LOGGED_OUT_{reason}", me)
    if name in _PLAIN:
        status, detail = _PLAIN[name]
        if name == "neonize.TemporaryBan":
            detail = f"TEMPORARY_BAN_{enum_name(event, 'Code') or 'UNKNOWN'}"
        return _one(account_id, status, at, detail, me)
    raise MalformedEvent(f"{name or type(event).__name__} is not a connection event")


def _paired(event: object, *, account_id: str, at: datetime, me: Peer | None) -> SessionChanged:
    if enum_name(event, "Status") == "ERROR":
        return SessionChanged(account_id, SessionStatus.FAILED, at, "PAIRING_FAILED", me)
    own = jid_or_none(jid_spelling(sub(event, "ID")))
    paired = (
        peer_for(own, display_name=text(event, "BusinessName"))
        if own is not None and own.kind is JidKind.PHONE
        else me
    )
    # Linked: whatsmeow now reconnects with the new keys and reports Connected when it is ready.
    return SessionChanged(account_id, SessionStatus.STARTING, at, "PAIR_SUCCESS", paired)


def _one(account_id: str, status: SessionStatus, at: datetime, detail: str, me: Peer | None) -> Translated:
    return Translated(events=(SessionChanged(account_id, status, at, detail, me),))


def _code(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None
