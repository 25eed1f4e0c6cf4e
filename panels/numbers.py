"""The team's WhatsApp numbers page: who linked which number, its status, and linking a new one."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from panels.errors import ErrorView
from panels.templating import render
from server.domain.models import Account
from server.domain.text import Text

# A number's status as a person reads it, and its style.
STATUS_TEXTS = {
    "connected": (Text("Connected"), "ok"),
    "starting": (Text("Starting…"), "pending"),
    "needs_pairing": (Text("Waiting for the QR scan"), "pending"),
    "stopped": (Text("Stopped"), "pending"),
    "disconnected": (Text("Disconnected"), "failing"),
    "logged_out": (Text("Logged out"), "failing"),
    "failed": (Text("Failed"), "failing"),
    "banned": (Text("Banned by WhatsApp"), "failing"),
    "unreachable": (Text("Cannot reach WhatsApp"), "failing"),
    "unlinked": (Text("Unlinked"), "failing"),
}
NOT_LINKED_YET = Text("not linked yet")
WAITING_FOR_CODE = Text("Waiting for the code to be typed on the phone")


def status_text(status: str) -> tuple[str | Text, str]:
    """A number's status as a person reads it (a status WaPipe has no words for: as it is), its style."""
    return STATUS_TEXTS.get(status, (status, "pending"))


def code_status_text(status: str) -> str | Text:
    """The status beside a pairing code: waiting for the code, not for a QR scan."""
    return WAITING_FOR_CODE if status == "needs_pairing" else status_text(status)[0]


@dataclass(frozen=True, slots=True)
class NumberRow:
    id: int
    number: str | Text
    name: str
    owner_user_id: int
    owner_name: str  # "" when no installation of the company names the owner
    is_mine: bool
    status_label: str | Text
    status_class: str
    detail: str
    last_activity_at: datetime | None

    @property
    def connected(self) -> bool:
        return self.status_class == "ok"


@dataclass(frozen=True, slots=True)
class NumbersView:
    rows: tuple[NumberRow, ...]

    @property
    def mine(self) -> tuple[NumberRow, ...]:
        return tuple(row for row in self.rows if row.is_mine)


@dataclass(frozen=True, slots=True)
class PairingView:
    account_id: int
    status_label: str | Text
    done: bool
    number: str
    qr_data_uri: str | None
    phone_url: str | None = None  # demo only: the simulated phone that can scan the code
    poll_seconds: float = 2.0  # how often the page asks again until the phone is linked
    typed_phone: str = ""  # the "link with phone number" form: what was typed, kept on a refusal
    phone_error: ErrorView | None = None


@dataclass(frozen=True, slots=True)
class PairingCodeView:
    """Linking by a code typed on the phone: the code once WhatsApp gave it (``None``: on its way)."""

    account_id: int
    e164: str
    code: str | None
    status_label: str | Text
    poll_seconds: float = 2.0

    @property
    def pairing(self) -> PairingView:
        """The QR view's fields the shared "link with phone number" form reads (its number kept)."""
        return PairingView(self.account_id, self.status_label, False, "", None, typed_phone=self.e164)


def number_row(account: Account, user_id: int, names: Mapping[int, str] | None = None) -> NumberRow:
    label, css = status_text(account.status)
    return NumberRow(
        id=account.id,
        number=account.e164 or NOT_LINKED_YET,
        name=account.display_name,
        owner_user_id=account.owner_user_id,
        owner_name=(names or {}).get(account.owner_user_id, ""),
        is_mine=account.owner_user_id == user_id,
        status_label=label,
        status_class=css,
        detail=account.status_detail,
        last_activity_at=account.last_activity_at,
    )


def numbers_view(
    accounts: Sequence[Account], user_id: int, names: Mapping[int, str] | None = None
) -> NumbersView:
    """``names``: who each owner is, by Pipedrive user id (``server.domain.team.member_names``)."""
    return NumbersView(tuple(number_row(account, user_id, names) for account in accounts))


def pairing_view(
    account: Account,
    status: str,
    qr_png: bytes | None,
    done: bool,
    phone_url: str | None = None,
    *,
    poll_seconds: float = 2.0,
) -> PairingView:
    label, _ = status_text(status)
    uri = "data:image/png;base64," + base64.b64encode(qr_png).decode() if qr_png else None
    return PairingView(account.id, label, done, account.e164 or "", uri, phone_url, poll_seconds)


@dataclass(frozen=True, slots=True)
class CloudLinkView:
    """The Cloud API form: what was typed (kept on a refusal), the refusal, or the number just linked."""

    typed: str = ""
    error: ErrorView | None = None
    linked: str = ""


def render_numbers_page(
    view: NumbersView, *, cloud: bool = False, gateway_problem: ErrorView | None = None
) -> str:
    """The numbers page; ``gateway_problem`` says why no number can be linked through WAHA now."""
    cloud_view = CloudLinkView() if cloud else None
    return render("panels/numbers.html", view=view, cloud=cloud_view, gateway_problem=gateway_problem)


def render_cloud_link(view: CloudLinkView) -> str:
    return render("partials/_number_cloud.html", cloud=view)


def render_numbers_list(view: NumbersView) -> str:
    return render("partials/_numbers_list.html", view=view)


def render_pairing(view: PairingView) -> str:
    return render("partials/_number_pairing.html", view=view)


def render_pairing_qr(view: PairingView) -> str:
    """The part of the pairing view that asks again until the number is linked: status and QR code."""
    return render("partials/_number_pairing_qr.html", view=view)


def render_pairing_code(view: PairingCodeView) -> str:
    return render("partials/_number_pairing_code.html", code=view)


def render_pairing_status(view: PairingCodeView) -> str:
    """The part of the code view that asks again until the number is linked (the code stays in place)."""
    return render("partials/_number_pairing_status.html", code=view)
