"""Shared contact cards in the panel and the chat view: for each number, "Open <Person>" when a Person of
the company has it, else "Create Person" (``services.contact_persons``).

The panel's create (``POST /panel/contacts/person``) is verified with Pipedrive's token like its other
forms, and "Open" asks Pipedrive to show the Person (the SDK's ``redirect_to``); the chat view's
(``POST /chats/{id}/contacts/person``) needs the signed-in user's CSRF token, and "Open" links to the
Person's page in Pipedrive. Either answers with the card drawn again: its numbers' actions as they now
are, or the named reason nothing was created.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from panels.contact_cards import render_card, render_kind
from server.domain.contact_cards import CardView
from server.domain.errors import InvalidInput, NotAuthenticated, NotFound, WaPipeError
from server.domain.message_kinds import KindView, SharedContacts, decode, describe, encode
from server.domain.phones import region_of
from server.domain.sync import CrmPerson
from server.jobs.sync_crm import PipedriveCrm, parse_time
from server.pipedrive.client import PipedriveClient
from server.services.contact_persons import card_views, load_index, open_or_create
from server.storage.accounts import SqlAccountStore
from server.storage.audit import SqlAuditLog
from server.storage.chat_history import ChatRow, SqlChatHistory
from server.storage.shared_contacts import shared_contacts
from server.storage.sync import SqlSyncStore
from server.storage.sync_index import SqlPhoneIndexStore
from server.web.frame_auth import FrameIdentity
from server.web.panel import error_status, panel_endpoint
from server.web.panel_context import own_installation, pipedrive_for, positive_int
from server.web.resources import Resources
from server.web.session import (
    SessionUser,
    check_csrf,
    csrf_token,
    problem,
    refused_session,
    signed_in_user,
)

log = logging.getLogger(__name__)
PANEL_CREATE_URL = "/panel/contacts/person"
NOT_YOURS = "This chat is not in your Pipedrive company, or it does not exist."


@dataclass(frozen=True, slots=True)
class Surface:
    """Where a surface's card buttons go: its create endpoint, its CSRF token (chat view), and the
    Pipedrive address Person ids are appended to."""

    create_url: str
    person_url: str
    csrf_token: str = ""


def person_url(api_domain: str) -> str:
    """``https://<company>.pipedrive.com/person/`` (Pipedrive's web app lives at the API domain)."""
    return f"{api_domain.rstrip('/')}/person/" if api_domain else ""


async def company_region(resources: Resources, company_id: int) -> str | None:
    """National numbers on cards are read in the country of the company's first linked number."""
    for account in await SqlAccountStore(resources.engine).for_company(company_id):
        region = region_of(account.e164) if account.e164 else None
        if region:
            return region
    return None


async def card_kinds(
    resources: Resources, company_id: int, messages: Iterable[tuple[int, str, bool]], surface: Surface
) -> dict[int, KindView]:
    """``{message id: its KindView with the cards' actions}`` for the messages (id, stored details,
    deleted) that share contacts; the stored index is read only when there is one."""
    shared: list[tuple[int, SharedContacts]] = []
    for message_id, stored, deleted in messages:
        details = decode(stored) if stored and not deleted else None
        if isinstance(details, SharedContacts):
            shared.append((message_id, details))
    if not shared:
        return {}
    store = SqlPhoneIndexStore(resources.engine)
    region = await company_region(resources, company_id)
    index = await load_index(store, company_id, region)
    kinds = {}
    for message_id, details in shared:
        cards = await card_views(
            details, message_id, company_id=company_id, region=region, index=index, store=store
        )
        kinds[message_id] = replace(describe(details), cards=tuple(_on(card, surface) for card in cards))
    return kinds


def _on(card: CardView, surface: Surface) -> CardView:
    return replace(
        card, create_url=surface.create_url, csrf_token=surface.csrf_token, person_url=surface.person_url
    )


class CardCrm(PipedriveCrm):
    """Pipedrive's Person search, and a create that takes all of a card's numbers."""

    async def create_person_with_phones(
        self, name: str, phones: Sequence[str], owner_id: int | None
    ) -> CrmPerson:
        body: dict[str, object] = {
            "name": name,
            "phones": [
                {"value": phone, "primary": position == 0, "label": "mobile"}
                for position, phone in enumerate(phones)
            ],
        }
        if owner_id is not None:
            body["owner_id"] = owner_id
        created = await self.client.persons.create(body)  # type: ignore[arg-type]
        return CrmPerson(
            created.id, created.name, tuple(p.value for p in created.phones), parse_time(created.update_time)
        )


@dataclass(frozen=True, slots=True)
class CardRequest:
    message_id: int
    card: int
    number: int


