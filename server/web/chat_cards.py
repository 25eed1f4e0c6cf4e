"""Shared contact cards in the chat view: the cards of a message, loaded when the page shows it
(``GET /chats/{id}/contacts/{message id}``), and "Create Person" (``POST /chats/{id}/contacts/person``,
with the signed-in user's CSRF token). Only a signed-in user of the chat's own company gets either; "Open"
links to the Person's page in Pipedrive (``server.web.contact_cards``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from panels.contact_cards import render_card, render_kind
from panels.i18n import translate
from server.domain.errors import InvalidInput, NotAuthenticated, NotFound, WaPipeError
from server.domain.message_kinds import encode
from server.domain.text import Text
from server.storage.chat_history import ChatRow, SqlChatHistory
from server.storage.shared_contacts import shared_contacts
from server.web.contact_cards import Surface, card_kinds, card_request, create_from_card, person_url
from server.web.errors import error_status
from server.web.resources import Resources
from server.web.session import (
    SessionUser,
    check_csrf,
    csrf_token,
    not_your_chat,
    problem,
    refused_session,
    signed_in_user,
)


async def chat_surface(request: Request, user: SessionUser, chat_id: int) -> Surface:
    resources: Resources = request.app.state.resources
    installation = await resources.pipedrive.installations.get(user.company_id, user.user_id)
    domain = installation.api_domain if installation is not None else ""
    return Surface(f"/chats/{chat_id}/contacts/person", person_url(domain), csrf_token(request, user))


async def _chat_user(request: Request) -> tuple[SessionUser, ChatRow] | Response:
    """The signed-in user and their company's chat, or the answer for anyone else."""
    resources: Resources = request.app.state.resources
    try:
        user = await signed_in_user(request)
    except NotAuthenticated as error:
        return problem(401, error.reason, translate(error.text))
    except WaPipeError as error:
        return refused_session(error)
    chat = await SqlChatHistory(resources.engine).chat(user.company_id, int(request.path_params["chat_id"]))
    if chat is None:
        return not_your_chat()
    return user, chat


async def chat_cards(request: Request) -> Response:
    """``GET /chats/{chat_id}/contacts/{message_id}``: the message's cards with their actions (the chat
    view loads them when it shows the message)."""
    found = await _chat_user(request)
    if isinstance(found, Response):
        return found
    user, chat = found
    resources: Resources = request.app.state.resources
    message = await shared_contacts(
        resources.engine, user.company_id, int(request.path_params["message_id"]), chat_id=chat.id
    )
    if message is None:
        return problem(404, "card_not_found", translate(Text("That contact card is not in this chat")))
    surface = await chat_surface(request, user, chat.id)
    kinds = await card_kinds(
        request, user.company_id, [(message.message_id, encode(message.contacts), False)], surface
    )
    return HTMLResponse(render_kind(kinds[message.message_id]))


async def chat_create(request: Request) -> Response:
    """``POST /chats/{chat_id}/contacts/person`` (csrf_token, message_id, card, number)."""
    resources: Resources = request.app.state.resources
    found = await _chat_user(request)
    if isinstance(found, Response):
        return found
    user, chat = found
    form = {key: str(value) for key, value in (await request.form()).items()}
    try:
        check_csrf(request, user, form.get("csrf_token"))
    except NotAuthenticated as error:
        return problem(403, error.reason, translate(error.text))
    try:
        wanted = card_request(form)
        card, status = await create_from_card(
            request,
            company_id=user.company_id,
            actor_id=user.user_id,
            client=lambda: resources.pipedrive.connector.for_user(user.company_id, user.user_id),
            wanted=wanted,
            surface=await chat_surface(request, user, chat.id),
            chat_id=chat.id,
        )
    except (InvalidInput, NotFound) as error:
        return problem(error_status(error), error.reason, translate(error.text))
    return HTMLResponse(render_card(card), status_code=status)
