"""Linking team members' WhatsApp numbers: start a session, show its QR code, watch it connect, unlink.

One number belongs to one user; a company has as many as its team links. Only the user who linked a
number can unlink it. Each link started holds a session on the gateway, so a user may have only so many
waiting for their QR code.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from server.domain.errors import InvalidInput, NotFound
from server.domain.models import Account
from server.domain.phone_numbers import is_international, to_e164
from server.domain.ports.storage import AccountStore, InboxStore
from server.domain.ports.whatsapp import WhatsAppTransport
from server.domain.text import Text, ntext
from server.domain.whatsapp import SessionStatus

UNLINKED = "unlinked"  # not a session status: the owner's decision, which gateway events do not undo
PAIRING_STATUSES = frozenset({SessionStatus.STARTING, SessionStatus.NEEDS_PAIRING, SessionStatus.STOPPED})


class NotYours(InvalidInput):
    reason = "forbidden"


class TooManyPending(InvalidInput):
    reason = "too_many_pending_pairings"


def is_pending(account: Account) -> bool:
    """Started and never linked: waiting for its QR code (not unlinked, failed or once connected)."""
    return account.e164 is None and account.status in PAIRING_STATUSES


@dataclass(frozen=True, slots=True)
class Pairing:
    """Where a number's linking stands, for the page that polls it."""

    account: Account
    status: SessionStatus
    qr_png: bytes | None = None  # present while the phone should scan

    @property
    def done(self) -> bool:
        return self.status is SessionStatus.CONNECTED


@dataclass(frozen=True, slots=True)
class PairingCode:
    """The code to type on the phone being linked, for the number it was asked for (``None``: not yet)."""

    account: Account
    e164: str
    code: str | None


def session_name_for(company_id: int, user_id: int) -> str:
    return f"wapipe-c{company_id}-u{user_id}-{secrets.token_hex(3)}"


