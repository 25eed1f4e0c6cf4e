"""Starting a new chat from the chat view (``POST /chats/new``): checked as the panel checks a send (the
number read in the chosen country, asked of the From number's gateway before anything is queued; an
empty or too long message, a From number that cannot send: each refused by name, what was typed kept),
sent through the outbox, and the new chat opened, where the message shows once it went out."""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from panels.chat_new import NewChatForm, render_new_chat
from panels.panel_form import CountryChoice, from_choices
from server.domain.bounds import id_from_text
from server.domain.countries import countries, region_of_number
from server.domain.errors import InvalidInput, NotAuthenticated, NotFound, NumberNotOnWhatsApp, Transient
from server.domain.jids import phone_chat_key
from server.domain.models import Account
from server.domain.text import Text
from server.domain.whatsapp import Peer
from server.services.send import SendRequest, SendService, recipient
from server.storage.accounts import SqlAccountStore
from server.storage.audit import SqlAuditLog
from server.storage.inbox import SqlInboxStore
from server.storage.outbox import SqlOutboxStore
from server.web.errors import error_status
from server.web.resources import Resources
from server.web.session import SessionUser, check_csrf, csrf_token, problem


def new_chat_form(
    request: Request, user: SessionUser, accounts: list[Account], account_id: int | None, **typed: object
) -> NewChatForm:
    chosen = next((a for a in accounts if a.id == account_id), None)
    region = str(typed.pop("region", "") or (region_of_number(chosen.e164) if chosen else "") or "")
    return NewChatForm(
        csrf_token(request, user),
        secrets.token_urlsafe(18),
        from_choices(accounts, account_id),
        tuple(CountryChoice(c.region, c.label) for c in countries()),
        region=region,
        account_id=account_id,
        **typed,  # type: ignore[arg-type]
    )


async def new_chat(request: Request) -> Response:
    from server.web.chat_view import _signed_in

    user = await _signed_in(request)
    if isinstance(user, Response):
        return user
    resources: Resources = request.app.state.resources
    async with request.form(max_files=0, max_fields=10) as form:
        try:
            check_csrf(request, user, str(form.get("csrf_token") or ""))
        except NotAuthenticated as error:
            return problem(403, error.reason, error.text)
        to = str(form.get("to") or "").strip()[:64]
        region = str(form.get("region") or "").strip().upper()[:2]
        account_id = id_from_text(str(form.get("account_id") or ""))
        text = str(form.get("text") or "")[:5000]
        client_ref = str(form.get("client_ref") or "")
    accounts = await SqlAccountStore(resources.engine).for_company(user.company_id)
    try:
        account = next((a for a in accounts if a.id == account_id), None)
        if account is None:
            raise InvalidInput(Text("Choose the WhatsApp number to send from"), reason="unknown_from_number")
        e164 = recipient(to, region or None)
        service = SendService(
            SqlAccountStore(resources.engine),
            SqlOutboxStore(resources.engine),
            resources.queue,
            SqlAuditLog(resources.engine),
        )
        if account.status == "connected":
            await _on_whatsapp(resources, account, e164)
        entry, _ = await service.request(
            user.company_id,
            user.user_id,
            SendRequest(
                client_ref=client_ref, account_id=account.id, to=to, text=text, region=region or None
            ),
        )
    except (InvalidInput, NotFound, NumberNotOnWhatsApp) as error:
        refused = new_chat_form(
            request,
            user,
            accounts,
            account_id,
            to=to,
            region=region,
            text=text,
            error_reason=error.reason,
            error_message=error.text,
        )
        return HTMLResponse(render_new_chat(refused), status_code=error_status(error))
    peer = Peer(phone_chat_key(entry.to_chat), e164=entry.to_chat)
    chat_id = await SqlInboxStore(resources.engine).upsert_chat(account.id, peer, resources.clock.now())
    return Response(status_code=204, headers={"HX-Redirect": f"/chats/{chat_id}"})


async def _on_whatsapp(resources: Resources, account: Account, e164: str) -> None:
    """The From number's gateway is asked whether the number has WhatsApp; when it cannot tell now, the
    send job finds out."""
    transport = resources.transports.get(account.transport)
    if transport is None or not transport.capabilities.number_check:
        return
    try:
        await transport.check_number(account.session_name, e164)
    except NumberNotOnWhatsApp as error:
        raise NumberNotOnWhatsApp(
            Text("%(number)s has no WhatsApp account; check the number", number=e164)
        ) from error
    except Transient:
        return
