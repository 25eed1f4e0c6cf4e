"""v2 search: `persons/search`, `deals/search` and `itemSearch`.

Matching: case-insensitive; `exact_match` compares whole values, otherwise a substring match. Phones are
compared on digits only while `state.phone_search_ignores_punctuation` is on (the default), or on the raw
stored string when it is off, so a client's fuzzy matcher can be tested against both behaviours.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from starlette.responses import Response

from sandbox.pipedrive.gateway import ApiContext, Endpoint, bad_request, ok
from sandbox.pipedrive.paging import cursor_page
from sandbox.pipedrive.payloads import query_bool, query_int
from sandbox.pipedrive.state import Record

PERSON_FIELDS = ("name", "email", "phone", "notes", "custom_fields")
DEAL_FIELDS = ("custom_fields", "notes", "title")
DEAL_STATUSES = ("open", "won", "lost")
ITEM_FIELDS: tuple[str, ...] = (
    "address",
    "code",
    "custom_fields",
    "email",
    "name",
    "notes",
    "organization_name",
    "person_name",
)
ITEM_FIELDS += ("phone", "title", "description")
ITEM_TYPES = ("deal", "person", "organization", "product", "lead", "file", "mail_attachment", "project")
SEARCHABLE_CUSTOM_TYPES = ("address", "varchar", "text", "varchar_auto", "double", "monetary", "phone")
NON_DIGITS = re.compile(r"\D")


def _score(term: str, value: str, exact: bool, phone: bool, ignore_punct: bool) -> float | None:
    if phone and ignore_punct:
        term_n, value_n = NON_DIGITS.sub("", term), NON_DIGITS.sub("", value)
        if not term_n:
            return None
    else:
        term_n, value_n = term.casefold().strip(), value.casefold().strip()
    if not value_n:
        return None
    if exact:
        return 1.0 if term_n == value_n else None
    if term_n not in value_n:
        return None
    return round(0.1 + 0.9 * len(term_n) / len(value_n), 5)


def best_score(
    term: str, values: Iterable[str], *, exact: bool, phone: bool, ignore_punct: bool
) -> float | None:
    scores = [s for v in values if (s := _score(term, v, exact, phone, ignore_punct)) is not None]
    return max(scores) if scores else None


def search_params(ctx: ApiContext, allowed_fields: tuple[str, ...]) -> tuple[str, set[str], bool]:
    term = ctx.query("term")
    exact = bool(query_bool(ctx.query("exact_match"), "exact_match"))
    if term is None or len(term.strip()) < (1 if exact else 2):
        raise bad_request("Validation failed: term: Search term must be at least 2 characters long")
    raw_fields = ctx.query("fields")
    fields = set(allowed_fields)
    if raw_fields:
        fields = {f.strip() for f in raw_fields.split(",") if f.strip()}
        unknown = fields - set(allowed_fields)
        if unknown:
            raise bad_request(f"Validation failed: fields: Unknown field(s) {', '.join(sorted(unknown))}")
    return term.strip(), fields, exact


def _custom_values(ctx: ApiContext, store: dict[int, Record], values: dict[str, Any]) -> list[str]:
    searchable = {
        f["key"] for f in store.values() if f["is_custom"] and f["field_type"] in SEARCHABLE_CUSTOM_TYPES
    }
    return [str(v) for k, v in values.items() if k in searchable and v is not None]


def match_person(
    ctx: ApiContext, person: Record, term: str, fields: set[str], exact: bool
) -> tuple[float, list[str]] | None:
    ignore = ctx.state.phone_search_ignores_punctuation
    scores: list[float] = []
    custom_hits: list[str] = []
    if "name" in fields and (
        s := best_score(term, [person["name"]], exact=exact, phone=False, ignore_punct=ignore)
    ):
        scores.append(s)
    emails = [e["value"] for e in person["emails"]]
    if "email" in fields and (s := best_score(term, emails, exact=exact, phone=False, ignore_punct=ignore)):
        scores.append(s)
    phones = [p["value"] for p in person["phones"]]
    if "phone" in fields and (s := best_score(term, phones, exact=exact, phone=True, ignore_punct=ignore)):
        scores.append(s)
    if "custom_fields" in fields:
        for value in _custom_values(ctx, ctx.data.person_fields, person["custom_fields"]):
            if best_score(term, [value], exact=exact, phone=False, ignore_punct=ignore):
                custom_hits.append(value)
                scores.append(0.5)
    return (max(scores), custom_hits) if scores else None


def person_item(ctx: ApiContext, person: Record, custom_hits: list[str]) -> dict[str, Any]:
    item = {
        "id": person["id"],
        "type": "person",
        "name": person["name"],
        "phones": [p["value"] for p in person["phones"]],
        "emails": [e["value"] for e in person["emails"]],
        "visible_to": person["visible_to"],
        "owner": {"id": person["owner_id"]},
        "organization": {"id": person["org_id"], "name": ""} if person["org_id"] else None,
        "custom_fields": custom_hits,
        "notes": [],
    }
    return ctx.shape(item)


async def search_persons(ctx: ApiContext) -> Response:
    term, fields, exact = search_params(ctx, PERSON_FIELDS)
    org_id = query_int(ctx.query("organization_id"), "organization_id")
    hits: list[tuple[float, Record, list[str]]] = []
    for person in ctx.data.persons.values():
        if person["is_deleted"] or (org_id is not None and person["org_id"] != org_id):
            continue
        found = match_person(ctx, person, term, fields, exact)
        if found is not None:
            hits.append((found[0], person, found[1]))
    hits.sort(key=lambda h: (-h[0], h[1]["id"]))
    page, additional = cursor_page(ctx, hits)
    items = [{"result_score": score, "item": person_item(ctx, p, custom)} for score, p, custom in page]
    return ok({"items": items}, additional)


def _deal_item(ctx: ApiContext, deal: Record, custom_hits: list[str]) -> dict[str, Any]:
    stage = ctx.data.stages.get(deal["stage_id"])
    person = ctx.data.persons.get(deal["person_id"]) if deal["person_id"] else None
    item = {
        "id": deal["id"],
        "type": "deal",
        "title": deal["title"],
        "value": deal["value"],
        "currency": deal["currency"],
        "status": deal["status"],
        "visible_to": deal["visible_to"],
        "owner": {"id": deal["owner_id"]},
        "stage": {"id": deal["stage_id"], "name": stage["name"] if stage else ""},
        "person": {"id": person["id"], "name": person["name"]} if person else None,
        "organization": None,
        "custom_fields": custom_hits,
        "notes": [],
    }
    return ctx.shape(item)


def match_deal(
    ctx: ApiContext, deal: Record, term: str, fields: set[str], exact: bool
) -> tuple[float, list[str]] | None:
    ignore = ctx.state.phone_search_ignores_punctuation
    values = [deal["title"]] if fields & {"title", "name"} else []
    custom = _custom_values(ctx, ctx.data.deal_fields, deal["custom_fields"])
    score = best_score(term, values, exact=exact, phone=False, ignore_punct=ignore)
    custom_hits = [
        v
        for v in custom
        if "custom_fields" in fields and best_score(term, [v], exact=exact, phone=False, ignore_punct=ignore)
    ]
    return (score or 0.5, custom_hits) if score or custom_hits else None


async def search_deals(ctx: ApiContext) -> Response:
    term, fields, exact = search_params(ctx, DEAL_FIELDS)
    person_id = query_int(ctx.query("person_id"), "person_id")
    org_id = query_int(ctx.query("organization_id"), "organization_id")
    status = ctx.query("status")
    if status is not None and status not in DEAL_STATUSES:
        raise bad_request("Validation failed: status: Unknown deal status")
    hits: list[tuple[float, Record, list[str]]] = []
    for deal in ctx.data.deals.values():
        if deal["is_deleted"] or (status is not None and deal["status"] != status):
            continue
        if (person_id is not None and deal["person_id"] != person_id) or (
            org_id is not None and deal.get("org_id") != org_id
        ):
            continue
        found = match_deal(ctx, deal, term, fields, exact)
        if found is not None:
            hits.append((found[0], deal, found[1]))
    hits.sort(key=lambda h: (-h[0], h[1]["id"]))
    page, additional = cursor_page(ctx, hits)
    items = [{"result_score": score, "item": _searched_deal(ctx, d, custom)} for score, d, custom in page]
    return ok({"items": items}, additional)


def _searched_deal(ctx: ApiContext, deal: Record, custom_hits: list[str]) -> dict[str, Any]:
    """``deals/search`` documents a deal's value as a whole number (``itemSearch`` as any number)."""
    item = _deal_item(ctx, deal, custom_hits)
    if isinstance(item.get("value"), float):
        item["value"] = round(item["value"])
    return item


