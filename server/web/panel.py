"""The "Send WhatsApp message" panel (``/panel``) in Pipedrive's Person and Deal views: the conversation
with the Person across the company's numbers, the send form, the chat's link; and its attachments."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from panels.errors import ErrorView
from panels.i18n import translate
from panels.panel import (
    MessageRow,
    MessagesView,
    PanelView,
    link_view,
    message_rows,
    messages_view,
    render_messages,
    render_panel,
)
from panels.panel_form import (
    FormView,
    Typed,
    default_from,
    file_choices,
    form_view,
    from_choices,
    group_choices,
    phone_choices,
    render_files,
)
from server.domain.bounds import id_from_text
from server.domain.conversation import ContactChat, ContactMessage
from server.domain.countries import region_of_number
from server.domain.errors import NotFound
from server.domain.installations import InstallationStatus
from server.domain.models import Account, OutboxStatus
from server.domain.phone_numbers import to_e164
from server.domain.text import Text
from server.storage.accounts import SqlAccountStore
from server.storage.conversations import SqlConversationStore
from server.storage.outbox import SqlOutboxStore
from server.web.errors import Answer, answer_with
from server.web.frame_auth import FrameIdentity, frame_identity
from server.web.media_response import media_response
from server.web.panel_context import (
    Contact,
    load_contact,
    media_link,
    media_link_valid,
    own_installation,
    positive_int,
)
from server.web.resources import Resources

Handler = Callable[[Request, FrameIdentity], Awaitable[Response]]
FAILED_SENDS_SHOWN = timedelta(hours=24)
NOT_FOUND = Text("Not found")


def panel_endpoint(
    *, page: bool, notice_slot: str | None = None
) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Verify the Pipedrive token and that the user has WaPipe installed (read anew on every request),
    then run the handler. A named failure becomes the panel's error notice (``server.web.errors``): a
    whole page for the first load, the notice alone for htmx requests; with ``notice_slot`` (an element
    id) the notice is swapped into that slot instead of the request's target, so a form the failure
    happened to stays as the user left it."""
    answer = Answer(where="panel", whole_panel=page, notice_slot=notice_slot)

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            answer_with(request, answer)
            identity = await frame_identity(request)
            await own_installation(request, identity)
            return await handler(request, identity)

        return endpoint

    return wrap


def optional_id(value: str | None, reason: str, what: str) -> int | None:
    if value is None or not value.strip():
        return None
    return positive_int(value.split(",")[0], reason, what)


def home_region(accounts: list[Account]) -> str | None:
    for account in accounts:
        region = region_of_number(account.e164)
        if region:
            return region
    return None


async def conversation(
    request: Request, identity: FrameIdentity, contact: Contact, accounts: list[Account]
) -> tuple[list[ContactChat], MessagesView]:
    resources: Resources = request.app.state.resources
    company = identity.company
    region = home_region(accounts)
    e164s = {e for value, _ in contact.phones if (e := to_e164(value, default_region=region))}
    store = SqlConversationStore(resources.engine)
    chats = await store.chats_with(company.id, person_id=contact.person_id, e164s=e164s)
    messages = await store.latest_messages(company.id, [chat.id for chat in chats])
    since = datetime.now(UTC) - FAILED_SENDS_SHOWN
    outbox = [
        entry
        for entry in await SqlOutboxStore(resources.engine).for_person(company.id, contact.person_id)
        if entry.status != OutboxStatus.FAILED or entry.created_at >= since
    ]
    numbers = {account.id: account.e164 or "" for account in accounts}
    rows = message_rows(
        messages,
        outbox,
        numbers,
        company.timezone,
        lambda message_id: media_link(resources, company.id, message_id),
        groups={chat.id for chat in chats if chat.is_group},
    )
    rows = await with_card_actions(request, identity, messages, rows)
    poll = resources.settings.conversation_poll
    return chats, messages_view(rows, contact.person_id, contact.deal_id, poll_seconds=poll)


async def with_card_actions(
    request: Request, identity: FrameIdentity, messages: list[ContactMessage], rows: tuple[MessageRow, ...]
) -> tuple[MessageRow, ...]:
    """Shared contact cards with their numbers' actions (open the Person, create one)."""
    from server.web.contact_cards import PANEL_CREATE_URL, Surface, card_kinds, person_url

    wanted = [(m.id, m.details, m.deleted) for m in messages if m.details]
    if not wanted:
        return rows
    domain = (await own_installation(request, identity)).api_domain
    surface = Surface(PANEL_CREATE_URL, person_url(domain))
    kinds = await card_kinds(request, identity.company.id, wanted, surface)
    return tuple(
        replace(row, kind=kinds.get(int(row.key[1:]), row.kind)) if row.key[0] == "m" else row for row in rows
    )


def build_form(
    identity: FrameIdentity,
    contact: Contact,
    accounts: list[Account],
    chats: list[ContactChat],
    typed: Typed,
    error: ErrorView | None = None,
) -> FormView:
    numbers = from_choices(accounts, typed.account_id)
    if typed.account_id is None:
        mine = [a.id for a in accounts if a.owner_user_id == identity.pipedrive_user_id]
        chosen = default_from(numbers, [chat.account_id for chat in chats], mine)
        typed = Typed(typed.to, typed.region, chosen, typed.file_id, typed.text, typed.client_ref)
    return form_view(
        contact.person_id,
        contact.deal_id,
        phone_choices(contact.phones, home_region(accounts))
        + group_choices([(c.chat_key, c.display_name) for c in chats if c.is_group]),
        numbers,
        file_choices(contact.files),
        typed,
        error,
    )