class NumberLinking:
    def __init__(
        self,
        accounts: AccountStore,
        inbox: InboxStore,
        transport: WhatsAppTransport,
        qr_image: Callable[[str], Awaitable[bytes | None]],
        *,
        max_pending: int = 3,
        on_connected: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        self._accounts = accounts
        self._inbox = inbox
        self._transport = transport
        self._qr_image = qr_image
        self._max_pending = max_pending
        # called with the account's id when this page is the first to see the number connected (its
        # catch-up: the gateway's own "connected" event then changes nothing and queues none)
        self._on_connected = on_connected

    async def start(self, company_id: int, user_id: int) -> Account:
        """A new session for the user's number; the page then polls ``pairing``. ``TooManyPending`` when
        the user already has ``max_pending`` numbers waiting for their QR code (nothing is started)."""
        accounts = await self._accounts.for_company(company_id)
        pending = len([a for a in accounts if a.owner_user_id == user_id and is_pending(a)])
        if pending >= self._max_pending:
            raise TooManyPending(
                ntext(
                    "You have %(count)s number waiting for its QR code to be scanned. Scan one with your "
                    "phone, or unlink the ones you do not need, before linking another.",
                    "You have %(count)s numbers waiting for their QR code to be scanned. Scan one with your "
                    "phone, or unlink the ones you do not need, before linking another.",
                    pending,
                )
            )
        await self._transport.check_ready()  # before a number is added that could never work
        account = await self._accounts.create(
            company_id=company_id,
            owner_user_id=user_id,
            transport=self._transport.kind,
            session_name=session_name_for(company_id, user_id),
        )
        status = await self._transport.connect(account.session_name)
        await self._inbox.record_session(account.id, status, "", None, None)
        return account

    async def pairing(self, company_id: int, account_id: int, *, with_qr: bool = True) -> Pairing:
        """Where the number's linking stands; ``with_qr``: with the QR code to scan while it waits."""
        account = await self._owned_by_company(company_id, account_id)
        status = await self._transport.status(account.session_name)
        me = await self._transport.me(account.session_name) if status is SessionStatus.CONNECTED else None
        await self._inbox.record_session(account.id, status, "", me, None)
        connected_now = status is SessionStatus.CONNECTED and account.status != SessionStatus.CONNECTED.value
        if connected_now and self._on_connected is not None:
            await self._on_connected(account.id)
        qr: bytes | None = None
        if status in PAIRING_STATUSES:
            if status is SessionStatus.STOPPED:
                status = await self._transport.connect(account.session_name)
            qr = await self._qr_image(account.session_name) if with_qr else None
        refreshed = await self._accounts.get(company_id, account_id)
        return Pairing(refreshed or account, status, qr)

    async def pairing_code(self, company_id: int, user_id: int, account_id: int, typed: str) -> PairingCode:
        """Ask WhatsApp for the code the user types on their phone instead of scanning the QR code
        (Linked devices → Link a device → Link with phone number instead). Only the user linking the
        number may ask, while it waits to be linked, for the number they typed with its country code.
        ``code`` is ``None`` while it is on its way (ask again with the same number)."""
        account = await self._owned_by_company(company_id, account_id)
        if account.owner_user_id != user_id:
            raise NotYours(Text("Only the person who is linking this number can ask for its code"))
        if not is_pending(account):
            raise InvalidInput(
                Text("This number is not waiting to be linked: link a new one instead"), reason="not_pairing"
            )
        e164 = to_e164(typed) if is_international(typed) else None
        if e164 is None:
            raise InvalidInput(
                Text(
                    "%(typed)s is not a phone number with its country code: type the number of the phone "
                    "you are linking as it is written abroad, such as +49 151 23456789",
                    typed=repr(typed[:40]),
                ),
                reason="invalid_phone",
            )
        code = await self._transport.pairing_code(account.session_name, e164)
        return PairingCode(account, e164, code)

    async def unlink(self, company_id: int, user_id: int, account_id: int) -> Account:
        account = await self._owned_by_company(company_id, account_id)
        if account.owner_user_id != user_id:
            raise NotYours(Text("Only the person who linked this number can unlink it"))
        await self._transport.disconnect(account.session_name, logout=True)
        await self._accounts.set_status(account.id, UNLINKED, "unlinked in WaPipe")
        refreshed = await self._accounts.get(company_id, account_id)
        assert refreshed is not None
        return refreshed

    async def _owned_by_company(self, company_id: int, account_id: int) -> Account:
        account = await self._accounts.get(company_id, account_id)
        if account is None:
            raise NotFound(Text("No such number in this company"))
        return account


_PHONE_NUMBER_ID = re.compile(r"[0-9]{1,32}")


async def link_cloud_number(
    accounts: AccountStore,
    inbox: InboxStore,
    transport: WhatsAppTransport,
    *,
    company_id: int,
    user_id: int,
    phone_number_id: str,
) -> Account:
    """Link a WhatsApp Business number of the Cloud API (no QR: Meta's phone number id and the app's
    token stand for it). The number is asked of the Graph API first, so a wrong id or token links nothing."""
    if not _PHONE_NUMBER_ID.fullmatch(phone_number_id):
        raise InvalidInput(
            Text(
                "%(typed)s is not a phone number id: copy its digits from WhatsApp Manager",
                typed=repr(phone_number_id[:40]),
            ),
            reason="invalid_phone_number_id",
        )
    try:
        me = await transport.me(phone_number_id)
    except NotFound:
        me = None  # Graph: "Object with ID … does not exist" (code 100, subcode 33)
    if me is None or not me.e164:
        raise InvalidInput(
            Text("The Cloud API reports no phone number for id %(id)s", id=phone_number_id),
            reason="number_unknown",
        )
    try:
        account = await accounts.create(
            company_id=company_id,
            owner_user_id=user_id,
            transport=transport.kind,
            session_name=phone_number_id,
        )
    except InvalidInput as error:
        if error.reason != "session_exists":
            raise
        raise InvalidInput(
            Text(
                "%(number)s (phone number id %(id)s) is already linked to WaPipe",
                number=me.e164,
                id=phone_number_id,
            ),
            reason="session_exists",
        ) from error
    await inbox.record_session(account.id, SessionStatus.CONNECTED, "", me, None)
    return await accounts.get(company_id, account.id) or account
