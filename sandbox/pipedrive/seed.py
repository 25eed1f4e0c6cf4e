"""Seeding the sandbox from Python (tests, `wapipe demo`) and reading back what an app wrote."""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from sandbox.pipedrive.api_v1_files import file_type_for
from sandbox.pipedrive.api_v2_deals import new_deal
from sandbox.pipedrive.api_v2_organizations import new_organization
from sandbox.pipedrive.api_v2_persons import new_person
from sandbox.pipedrive.defaults import add_pipeline, field_record
from sandbox.pipedrive.filters import field_id_for, field_store, new_filter
from sandbox.pipedrive.state import Record, SandboxCompany, SandboxState, SandboxUser, StoredFile

ALL_SCOPES = (
    "base",
    "deals:full",
    "activities:full",
    "contacts:full",
    "leads:full",
    "users:read",
    "search:read",
    "admin",
    "deal-fields:full",
    "contact-fields:full",
)
# The same Munich number as people type it, plus a few others.
PHONE_FORMATS = (
    "+49 89 6364 8018",
    "0049896364-8018",
    "(089) 63648018",
    "8963648018",
    "+49-89-63648018",
    "+4915112345678",
    "0151 1234 5678",
    "+1 (415) 555-0132",
    "+44 20 7946 0958",
)


def seed_person(
    state: SandboxState,
    company_id: int,
    name: str,
    *,
    phones: list[str] | tuple[str, ...] = (),
    emails: list[str] | tuple[str, ...] = (),
    owner_id: int | None = None,
    custom_fields: dict[str, Any] | None = None,
    org_id: int | None = None,
    label_ids: list[int] | tuple[int, ...] = (),
) -> Record:
    owner = owner_id or _first_user(state, company_id).id
    person = new_person(state.clock.now(), owner, name)
    person.update(org_id=org_id, label_ids=list(label_ids))
    person["phones"] = [{"value": p, "primary": i == 0, "label": "mobile"} for i, p in enumerate(phones)]
    person["emails"] = [{"value": e, "primary": i == 0, "label": "work"} for i, e in enumerate(emails)]
    person["custom_fields"] = dict(custom_fields or {})
    person["id"] = state.next_id("person", company_id)
    state.company_data(company_id).persons[person["id"]] = person
    return person


def seed_deal(
    state: SandboxState,
    company_id: int,
    title: str,
    *,
    person_id: int | None = None,
    stage_id: int | None = None,
    status: str = "open",
    is_archived: bool = False,
    value: float | None = None,
    currency: str = "EUR",
    org_id: int | None = None,
    custom_fields: dict[str, Any] | None = None,
) -> Record:
    data = state.company_data(company_id)
    if stage_id is None:
        stage_id = min(data.stages.values(), key=lambda s: (s["pipeline_id"], s["order_nr"]))["id"]
    deal = new_deal(state.clock.now(), _first_user(state, company_id).id, title)
    deal.update(
        person_id=person_id,
        stage_id=stage_id,
        pipeline_id=data.stages[stage_id]["pipeline_id"],
        status=status,
        is_archived=is_archived,
        stage_change_time=state.clock.now(),
        org_id=org_id,
        custom_fields=dict(custom_fields or {}),
    )
    if value is not None:
        deal.update(value=float(value), currency=currency)
    deal["id"] = state.next_id("deal", company_id)
    data.deals[deal["id"]] = deal
    return deal


def seed_pipeline(
    state: SandboxState, company_id: int, name: str, stages: list[str] | tuple[str, ...]
) -> int:
    return add_pipeline(state, company_id, name, tuple(stages))


def seed_custom_field(
    state: SandboxState,
    company_id: int,
    entity: str,
    name: str,
    field_type: str = "varchar",
    *,
    options: list[str] | tuple[str, ...] = (),
) -> Record:
    """A custom field of ``entity`` (person, deal, organization); ``options`` for enum and set fields
    (their ids are 1, 2, ... in the order given)."""
    store = field_store(state.company_data(company_id), entity)
    record = field_record(
        state,
        company_id,
        state.field_key(company_id, name),
        name,
        field_type,
        custom=True,
        order=len(store) + 1,
    )
    if options:
        record["options"] = [{"id": i, "label": label} for i, label in enumerate(options, 1)]
    store[record["id"]] = record
    return record