def _lead_item(ctx: ApiContext, lead: Record) -> dict[str, Any]:
    person = ctx.data.persons.get(lead["person_id"]) if lead["person_id"] else None
    value = lead["value"] or {}
    item = {
        "id": lead["id"],
        "type": "lead",
        "title": lead["title"],
        "owner": {"id": lead["owner_id"]},
        "person": {"id": person["id"], "name": person["name"]} if person else None,
        "organization": None,
        "phones": [],
        "emails": [],
        "custom_fields": [],
        "notes": [],
        "value": value.get("amount"),
        "currency": value.get("currency"),
        "visible_to": int(lead["visible_to"]),
        "is_archived": lead["is_archived"],
    }
    return ctx.shape(item)


async def item_search(ctx: ApiContext) -> Response:
    term, fields, exact = search_params(ctx, ITEM_FIELDS)
    raw_types = ctx.query("item_types")
    types = {t.strip() for t in raw_types.split(",")} if raw_types else set(ITEM_TYPES)
    if types - set(ITEM_TYPES):
        raise bad_request("Validation failed: item_types: Unknown item type")
    ignore = ctx.state.phone_search_ignores_punctuation
    hits: list[tuple[float, str, int | str, dict[str, Any]]] = []
    if "person" in types:
        for person in ctx.data.persons.values():
            if not person["is_deleted"] and (found := match_person(ctx, person, term, fields, exact)):
                hits.append((found[0], "person", person["id"], person_item(ctx, person, found[1])))
    if "deal" in types:
        for deal in ctx.data.deals.values():
            if not deal["is_deleted"] and (found := match_deal(ctx, deal, term, fields, exact)):
                hits.append((found[0], "deal", deal["id"], _deal_item(ctx, deal, found[1])))
    if "lead" in types:
        for lead in ctx.data.leads.values():
            values = [lead["title"]] if "title" in fields else []
            score = best_score(term, values, exact=exact, phone=False, ignore_punct=ignore)
            if score and not lead["is_archived"]:
                hits.append((score, "lead", lead["id"], _lead_item(ctx, lead)))
    hits.sort(key=lambda h: (-h[0], h[1], str(h[2])))
    page, additional = cursor_page(ctx, hits, max_limit=100)
    data: dict[str, Any] = {"items": [{"result_score": s, "item": item} for s, _, _, item in page]}
    if query_bool(ctx.query("search_for_related_items"), "search_for_related_items"):
        data["related_items"] = []
    return ok(data, additional)


ENDPOINTS = [
    Endpoint("v2", "get", "/persons/search", search_persons, search=True),
    Endpoint("v2", "get", "/deals/search", search_deals, search=True),
    Endpoint("v2", "get", "/itemSearch", item_search, search=True),
]
