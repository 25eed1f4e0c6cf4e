"""Sending from Pipedrive: check the request, store it in the outbox under its idempotency key, queue it.

A double click, a retried form post or a second tab with the same form all carry the same ``client_ref``
and end up as one outbox row and one WhatsApp message. Every refusal has a stable reason and a message
that says what to do; nothing typed is lost (the form keeps it).

A request can carry a Meta-approved template (``SendRequest.template``, filled by
``server.services.cloud_templates``) instead of free text: only from a Cloud API number
(``template_needs_cloud_number``), without an attachment (``template_with_attachment``); the row keeps the
filled body as its text, which the inbox and the transcript show. Free text to a contact of a Cloud API
number who has not written to it in the last 24 hours is refused before anything is queued
(``outside_cloud_window``), when the service is handed the inbox's ``ContactWindow``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from server.domain.clock import Clock, SystemClock
from server.domain.cloud_templates import (
    TemplateSend,
    outbound_template,
    outbox_columns,
    stored_parameters,
    window_open,
)
from server.domain.errors import InvalidChatId, InvalidInput, NotFound, NumberNotOnWhatsApp, Transient
from server.domain.jids import GROUP_SERVER, parse_jid
from server.domain.models import Account, OutboxEntry
from server.domain.phone_numbers import is_international, to_e164
from server.domain.ports.cloud_templates import ContactWindow
from server.domain.ports.queue import JobQueue
from server.domain.ports.storage import AccountStore, AuditLog, OutboxStore
from server.domain.ports.whatsapp import WhatsAppTransport
from server.domain.send_echoes import send_fingerprint
from server.domain.session_reasons import from_disconnected
from server.domain.templates import check_length
from server.domain.text import Text
from server.domain.whatsapp import OutboundMessage, SessionStatus
from server.services.cloud_templates import require_cloud

_CLIENT_REF = re.compile(r"[A-Za-z0-9_-]{8,64}")
NO_PHONE = Text("This person has no phone number; add one in Pipedrive")


@dataclass(frozen=True, slots=True)
class SendRequest:
    client_ref: str
    account_id: int
    to: str  # as typed or stored in Pipedrive
    text: str
    region: str | None = None  # the country to read a number without its country code in
    file_id: int | None = None
    file_name: str = ""
    person_id: int | None = None
    deal_id: int | None = None
    template: TemplateSend | None = None  # a Meta-approved template instead of ``text`` (Cloud API)


def send_job_id(outbox_id: int) -> str:
    return f"send:{outbox_id}"


class SendService:
    def __init__(
        self,
        accounts: AccountStore,
        outbox: OutboxStore,
        queue: JobQueue,
        audit: AuditLog | None = None,
        *,
        window: ContactWindow | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._accounts = accounts
        self._outbox = outbox
        self._queue = queue
        self._audit = audit
        self._window = window
        self._clock = clock or SystemClock()

    async def request(self, company_id: int, user_id: int, request: SendRequest) -> tuple[OutboxEntry, bool]:
        """The outbox entry (new, or the one an earlier click created) and whether it is new."""
        if not _CLIENT_REF.fullmatch(request.client_ref):
            raise InvalidInput(
                Text("The form was not sent completely; reload the panel"), reason="invalid_request"
            )
        template = request.template
        text = template.body.strip() if template is not None else request.text.strip()
        if template is not None and request.file_id is not None:
            raise InvalidInput(
                Text("A WhatsApp-approved template is sent without an attachment; remove the file"),
                reason="template_with_attachment",
            )
        if not text and request.file_id is None and template is None:
            raise InvalidInput(Text("Type a message or choose a file to send"), reason="empty_message")
        check_length(text)
        account = await self._accounts.get(company_id, request.account_id)
        if account is None:
            raise NotFound(
                Text("That WhatsApp number is not linked in this company"), reason="unknown_from_number"
            )
        if account.status != SessionStatus.CONNECTED.value:
            raise from_disconnected(account)
        if template is not None:
            require_cloud(account)
        to = recipient(request.to, request.region)
        if template is None and account.transport == "cloud" and to.startswith("+"):
            await self._check_window(account, to)
        if template is not None:
            sent = outbound_template(template.name, template.language, stored_parameters(template))
            preview: OutboundMessage | None = OutboundMessage(
                client_ref=request.client_ref, to=to, template=sent
            )
        else:
            preview = (
                OutboundMessage(client_ref=request.client_ref, to=to, text=text or None) if text else None
            )
        entry, created = await self._outbox.create(
            client_ref=request.client_ref,
            company_id=company_id,
            account_id=account.id,
            requested_by=user_id,
            to_chat=to,
            text=text,
            fingerprint=send_fingerprint(preview) if preview else "media",
            person_id=request.person_id,
            deal_id=request.deal_id,
            file_id=request.file_id,
            file_name=request.file_name,
            **outbox_columns(template),
        )
        if created:
            await self._queue.enqueue("send_outbox", entry.id, job_id=send_job_id(entry.id))
            if self._audit is not None:
                details = {"outbox": entry.id, "from": account.e164 or "", "file": request.file_name}
                if template is not None:
                    details["template"] = f"{template.name}:{template.language}"
                await self._audit.record(company_id, user_id, "message.send", to, details)
        return entry, created

    async def _check_window(self, account: Account, e164: str) -> None:
        """Free text reaches a Cloud API contact only within 24 hours of their last message to the number."""
        if self._window is None:
            return
        last = await self._window.last_inbound_at(account.id, e164)
        if not window_open(last, self._clock.now()):
            raise InvalidInput(
                Text(
                    "%(number)s has not written to this number in the last 24 hours: WhatsApp lets a "
                    "business number send only an approved template now. Pick one of the WhatsApp-approved "
                    "templates",
                    number=e164,
                ),
                reason="outside_cloud_window",
            )


def recipient(raw: str, region: str | None) -> str:
    """The E.164 number to send to (or a group's chat key, as it is); named refusals when it cannot be
    read."""
    if raw.endswith("@" + GROUP_SERVER):
        try:
            return parse_jid(raw).chat_key
        except InvalidChatId as error:
            raise InvalidInput(
                Text("%(chat)s is not a WhatsApp group", chat=raw), reason="number_invalid"
            ) from error
    if not raw.strip():
        raise InvalidInput(NO_PHONE, reason="no_phone_on_person")
    if not is_international(raw) and not region:
        raise InvalidInput(
            Text("%(number)s has no country code: choose the country it belongs to", number=raw),
            reason="country_code_needed",
        )
    e164 = to_e164(raw, default_region=region)
    if e164 is None:
        if region and not is_international(raw):
            invalid = Text("%(number)s is not a valid phone number for %(region)s", number=raw, region=region)
        else:
            invalid = Text("%(number)s is not a valid phone number", number=raw)
        raise InvalidInput(invalid, reason="number_invalid")
    return e164


async def confirm_on_whatsapp(
    transports: Mapping[str, WhatsAppTransport], account: Account, e164: str, *, of_person: bool
) -> None:
    """Before anything is queued, ask a connected From number's gateway whether ``e164`` has WhatsApp:
    ``NumberNotOnWhatsApp`` when it has not (the advice names the Person when the number is one of theirs);
    when the gateway cannot tell now or cannot be asked, the send job finds out."""
    transport = transports.get(account.transport)
    if (
        account.status != SessionStatus.CONNECTED
        or transport is None
        or not transport.capabilities.number_check
    ):
        return
    try:
        await transport.check_number(account.session_name, e164)
    except NumberNotOnWhatsApp as error:
        if of_person:
            refusal = Text(
                "%(number)s has no WhatsApp account; check the number with the Person", number=e164
            )
        else:
            refusal = Text("%(number)s has no WhatsApp account; check the number", number=e164)
        raise NumberNotOnWhatsApp(refusal) from error
    except Transient:
        return
