"""Why a WhatsApp number cannot send, in words a salesperson understands (the panel's From list and the
``from_disconnected`` refusal of a send or a campaign's start say the same), and that refusal."""

from __future__ import annotations

import re

from server.domain.errors import InvalidInput
from server.domain.models import Account
from server.domain.text import Text
from server.domain.whatsapp import SessionStatus

REASONS = {
    SessionStatus.STOPPED.value: Text("session stopped"),
    SessionStatus.STARTING.value: Text("still starting: try again in a moment"),
    SessionStatus.NEEDS_PAIRING.value: Text("waiting for the QR code to be scanned"),
    SessionStatus.DISCONNECTED.value: Text("lost its connection to WhatsApp"),
    SessionStatus.LOGGED_OUT.value: Text("logged out on the phone: link it again"),
    SessionStatus.BANNED.value: Text("banned by WhatsApp"),
    SessionStatus.FAILED.value: Text("connection failed: the phone may be offline or logged out"),
    SessionStatus.UNREACHABLE.value: Text("WaPipe cannot reach WhatsApp's servers from where it runs"),
    "unlinked": Text("unlinked in WaPipe: link it again"),
    SessionStatus.CONNECTED.value: Text("connected, but WhatsApp has not reported its number yet"),
}
# A session change stores the gateway's own status name (WAHA's "FAILED", "SCAN_QR_CODE") as its detail:
# it says nothing the stored status does not, so the status's reason is shown instead.
_GATEWAY_STATUS_NAME = re.compile(r"[A-Z][A-Z0-9_]*")


def not_connected_reason(status: str, detail: str) -> str | Text:
    """The stored detail when it tells more than the status (e.g. "gateway not reachable: …", the
    gateway's words as stored), else the status's reason."""
    detail = detail.strip()
    if detail and not _GATEWAY_STATUS_NAME.fullmatch(detail):
        return detail
    return REASONS.get(status) or Text("not connected")


def from_disconnected(account: Account) -> InvalidInput:
    """The refusal to send from ``account``, which is not connected, saying why and what to do."""
    why = not_connected_reason(account.status, account.status_detail)
    number = account.e164 or account.display_name
    if number:
        refusal = Text(
            "%(number)s is not connected – %(why)s. Link it again on the WhatsApp numbers page",
            number=number,
            why=why,
        )
    else:
        refusal = Text(
            "That number is not connected – %(why)s. Link it again on the WhatsApp numbers page", why=why
        )
    return InvalidInput(refusal, reason="from_disconnected")
