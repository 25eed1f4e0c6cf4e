"""What the panel needs from Pipedrive (the Person, their Deal, their Files), cached for a short while so
polling and sending do not spend the company's API budget; and signed attachment links for ``<img>`` and
``<audio>``, which cannot carry the token header.

The user's installation is read from the database on every request, before anything cached is used, so
an uninstall stops the panel at once in every process; cache entries carry the installation's session
epoch, which every uninstall moves on, so nothing read before an uninstall is served after a reinstall."""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

from starlette.requests import Request

from server.domain.bounds import MAX_ID, id_from_text
from server.domain.errors import InvalidInput, NeedsReauth, NotFound, NotInstalled
from server.domain.installations import Installation, InstallationStatus
from server.domain.text import Text
from server.pipedrive.client import PipedriveClient
from server.web.frame_auth import FrameIdentity
from server.web.resources import Resources

CACHE_SECONDS = 120.0
MEDIA_LINK_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class Contact:
    person_id: int
    name: str
    phones: tuple[tuple[str, str | None], ...]  # as typed in Pipedrive, with their labels
    deal_id: int | None
    files: tuple[tuple[int, str, str], ...]  # (file id, name, "Person" | "Deal")
    file_sizes: tuple[tuple[int, int], ...] = ()  # (file id, bytes) where Pipedrive reports the size

    def size_of(self, file_id: int) -> int | None:
        return next((size for known, size in self.file_sizes if known == file_id), None)


CacheKey = tuple[int, int, int, int, int | None]  # (company, user, session epoch, person, deal)


class ContactCache:
    """Per process: (company, user, session epoch, person, deal) → Contact, for ``CACHE_SECONDS``."""

    def __init__(self) -> None:
        self._entries: dict[CacheKey, tuple[float, Contact]] = {}

    def get(self, key: CacheKey) -> Contact | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, key: CacheKey, contact: Contact) -> None:
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + CACHE_SECONDS, contact)


def contact_cache(request: Request) -> ContactCache:
    cache: ContactCache | None = getattr(request.app.state, "panel_contacts", None)
    if cache is None:
        cache = ContactCache()
        request.app.state.panel_contacts = cache
    return cache


def positive_int(value: object, reason: str, what: str | Text) -> int:
    """An id as plain digits, 1 to ``MAX_ID`` (no sign, space, leading zero or other notation); ``what``
    names it as the refusal starts ("The chat id")."""
    number = id_from_text(value) if isinstance(value, str) else None
    if number is None:
        refused = Text("%(what)s must be a whole number from 1 to %(most)s", what=what, most=MAX_ID)
        raise InvalidInput(refused, reason=reason)
    return number


async def own_installation(request: Request, identity: FrameIdentity) -> Installation:
    """The user's own installation, read from the database once per request: ``NotInstalled`` when they
    never installed WaPipe or uninstalled it, ``NeedsReauth`` when Pipedrive stopped accepting it."""
    known = getattr(request.state, "installation", None)
    if isinstance(known, Installation):
        return known
    resources: Resources = request.app.state.resources
    installation = await resources.pipedrive.installations.get(
        identity.company.id, identity.pipedrive_user_id
    )
    if installation is None or installation.status is InstallationStatus.UNINSTALLED:
        raise NotInstalled(
            Text(
                "WaPipe is not installed for you in Pipedrive, or it was uninstalled; install it to use the "
                "panel"
            )
        )
    if installation.status is InstallationStatus.NEEDS_REAUTH:
        if installation.name:
            raise NeedsReauth(
                Text(
                    "Pipedrive no longer accepts WaPipe's authorisation for %(name)s; install WaPipe again "
                    "to re-authorise it",
                    name=installation.name,
                )
            )
        raise NeedsReauth(
            Text(
                "Pipedrive no longer accepts WaPipe's authorisation for you; install WaPipe again to "
                "re-authorise it"
            )
        )
    request.state.installation = installation
    return installation


async def pipedrive_for(request: Request, identity: FrameIdentity) -> PipedriveClient:
    """The user's own Pipedrive client: NotInstalled / NeedsReauth when they cannot use the panel."""
    resources: Resources = request.app.state.resources
    return await resources.pipedrive.connector.for_user(identity.company.id, identity.pipedrive_user_id)