@panel_endpoint(page=True)
async def panel_page(request: Request, identity: FrameIdentity) -> Response:
    """``GET /panel?resource=person|deal&selectedIds=…`` as Pipedrive opens it."""
    params = request.query_params
    selected = optional_id(params.get("selectedIds"), "person_not_found", "The selected record id")
    resource = params.get("resource", "person")
    person_id = selected if resource != "deal" else None
    deal_id = selected if resource == "deal" else None
    contact = await load_contact(request, identity, person_id, deal_id)
    resources: Resources = request.app.state.resources
    accounts = await SqlAccountStore(resources.engine).for_company(identity.company.id)
    chats, messages = await conversation(request, identity, contact, accounts)
    form = build_form(identity, contact, accounts, chats, Typed())
    latest = chats[0] if chats else None
    view = PanelView(
        person_id=contact.person_id,
        person_name=contact.name,
        deal_id=contact.deal_id,
        messages=messages,
        form=form,
        link=link_view(latest, contact.person_id, contact.deal_id) if latest else None,
        chat_url=f"/chats/{latest.id}" if latest else None,
    )
    return HTMLResponse(render_panel(view))


@panel_endpoint(page=False)
async def panel_files(request: Request, identity: FrameIdentity) -> Response:
    """``GET /panel/files``: the Attachment list read again from Pipedrive (Files added since the panel
    opened), the chosen file kept."""
    params = request.query_params
    person_id = optional_id(params.get("person_id"), "person_not_found", "The Person id")
    deal_id = optional_id(params.get("deal_id"), "deal_not_found", "The Deal id")
    contact = await load_contact(request, identity, person_id, deal_id, fresh=True)
    return HTMLResponse(render_files(file_choices(contact.files), id_from_text(params.get("file_id"))))


@panel_endpoint(page=False)
async def panel_messages(request: Request, identity: FrameIdentity) -> Response:
    """The conversation alone, polled; 204 while nothing changed (so playing voice notes keep playing)."""
    params = request.query_params
    person_id = optional_id(params.get("person_id"), "person_not_found", "The Person id")
    deal_id = optional_id(params.get("deal_id"), "deal_not_found", "The Deal id")
    contact = await load_contact(request, identity, person_id, deal_id)
    resources: Resources = request.app.state.resources
    accounts = await SqlAccountStore(resources.engine).for_company(identity.company.id)
    _, messages = await conversation(request, identity, contact, accounts)
    if params.get("v") == messages.version:
        return Response(status_code=204)
    return HTMLResponse(render_messages(messages))


async def panel_media(request: Request) -> Response:
    """An attachment by signed link (no token: ``<img>`` and ``<audio>`` cannot send headers)."""
    resources: Resources = request.app.state.resources
    params = request.query_params
    message_id = int(request.path_params["message_id"])
    company_id, expires_text = id_from_text(params.get("c")), params.get("e", "")
    readable = expires_text.isascii() and expires_text.isdigit() and len(expires_text) <= 12
    if company_id is None or not readable:
        return Response(translate(NOT_FOUND), status_code=404)  # no link we make looks like this
    expires = int(expires_text)
    if not media_link_valid(resources, company_id, message_id, expires, params.get("s", "")):
        return Response(translate(Text("This link has expired; reload the panel")), status_code=403)
    installations = await resources.pipedrive.installations.for_company(company_id)
    if not any(i.status is not InstallationStatus.UNINSTALLED for i in installations):
        # Links outlive the panel by up to two hours; once nobody in the company has WaPipe, none opens.
        return Response(translate(Text("WaPipe is no longer installed in this company")), status_code=403)
    found = await SqlConversationStore(resources.engine).media_file(company_id, message_id)
    if found is None:
        return Response(translate(NOT_FOUND), status_code=404)
    path, mime, name = found
    try:
        file = await resources.media.open(path)
    except NotFound:
        return Response(translate(NOT_FOUND), status_code=404)
    return await media_response(file, mime, name)


def routes() -> list[BaseRoute]:
    """The panel and its actions (sending, re-linking and pinning in ``panel_send``)."""
    from server.web.panel_search import search
    from server.web.panel_send import pin, relink, retry_form, send

    return [
        Route("/panel", panel_page, methods=["GET"], name="panel"),
        Route("/panel/messages", panel_messages, methods=["GET"], name="panel_messages"),
        Route("/panel/files", panel_files, methods=["GET"], name="panel_files"),
        Route("/panel/media/{message_id:id}", panel_media, methods=["GET"], name="panel_media"),
        Route("/panel/send", send, methods=["POST"], name="panel_send"),
        Route("/panel/form", retry_form, methods=["GET"], name="panel_retry_form"),
        Route("/panel/relink", relink, methods=["POST"], name="panel_relink"),
        Route("/panel/pin", pin, methods=["POST"], name="panel_pin"),
        Route("/panel/search", search, methods=["GET"], name="panel_search"),
    ]
