"""Starting a new chat from the chat view (``POST /chats/new``): the form read and handed to
``server.services.start_chat`` (checked as the panel checks a send, sent through the outbox); a refusal
re-renders the form by name with what was typed kept, else the new chat opens, where the message shows
once it went out."""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from panels.chat_new import NewChatForm, render_new_chat
from panels.panel_form import CountryChoice, from_choices
from server.domain.bounds import id_from_text
from server.domain.countries import countries, region_of_number
from server.domain.errors import InvalidInput, NotAuthenticated, NotFound, NumberNotOnWhatsApp
from server.domain.models import Account
from server.services.send import SendService
from server.services.start_chat import NewChat, StartChat
from server.storage.accounts import SqlAccountStore
from server.storage.audit import SqlAuditLog
from server.storage.cloud_templates import SqlContactWindow
from server.storage.inbox import SqlInboxStore
from server.storage.outbox import SqlOutboxStore
from server.web.errors import error_status
from server.web.resources import Resources
from server.web.session import SessionUser, chat_view_user, check_csrf, csrf_token, problem


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
    user = await chat_view_user(request)
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
    new = NewChat(to=to, region=region or None, account_id=account_id, text=text, client_ref=client_ref)
    try:
        chat_id = await _start_chat(resources).start(user.company_id, user.user_id, new)
    except (InvalidInput, NotFound, NumberNotOnWhatsApp) as error:
        accounts = await SqlAccountStore(resources.engine).for_company(user.company_id)
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
    return Response(status_code=204, headers={"HX-Redirect": f"/chats/{chat_id}"})


def _start_chat(resources: Resources) -> StartChat:
    accounts = SqlAccountStore(resources.engine)
    send = SendService(
        accounts,
        SqlOutboxStore(resources.engine),
        resources.queue,
        SqlAuditLog(resources.engine),
        window=SqlContactWindow(resources.engine),
        clock=resources.clock,
    )
    return StartChat(accounts, send, SqlInboxStore(resources.engine), resources.transports, resources.clock)
