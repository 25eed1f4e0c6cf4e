"""Shared contact cards in the panel and the chat view: for each number, "Open <Person>" when a Person of
the company has it, else "Create Person" (``services.contact_persons``).

The panel's create (``POST /panel/contacts/person``) is verified with Pipedrive's token like its other
forms, and "Open" asks Pipedrive to show the Person (the SDK's ``redirect_to``); the chat view's routes
are in ``server.web.chat_cards``. Either answers with the card drawn again: its numbers' actions as they
now are, or the named reason nothing was created. The company's stored phone index is read at most every
``INDEX_SECONDS`` per process (an open panel polls every few seconds), and at once after a create.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from panels.contact_cards import render_card
from server.domain.contact_cards import CardView
from server.domain.errors import InvalidInput, NotFound, WaPipeError
from server.domain.matching import PhoneIndex
from server.domain.message_kinds import KindView, SharedContacts, decode, describe
from server.domain.phone_numbers import region_of
from server.domain.text import Text
from server.pipedrive.client import PipedriveClient
from server.pipedrive.sync_adapter import PipedriveCrm
from server.services.contact_persons import card_views, load_index, open_or_create
from server.storage.accounts import SqlAccountStore
from server.storage.audit import SqlAuditLog
from server.storage.shared_contacts import shared_contacts
from server.storage.sync import SqlSyncStore
from server.storage.sync_index import SqlPhoneIndexStore
from server.web.errors import error_status
from server.web.frame_auth import FrameIdentity
from server.web.panel import panel_endpoint
from server.web.panel_context import own_installation, pipedrive_for, positive_int
from server.web.resources import Resources

log = logging.getLogger(__name__)
PANEL_CREATE_URL = "/panel/contacts/person"
INDEX_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Surface:
    """Where a surface's card buttons go: its create endpoint, its CSRF token (chat view), and the
    Pipedrive address Person ids are appended to."""

    create_url: str
    person_url: str
    csrf_token: str = ""


class IndexCache:
    """Per process: (company, region) → the company's stored phone index, read at most every
    ``INDEX_SECONDS`` (an open panel polls every few seconds); dropped at once after a create here."""

    def __init__(self) -> None:
        self._entries: dict[tuple[int, str | None], tuple[float, PhoneIndex]] = {}

    async def get(self, store: SqlPhoneIndexStore, company_id: int, region: str | None) -> PhoneIndex:
        held = self._entries.get((company_id, region))
        if held is not None and held[0] > time.monotonic():
            return held[1]
        index = await load_index(store, company_id, region)
        if len(self._entries) > 1_000:
            self._entries.clear()
        self._entries[(company_id, region)] = (time.monotonic() + INDEX_SECONDS, index)
        return index

    def drop(self, company_id: int) -> None:
        for key in [key for key in self._entries if key[0] == company_id]:
            del self._entries[key]


def index_cache(request: Request) -> IndexCache:
    cache: IndexCache | None = getattr(request.app.state, "card_indexes", None)
    if cache is None:
        cache = IndexCache()
        request.app.state.card_indexes = cache
    return cache


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
    request: Request, company_id: int, messages: Iterable[tuple[int, str, bool]], surface: Surface
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
    resources: Resources = request.app.state.resources
    store = SqlPhoneIndexStore(resources.engine)
    region = await company_region(resources, company_id)
    index = await index_cache(request).get(store, company_id, region)
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


@dataclass(frozen=True, slots=True)
class CardRequest:
    message_id: int
    card: int
    number: int


def card_request(form: dict[str, str]) -> CardRequest:
    message_id = positive_int(form.get("message_id", ""), "card_not_found", "The message id")
    card, number = form.get("card", ""), form.get("number", "")
    if not (card.isascii() and card.isdigit() and len(card) <= 3):
        raise InvalidInput(Text("The card must be given by its position"), reason="card_not_found")
    if not (number.isascii() and number.isdigit() and len(number) <= 3):
        raise InvalidInput(Text("The number must be given by its position"), reason="card_number_missing")
    return CardRequest(message_id, int(card), int(number))


async def _owner(resources: Resources, company_id: int, number_owner_id: int, actor_id: int) -> int:
    """The sync's first rule for new Persons: the WhatsApp number's owner (while their installation is
    active, so Pipedrive knows them as a user); else the user who asked."""
    installation = await resources.pipedrive.installations.get(company_id, number_owner_id)
    return number_owner_id if installation is not None and installation.is_active else actor_id


async def create_from_card(
    request: Request,
    *,
    company_id: int,
    actor_id: int,
    client: Callable[[], Awaitable[PipedriveClient]],
    wanted: CardRequest,
    surface: Surface,
    chat_id: int | None = None,
) -> tuple[CardView, int]:
    """The card drawn again after opening or creating its number's Person, with the status to answer."""
    resources: Resources = request.app.state.resources
    cache = index_cache(request)
    message = await shared_contacts(resources.engine, company_id, wanted.message_id, chat_id=chat_id)
    if message is None:
        raise NotFound(Text("That contact card is not in this company's chats"), reason="card_not_found")
    if wanted.card >= len(message.contacts.cards):
        raise InvalidInput(Text("That card is not in the message"), reason="card_not_found")
    store = SqlPhoneIndexStore(resources.engine)
    region = await company_region(resources, company_id)

    async def card_now() -> CardView:
        index = await cache.get(store, company_id, region)
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
        crm = PipedriveCrm(await client())
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
        cache.drop(company_id)  # a Person another click or process made shows on the next look
        if error_status(error) >= 500:
            log.warning("contact card person failed", extra={"reason": error.reason})
        return replace(card, error_reason=error.reason, error_message=error.text), error_status(error)
    cache.drop(company_id)
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
    form = {key: str(value) for key, value in (await request.form()).items()}
    wanted = card_request(form)
    installation = await own_installation(request, identity)
    surface = Surface(PANEL_CREATE_URL, person_url(installation.api_domain))
    card, status = await create_from_card(
        request,
        company_id=identity.company.id,
        actor_id=identity.pipedrive_user_id,
        client=lambda: pipedrive_for(request, identity),
        wanted=wanted,
        surface=surface,
    )
    return HTMLResponse(render_card(card), status_code=status)


def routes() -> list[BaseRoute]:
    from server.web.chat_cards import chat_cards, chat_create

    return [
        Route(PANEL_CREATE_URL, panel_create, methods=["POST"], name="panel_card_person"),
        Route("/chats/{chat_id:id}/contacts/{message_id:id}", chat_cards, methods=["GET"], name="chat_cards"),
        Route("/chats/{chat_id:id}/contacts/person", chat_create, methods=["POST"], name="chat_card_person"),
    ]