async def load_contact(
    request: Request,
    identity: FrameIdentity,
    person_id: int | None,
    deal_id: int | None,
    *,
    fresh: bool = False,
) -> Contact:
    """The Person (the Deal's Person on a Deal panel), their phones and both Files lists; ``fresh`` reads
    them from Pipedrive even when cached (and caches what it read)."""
    epoch = (await own_installation(request, identity)).session_epoch  # before the cache, every time
    cache = contact_cache(request)
    key = (identity.company.id, identity.pipedrive_user_id, epoch, person_id or 0, deal_id)
    cached = None if fresh else cache.get(key)
    if cached is not None:
        return cached
    client = await pipedrive_for(request, identity)
    deal_files: list[tuple[int, str, str]] = []
    sizes: list[tuple[int, int]] = []
    if deal_id is not None:
        try:
            deal = await client.deals.get(deal_id)
        except NotFound as error:
            missing = Text("Deal %(deal)s was not found in Pipedrive", deal=deal_id)
            raise NotFound(missing, reason="deal_not_found") from error
        if person_id is None:
            if deal.person_id is None:
                raise NotFound(
                    Text("This Deal has no Person: add one to send WhatsApp messages"),
                    reason="deal_without_person",
                )
            person_id = deal.person_id
        stored = (await client.deals.files(deal_id)).items
        deal_files = [(f.id, f.name, "Deal") for f in stored]
        sizes += [(f.id, f.file_size) for f in stored if f.file_size is not None]
    if person_id is None:
        raise InvalidInput(Text("The panel was opened without a Person"), reason="person_not_found")
    try:
        person = await client.persons.get(person_id)
    except NotFound as error:
        missing = Text("Person %(person)s was not found in Pipedrive", person=person_id)
        raise NotFound(missing, reason="person_not_found") from error
    if person.is_deleted:
        raise NotFound(
            Text("Person %(person)s was deleted in Pipedrive", person=person_id), reason="person_not_found"
        )
    stored = (await client.persons.files(person_id)).items
    person_files = [(f.id, f.name, "Person") for f in stored]
    sizes += [(f.id, f.file_size) for f in stored if f.file_size is not None]
    phones = sorted(person.phones, key=lambda phone: not phone.primary)
    seen = {file[0] for file in person_files}
    contact = Contact(
        person_id=person.id,
        name=person.name,
        phones=tuple((phone.value, phone.label) for phone in phones),
        deal_id=deal_id,
        files=tuple(person_files + [f for f in deal_files if f[0] not in seen]),
        file_sizes=tuple(sizes),
    )
    cache.put(key, contact)
    # A Deal panel loads by Deal alone, then posts the Deal's Person with it: one entry serves both.
    cache.put((identity.company.id, identity.pipedrive_user_id, epoch, person.id, deal_id), contact)
    return contact


def _media_key(resources: Resources) -> bytes:
    secret = (
        resources.settings.secret_key.get_secret_value()
        or resources.settings.pipedrive_jwt_secret.get_secret_value()
    )
    return hashlib.sha256(b"wapipe-panel-media:" + secret.encode()).digest()


def media_signature(resources: Resources, company_id: int, message_id: int, expires: int) -> str:
    payload = f"{company_id}:{message_id}:{expires}".encode()
    return hmac.new(_media_key(resources), payload, hashlib.sha256).hexdigest()[:32]


def media_link(resources: Resources, company_id: int, message_id: int) -> str:
    """A link valid for at least an hour; the same link all hour, so browsers cache the thumbnail."""
    now = int(resources.clock.now().timestamp())
    expires = now - now % MEDIA_LINK_SECONDS + 2 * MEDIA_LINK_SECONDS
    signature = media_signature(resources, company_id, message_id, expires)
    return f"/panel/media/{message_id}?c={company_id}&e={expires}&s={signature}"


def media_link_valid(
    resources: Resources, company_id: int, message_id: int, expires: int, signature: str
) -> bool:
    if expires < resources.clock.now().timestamp():
        return False
    return hmac.compare_digest(media_signature(resources, company_id, message_id, expires), signature)
