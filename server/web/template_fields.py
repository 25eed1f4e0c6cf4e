"""The fields a template may name and the values it renders with, read from Pipedrive for the settings page
and the pickers.

The company's custom fields of Persons, Deals and Organizations cost a request each (their pages), so each
web process keeps them for ``FIELDS_SECONDS`` per company, as the team's users list is kept
(``settings_team``). Nothing is read that a template does not use: a template naming only standard fields
is checked without asking Pipedrive, and rendering reads the Person, the Deal, the Organization or a
Deal's stage only when a placeholder needs it. ``me`` is the sending user as Pipedrive's users list names
them (the installation's name and email when the list cannot be read), and the From number as their phone.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from starlette.requests import Request

from server.domain.errors import WaPipeError
from server.domain.message_templates import STANDARD_ALIASES, STANDARD_FIELDS, known_fields
from server.domain.templates import OBJECTS, Placeholder, placeholders
from server.domain.ttl_cache import TtlCache
from server.pipedrive.api import PipedriveApi
from server.pipedrive.client import PipedriveClient
from server.pipedrive.models import as_int
from server.pipedrive.template_records import (
    ENTITIES,
    CustomField,
    Entity,
    custom_fields,
    custom_values,
    record,
    stage_name,
    standard_values,
)
from server.web.frame_auth import FrameIdentity
from server.web.resources import Resources
from server.web.settings_team import pipedrive_users

log = logging.getLogger(__name__)
FIELDS_SECONDS = 300.0  # how long a process reuses a company's custom field lists
Fields = dict[Entity, tuple[CustomField, ...]]


class FieldsCache(TtlCache[int, Fields]):
    """Per process: company id → its custom fields by object, for ``FIELDS_SECONDS``."""

    def __init__(self) -> None:
        super().__init__(timedelta(seconds=FIELDS_SECONDS), 10_000)


def fields_cache(request: Request) -> FieldsCache:
    cache: FieldsCache | None = getattr(request.app.state, "template_fields", None)
    if cache is None:
        cache = request.app.state.template_fields = FieldsCache()
    return cache


async def client_for(request: Request, identity: FrameIdentity) -> PipedriveClient:
    """The user's own Pipedrive client, else the company's (an admin's installation)."""
    resources: Resources = request.app.state.resources
    try:
        return await resources.pipedrive.connector.for_user(identity.company.id, identity.pipedrive_user_id)
    except WaPipeError:
        return await resources.pipedrive.connector.for_company(identity.company.id)


async def company_fields(request: Request, identity: FrameIdentity) -> Fields:
    """The company's custom fields, read again after ``FIELDS_SECONDS``; ``WaPipeError`` when Pipedrive
    cannot be asked."""
    resources: Resources = request.app.state.resources
    cache, now = fields_cache(request), resources.clock.now()
    cached = cache.get(identity.company.id, now)
    if cached is not None:
        return cached
    api = (await client_for(request, identity)).api
    found: Fields = {entity: await custom_fields(api, entity) for entity in ENTITIES}
    cache.put(identity.company.id, now, found)
    return found


def custom_names(fields: Fields) -> dict[str, tuple[str, ...]]:
    return {entity: tuple(f.name for f in found) for entity, found in fields.items()}


def _standard(placeholder: Placeholder) -> bool:
    return placeholder.object not in ENTITIES or (
        placeholder.key in STANDARD_FIELDS.get(placeholder.object, ())
        or placeholder.key in STANDARD_ALIASES.get(placeholder.object, {})
    )


async def known_for(request: Request, identity: FrameIdentity, text: str) -> dict[str, set[str]]:
    """The fields ``text`` may name: Pipedrive is asked only when it names a field that is not standard."""
    if all(_standard(p) for p in placeholders(text)):
        return known_fields({})
    return known_fields(custom_names(await company_fields(request, identity)))


async def help_fields(request: Request, identity: FrameIdentity) -> dict[str, tuple[str, ...]]:
    """Each object's fields for the placeholder help: the standard ones, then the custom ones by name
    (the standard ones alone when Pipedrive cannot be asked now)."""
    try:
        custom = custom_names(await company_fields(request, identity))
    except WaPipeError as error:
        log.info("template fields unavailable", extra={"reason": error.reason})
        custom = {}
    return {name: (*STANDARD_FIELDS[name], *custom.get(name, ())) for name in OBJECTS}


async def template_values(
    request: Request,
    identity: FrameIdentity,
    client: PipedriveClient,
    text: str,
    *,
    person_id: int | None,
    deal_id: int | None,
    sender_phone: str = "",
) -> dict[str, dict[str, str]]:
    """``values[object][key]`` for rendering ``text`` for this Person, Deal and sender."""
    used = placeholders(text)
    wanted = {(p.object, p.key) for p in used}
    objects = {p.object for p in used}
    values: dict[str, dict[str, str]] = {name: {} for name in OBJECTS}
    if not used:
        return values
    fields: Fields = {}
    if not all(_standard(p) for p in used):
        fields = await company_fields(request, identity)
    api = client.api
    raws: dict[Entity, dict[str, Any] | None] = {}
    needs_org = "org" in objects or ("person", "org_name") in wanted
    if deal_id is not None and ("deal" in objects or needs_org):  # the Deal's Organization comes first
        raws["deal"] = await record(api, "deal", deal_id)
    if person_id is not None and "person" in objects:
        raws["person"] = await record(api, "person", person_id)
    if needs_org:
        org_id = await _org_id(api, raws, person_id)
        raws["org"] = await record(api, "org", org_id) if org_id is not None else None
    for entity, raw in raws.items():
        if raw is not None:
            values[entity] = {**custom_values(raw, fields.get(entity, ())), **standard_values(entity, raw)}
    values["person"]["org_name"] = values["org"].get("name", "")
    deal = raws.get("deal")
    stage_id = as_int(deal.get("stage_id")) if deal else None
    if ("deal", "stage") in wanted and stage_id is not None:
        values["deal"]["stage"] = await stage_name(api, stage_id)
    if "me" in objects:
        values["me"] = await _sender(request, identity, sender_phone)
    return _with_aliases(values)


async def _org_id(
    api: PipedriveApi, raws: dict[Entity, dict[str, Any] | None], person_id: int | None
) -> int | None:
    """The Deal's Organization, else the Person's (the Person read for it when not read yet)."""
    deal = raws.get("deal")
    if deal is not None and as_int(deal.get("org_id")) is not None:
        return as_int(deal.get("org_id"))
    if "person" not in raws and person_id is not None:
        raws["person"] = await record(api, "person", person_id)
    person = raws.get("person")
    return as_int(person.get("org_id")) if person is not None else None


async def _sender(request: Request, identity: FrameIdentity, phone: str) -> dict[str, str]:
    name = email = ""
    users = await pipedrive_users(request, identity)
    found = next((u for u in users or () if u.id == identity.pipedrive_user_id), None)
    if found is not None:
        name, email = found.name, found.email
    else:
        resources: Resources = request.app.state.resources
        own = await resources.pipedrive.installations.get(identity.company.id, identity.pipedrive_user_id)
        if own is not None:
            name, email = own.name, own.email
    words = name.split()
    return {
        "name": name,
        "first_name": words[0] if words else "",
        "last_name": " ".join(words[1:]),
        "email": email,
        "phone": phone,
    }


def _with_aliases(values: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    for name, aliases in STANDARD_ALIASES.items():
        for alias, target in aliases.items():
            values[name].setdefault(alias, values[name].get(target, ""))
    return values


def attachment_choice(files: tuple[tuple[int, str, str], ...], file_id: int | None, name: str) -> int | None:
    """The contact's file a template's attachment is: the same file, else one with the same name."""
    if file_id is None:
        return None
    if any(found == file_id for found, _, _ in files):
        return file_id
    return next((found for found, named, _ in files if named == name), None)