def card_request(form: dict[str, str]) -> CardRequest:
    message_id = positive_int(form.get("message_id", ""), "card_not_found", "The message id")
    card, number = form.get("card", ""), form.get("number", "")
    if not (card.isascii() and card.isdigit() and len(card) <= 3):
        raise InvalidInput("The card must be given by its position", reason="card_not_found")
    if not (number.isascii() and number.isdigit() and len(number) <= 3):
        raise InvalidInput("The number must be given by its position", reason="card_number_missing")
    return CardRequest(message_id, int(card), int(number))


async def _owner(resources: Resources, company_id: int, number_owner_id: int, actor_id: int) -> int:
    """The sync's first rule for new Persons: the WhatsApp number's owner (while their installation is
    active, so Pipedrive knows them as a user); else the user who asked."""
    installation = await resources.pipedrive.installations.get(company_id, number_owner_id)
    return number_owner_id if installation is not None and installation.is_active else actor_id


async def create_from_card(
    resources: Resources,
    *,
    company_id: int,
    actor_id: int,
    client: Callable[[], Awaitable[PipedriveClient]],
    wanted: CardRequest,
    surface: Surface,
    chat_id: int | None = None,
) -> tuple[CardView, int]:
    """The card drawn again after opening or creating its number's Person, with the status to answer."""
    message = await shared_contacts(resources.engine, company_id, wanted.message_id, chat_id=chat_id)
    if message is None:
        raise NotFound("That contact card is not in this company's chats", reason="card_not_found")
    if wanted.card >= len(message.contacts.cards):
        raise InvalidInput("That card is not in the message", reason="card_not_found")
    store = SqlPhoneIndexStore(resources.engine)
    region = await company_region(resources, company_id)

    async def card_now() -> CardView:
        index = await load_index(store, company_id, region)
        cards = await card_views(
            message.contacts,
            message.message_id,
            company_id=company_id,
            region=region,
            index=index,
            store=store,
        )
        return _on(cards[wanted.card], surface)

    card = await card_now()
    try:
        crm = CardCrm(await client())
        owner = await _owner(resources, company_id, message.number_owner_id, actor_id)
        person = await open_or_create(
            card,
            wanted.number,
            company_id=company_id,
            region=region,
            store=store,
            intents=SqlSyncStore(resources.engine),
            crm=crm,
            owner_id=owner,
            worker=f"web:{actor_id}",
            now=resources.clock.now(),
        )
    except WaPipeError as error:
        if error_status(error) >= 500:
            log.warning("contact card person failed", extra={"reason": error.reason})
        return replace(card, error_reason=error.reason, error_message=error.message), error_status(error)
    if person.created:
        await SqlAuditLog(resources.engine).record(
            company_id,
            actor_id,
            "person.create_from_card",
            f"message #{message.message_id}",
            {"person": person.person_id, "chat": message.chat_id},
        )
    return await card_now(), 200


@panel_endpoint(page=False)
async def panel_create(request: Request, identity: FrameIdentity) -> Response:
    """``POST /panel/contacts/person`` (message_id, card, number)."""
    resources: Resources = request.app.state.resources
    form = {key: str(value) for key, value in (await request.form()).items()}
    wanted = card_request(form)
    installation = await own_installation(request, identity)
    surface = Surface(PANEL_CREATE_URL, person_url(installation.api_domain))
    card, status = await create_from_card(
        resources,
        company_id=identity.company.id,
        actor_id=identity.pipedrive_user_id,
        client=lambda: pipedrive_for(request, identity),
        wanted=wanted,
        surface=surface,
    )
    return HTMLResponse(render_card(card), status_code=status)


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
        return problem(401, error.reason, error.message)
    except WaPipeError as error:
        return refused_session(error)
    chat = await SqlChatHistory(resources.engine).chat(user.company_id, int(request.path_params["chat_id"]))
    if chat is None:
        return problem(403, "forbidden", NOT_YOURS)
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
        return problem(404, "card_not_found", "That contact card is not in this chat")
    surface = await chat_surface(request, user, chat.id)
    kinds = await card_kinds(
        resources, user.company_id, [(message.message_id, encode(message.contacts), False)], surface
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
        return problem(403, error.reason, error.message)
    try:
        wanted = card_request(form)
        card, status = await create_from_card(
            resources,
            company_id=user.company_id,
            actor_id=user.user_id,
            client=lambda: resources.pipedrive.connector.for_user(user.company_id, user.user_id),
            wanted=wanted,
            surface=await chat_surface(request, user, chat.id),
            chat_id=chat.id,
        )
    except (InvalidInput, NotFound) as error:
        return problem(error_status(error), error.reason, error.message)
    return HTMLResponse(render_card(card), status_code=status)


def routes() -> list[BaseRoute]:
    return [
        Route(PANEL_CREATE_URL, panel_create, methods=["POST"], name="panel_card_person"),
        Route("/chats/{chat_id:id}/contacts/{message_id:id}", chat_cards, methods=["GET"], name="chat_cards"),
        Route("/chats/{chat_id:id}/contacts/person", chat_create, methods=["POST"], name="chat_card_person"),
    ]