def seed_organization(
    state: SandboxState,
    company_id: int,
    name: str,
    *,
    address: str | None = None,
    owner_id: int | None = None,
    custom_fields: dict[str, Any] | None = None,
) -> Record:
    owner = owner_id or _first_user(state, company_id).id
    organization = new_organization(state.clock.now(), owner, name, address)
    organization["custom_fields"] = dict(custom_fields or {})
    organization["id"] = state.next_id("organization", company_id)
    state.company_data(company_id).organizations[organization["id"]] = organization
    return organization


def condition(
    state: SandboxState, company_id: int, entity: str, key: str, operator: str, value: str | None = None
) -> dict[str, Any]:
    """One filter condition in Pipedrive's shape, naming the field by its key (``name``, ``phone``, a
    custom field's 40-hex key) rather than its id."""
    field_id = field_id_for(state.company_data(company_id), entity, key)
    return {"object": entity, "field_id": str(field_id), "operator": operator, "value": value}


def seed_filter(
    state: SandboxState,
    company_id: int,
    name: str,
    filter_type: str,
    conditions: list[dict[str, Any]],
    *,
    glue: str = "and",
    user_id: int | None = None,
    visible_to: str = "3",
) -> Record:
    """A saved filter of ``filter_type`` (people, deals, org) whose one group joins ``conditions`` with
    ``glue``; ``FilterProblem`` if the sandbox cannot evaluate them."""
    shape = {"glue": "and", "conditions": [{"glue": glue, "conditions": conditions}]}
    owner = user_id or _first_user(state, company_id).id
    return new_filter(state, company_id, name, filter_type, shape, user_id=owner, visible_to=visible_to)


def seed_file(
    state: SandboxState,
    company_id: int,
    name: str,
    content: bytes,
    *,
    person_id: int | None = None,
    deal_id: int | None = None,
    content_type: str | None = None,
) -> Record:
    data = state.company_data(company_id)
    ctype = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    now = state.clock.now()
    file_id = state.next_id("file", company_id)
    record: Record = {
        "id": file_id,
        "user_id": _first_user(state, company_id).id,
        "deal_id": deal_id,
        "person_id": person_id,
        "org_id": None,
        "product_id": None,
        "activity_id": None,
        "project_id": None,
        "lead_id": None,
        "add_time": now,
        "update_time": now,
        "file_name": name,
        "file_type": file_type_for(name, ctype),
        "file_size": len(content),
        "active_flag": True,
        "inline_flag": False,
        "remote_location": "s3",
        "remote_id": name,
        "cid": "",
        "s3_bucket": "",
        "mail_message_id": "",
        "mail_template_id": "",
        "deal_name": data.deals[deal_id]["title"] if deal_id in data.deals else "",
        "person_name": data.persons[person_id]["name"] if person_id in data.persons else "",
        "org_name": "",
        "product_name": "",
        "lead_name": "",
        "project_name": "",
        "name": name,
        "description": "",
    }
    data.files[file_id] = StoredFile(record, content, ctype)
    return record


def _first_user(state: SandboxState, company_id: int) -> SandboxUser:
    users = sorted(state.company_users(company_id), key=lambda u: u.id)
    if not users:
        raise ValueError(f"company {company_id} has no users; add one first")
    return users[0]


@dataclass
class DemoWorld:
    companies: list[SandboxCompany] = field(default_factory=list)
    users: list[SandboxUser] = field(default_factory=list)
    persons: list[Record] = field(default_factory=list)
    deals: list[Record] = field(default_factory=list)


