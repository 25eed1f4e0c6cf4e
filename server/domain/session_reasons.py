"""Why a WhatsApp number cannot send, in words a salesperson understands (the panel's From list and its
``from_disconnected`` refusal say the same)."""

from __future__ import annotations

import re

from server.domain.whatsapp import SessionStatus

REASONS = {
    SessionStatus.STOPPED.value: "session stopped",
    SessionStatus.STARTING.value: "still starting: try again in a moment",
    SessionStatus.NEEDS_PAIRING.value: "waiting for the QR code to be scanned",
    SessionStatus.DISCONNECTED.value: "lost its connection to WhatsApp",
    SessionStatus.LOGGED_OUT.value: "logged out on the phone: link it again",
    SessionStatus.BANNED.value: "banned by WhatsApp",
    SessionStatus.FAILED.value: "connection failed: the phone may be offline or logged out",
    "unlinked": "unlinked in WaPipe: link it again",
    SessionStatus.CONNECTED.value: "connected, but WhatsApp has not reported its number yet",
}
# A session change stores the gateway's own status name (WAHA's "FAILED", "SCAN_QR_CODE") as its detail:
# it says nothing the stored status does not, so the status's reason is shown instead.
_GATEWAY_STATUS_NAME = re.compile(r"[A-Z][A-Z0-9_]*")


def not_connected_reason(status: str, detail: str) -> str:
    """The stored detail when it tells more than the status (e.g. "gateway not reachable: …"), else the
    status's reason."""
    detail = detail.strip()
    if detail and not _GATEWAY_STATUS_NAME.fullmatch(detail):
        return detail
    return REASONS.get(status, "not connected")