def seed_demo(state: SandboxState) -> DemoWorld:
    """Two companies with admins, agents, persons whose phones use many formats, and a few open Deals (the
    first on the first Person, so a chat with them is logged on a Deal too). The second company's second
    admin, user 5, reads Pipedrive in Japanese. Deterministic."""
    world = DemoWorld()
    acme = state.add_company("Acme Sales GmbH", domain="acme-sales", plan="growth", timezone="Europe/Berlin")
    globex = state.add_company("Globex Inc", domain="globex", plan="premium", timezone="America/New_York")
    world.companies += [acme, globex]
    world.users += [
        state.add_user(acme.id, "Anna Admin", "anna@acme-sales.test", is_admin=True),
        state.add_user(acme.id, "Bernd Agent", "bernd@acme-sales.test", timezone_name="Europe/Vienna"),
        state.add_user(globex.id, "Grace Admin", "grace@globex.test", is_admin=True),
        state.add_user(globex.id, "Hank Agent", "hank@globex.test", timezone_name="America/Chicago"),
        # reads Pipedrive in Japanese: WaPipe answers her in Japanese once she has installed it
        state.add_user(
            globex.id,
            "田中 優希",
            "yuki@globex.test",
            is_admin=True,
            timezone_name="Asia/Tokyo",
            locale="ja_JP",
        ),
    ]
    for index, phone in enumerate(PHONE_FORMATS[:5]):
        world.persons.append(seed_person(state, acme.id, f"Munich Contact {index + 1}", phones=[phone]))
    world.persons.append(
        seed_person(
            state, acme.id, "Mobile Max", phones=[PHONE_FORMATS[5], PHONE_FORMATS[6]], emails=["max@x.test"]
        )
    )
    world.persons.append(seed_person(state, globex.id, "Sam Francisco", phones=[PHONE_FORMATS[7]]))
    world.persons.append(seed_person(state, globex.id, "London Lou", phones=[PHONE_FORMATS[8]]))
    seed_pipeline(state, acme.id, "WhatsApp inbound", ("New chat", "Qualified", "Won over"))
    munich, max_ = world.persons[0], world.persons[5]
    sam = world.persons[6]
    world.deals += [
        seed_deal(state, acme.id, "Office chairs for the Munich office", person_id=munich["id"], value=4800),
        seed_deal(state, acme.id, "Standing desks", person_id=max_["id"], value=12500),
        seed_deal(state, globex.id, "Fleet renewal", person_id=sam["id"], value=90000, currency="USD"),
    ]
    seed_demo_filters(state, acme.id, globex.id)
    return world


def seed_demo_filters(state: SandboxState, acme_id: int, globex_id: int) -> None:
    """Saved filters over the demo's Persons and Deals, for campaigns chosen by filter: Acme's
    "Customers in Germany" (a phone stored with +49: Munich Contacts 1 and 5, Mobile Max), "Munich
    contacts" (the five), "Open deals" (both); Globex's "Customers in the US" (Sam Francisco)."""
    seed_filter(
        state,
        acme_id,
        "Customers in Germany",
        "people",
        [condition(state, acme_id, "person", "phone", "LIKE '$%'", "+49")],
    )
    seed_filter(
        state,
        acme_id,
        "Munich contacts",
        "people",
        [condition(state, acme_id, "person", "name", "LIKE '$%'", "Munich")],
    )
    seed_filter(
        state, acme_id, "Open deals", "deals", [condition(state, acme_id, "deal", "status", "=", "open")]
    )
    seed_filter(
        state,
        globex_id,
        "Customers in the US",
        "people",
        [condition(state, globex_id, "person", "phone", "LIKE '$%'", "+1")],
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def dump_company(state: SandboxState, company_id: int) -> dict[str, Any]:
    """Everything a company holds, JSON-ready (file bytes as size and sha256)."""
    data = state.company_data(company_id)
    files = [
        {
            **_jsonable(f.record),
            "content_type": f.content_type,
            "sha256": hashlib.sha256(f.content).hexdigest(),
        }
        for f in data.files.values()
    ]
    usage = state.limiter.usage_for(company_id)
    return {
        "company": asdict(state.companies[company_id]),
        "users": [asdict(u) for u in state.company_users(company_id)],
        "persons": _jsonable(list(data.persons.values())),
        "deals": _jsonable(list(data.deals.values())),
        "pipelines": _jsonable(list(data.pipelines.values())),
        "stages": _jsonable(list(data.stages.values())),
        "activities": _jsonable(list(data.activities.values())),
        "activity_types": _jsonable(list(data.activity_types.values())),
        "leads": _jsonable(list(data.leads.values())),
        "lead_labels": _jsonable(list(data.lead_labels.values())),
        "person_fields": _jsonable(list(data.person_fields.values())),
        "deal_fields": _jsonable(list(data.deal_fields.values())),
        "organizations": _jsonable(list(data.organizations.values())),
        "organization_fields": _jsonable(list(data.organization_fields.values())),
        "filters": _jsonable(list(data.filters.values())),
        "notes": _jsonable(list(data.notes.values())),
        "webhooks": _jsonable(list(data.webhooks.values())),
        "files": files,
        "usage": _jsonable(asdict(usage)),
    }
