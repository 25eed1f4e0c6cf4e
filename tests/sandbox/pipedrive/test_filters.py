"""Saved filters and Organizations in the sandbox: answers in Pipedrive's documented shapes and costs, what a
filter matches, ``filter_id`` and ``ids`` on the v2 lists, and the control endpoints that make them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from openapi_core import OpenAPI

from sandbox.pipedrive.filters import FilterProblem
from sandbox.pipedrive.seed import (
    condition,
    seed_custom_field,
    seed_deal,
    seed_demo,
    seed_filter,
    seed_organization,
    seed_person,
)
from sandbox.pipedrive.state import SandboxState
from tests.sandbox.pipedrive.conftest import World, make_client, spec_cost, validate_contract


def people(world: World, name: str, *conditions: dict[str, Any], glue: str = "and", **kwargs: Any) -> int:
    found = seed_filter(world.state, world.company_a, name, "people", list(conditions), glue=glue, **kwargs)
    return int(found["id"])


def cond(world: World, entity: str, key: str, operator: str, value: str | None = None) -> dict[str, Any]:
    return condition(world.state, world.company_a, entity, key, operator, value)


async def ids_of(client: httpx.AsyncClient, url: str) -> list[int]:
    response = await client.get(url)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["data"]]


@pytest.fixture
def shop(world: World) -> dict[str, int]:
    """Acme's Persons: Maria (the seeded one, +49), Hans (+49, Munich Office), Jane (+44, VIP label),
    Nobody (no phone); an Organization; deals."""
    state, company = world.state, world.company_a
    office = seed_organization(state, company, "Munich Office GmbH", address="Marienplatz 1")
    tier = seed_custom_field(state, company, "person", "Tier", "enum", options=("Gold", "Silver"))
    hans = seed_person(
        state,
        company,
        "Hans Huber",
        phones=["+49 151 2"],
        org_id=office["id"],
        custom_fields={tier["key"]: 1},
    )
    jane = seed_person(state, company, "Jane Doe", phones=["+44 20 1"], label_ids=[5], owner_id=world.agent_a)
    nobody = seed_person(state, company, "Nobody", custom_fields={tier["key"]: 2})
    big = seed_deal(state, company, "Big deal", person_id=hans["id"], value=9000, org_id=office["id"])
    small = seed_deal(state, company, "Small deal", person_id=jane["id"], value=100)
    return {
        "maria": world.person_a,
        "hans": hans["id"],
        "jane": jane["id"],
        "nobody": nobody["id"],
        "office": office["id"],
        "big": big["id"],
        "small": small["id"],
        "tier": tier["id"],
    }


async def test_filters_list_and_read_in_the_documented_shape_and_cost(
    client: httpx.AsyncClient,
    world: World,
    shop: dict[str, int],
    openapi_specs: dict[str, OpenAPI],
    raw_specs: dict[str, dict[str, Any]],
) -> None:
    germany = people(world, "Customers in Germany", cond(world, "person", "phone", "LIKE '$%'", "+49"))
    deals = seed_filter(
        world.state, world.company_a, "Big deals", "deals", [cond(world, "deal", "value", ">", "1000")]
    )
    usage = world.state.limiter.usage_for(world.company_a)
    calls = [
        ("/api/v1/filters?type=people", "v1", "/filters"),
        ("/api/v1/filters", "v1", "/filters"),
        (f"/api/v1/filters/{germany}", "v1", "/filters/{id}"),
        (f"/api/v2/persons?filter_id={germany}&limit=500", "v2", "/persons"),
        (f"/api/v2/deals?filter_id={deals['id']}", "v2", "/deals"),
        (f"/api/v2/deals?ids={shop['small']},{shop['big']}", "v2", "/deals"),
        (f"/api/v2/organizations?ids={shop['office']}", "v2", "/organizations"),
        (f"/api/v2/organizations/{shop['office']}", "v2", "/organizations/{id}"),
        ("/api/v2/organizationFields", "v2", "/organizationFields"),
    ]
    for url, version, template in calls:
        before = usage.tokens_used
        response = await client.get(url)
        assert response.status_code == 200, (url, response.text)
        validate_contract(openapi_specs, response)
        assert usage.tokens_used - before == spec_cost(raw_specs, version, "get", template), url
    listed = (await client.get("/api/v1/filters?type=people")).json()["data"]
    assert [(f["id"], f["name"], f["type"]) for f in listed] == [(germany, "Customers in Germany", "people")]
    assert "conditions" not in listed[0]
    one = (await client.get(f"/api/v1/filters/{germany}")).json()["data"]
    assert one["conditions"]["conditions"][0]["conditions"][0]["operator"] == "LIKE '$%'"


async def test_what_a_filter_matches(client: httpx.AsyncClient, world: World, shop: dict[str, int]) -> None:
    cases: list[tuple[list[dict[str, Any]], str, list[str]]] = [
        ([cond(world, "person", "phone", "LIKE '$%'", "+49")], "and", ["maria", "hans"]),
        ([cond(world, "person", "name", "=", "jane doe")], "and", ["jane"]),
        ([cond(world, "person", "name", "LIKE '%$%'", "HUB")], "and", ["hans"]),
        ([cond(world, "person", "phone", "IS NULL")], "and", ["nobody"]),
        ([cond(world, "person", "phone", "NOT LIKE '$%'", "+49")], "and", ["jane", "nobody"]),
        ([cond(world, "person", "owner_id", "=", str(world.agent_a))], "and", ["jane"]),
        ([cond(world, "person", "label_ids", "=", "5")], "and", ["jane"]),
        ([cond(world, "organization", "name", "LIKE '$%'", "Munich")], "and", ["hans"]),
        ([cond(world, "person", "org_id", "IS NOT NULL")], "and", ["hans"]),
        (
            [cond(world, "person", "name", "=", "Nobody"), cond(world, "person", "name", "=", "Jane Doe")],
            "or",
            ["jane", "nobody"],
        ),
        (
            [
                cond(world, "person", "phone", "LIKE '$%'", "+49"),
                cond(world, "person", "name", "!=", "Hans Huber"),
            ],
            "and",
            ["maria"],
        ),
    ]
    tier_key = world.state.company_data(world.company_a).person_fields[shop["tier"]]["key"]
    cases.append(([cond(world, "person", tier_key, "=", "1")], "and", ["hans"]))
    for number, (conditions, glue, expected) in enumerate(cases):
        filter_id = people(world, f"case {number}", *conditions, glue=glue)
        found = await ids_of(client, f"/api/v2/persons?filter_id={filter_id}")
        assert found == [shop[name] for name in expected], (number, conditions)


async def test_deal_filters_compare_numbers_and_the_deals_person(
    client: httpx.AsyncClient, world: World, shop: dict[str, int]
) -> None:
    state, company = world.state, world.company_a
    big = seed_filter(state, company, "Big", "deals", [cond(world, "deal", "value", ">=", "9000")])["id"]
    janes = seed_filter(
        state, company, "Jane's", "deals", [cond(world, "person", "name", "LIKE '$%'", "Jane")]
    )["id"]
    assert await ids_of(client, f"/api/v2/deals?filter_id={big}") == [shop["big"]]
    assert await ids_of(client, f"/api/v2/deals?filter_id={janes}") == [shop["small"]]
    # Beside filter_id, Pipedrive ignores ids and the other narrowing parameters.
    assert await ids_of(client, f"/api/v2/deals?filter_id={big}&ids={shop['small']}&person_id=77") == [
        shop["big"]
    ]


async def test_filter_paging_and_ids_limits(client: httpx.AsyncClient, world: World) -> None:
    for n in range(1100):
        seed_person(world.state, world.company_a, f"Kunde {n}", phones=["+49 30 1"])
    germany = people(world, "Germany", cond(world, "person", "phone", "LIKE '$%'", "+49"))
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {
            "filter_id": germany,
            "limit": 500,
            **({"cursor": cursor} if cursor else {}),
        }
        body = (await client.get("/api/v2/persons", params=params)).json()
        seen += [p["id"] for p in body["data"]]
        pages += 1
        cursor = (body.get("additional_data") or {}).get("next_cursor")
        if not cursor:
            break
    assert pages == 3 and len(seen) == 1101 and len(set(seen)) == 1101
    too_big = await client.get("/api/v2/persons", params={"filter_id": germany, "limit": 501})
    assert too_big.status_code == 400
    many = ",".join(str(n) for n in range(1, 102))
    for path in ("/api/v2/persons", "/api/v2/deals", "/api/v2/organizations"):
        refused = await client.get(path, params={"ids": many})
        assert refused.status_code == 400, path
        assert "At most 100 ids" in refused.json()["error"]


async def test_unknown_private_and_foreign_filters(client: httpx.AsyncClient, world: World) -> None:
    private = people(
        world, "Bernd's", cond(world, "person", "name", "=", "x"), user_id=world.agent_a, visible_to="1"
    )
    deals = seed_filter(
        world.state, world.company_a, "Deals", "deals", [cond(world, "deal", "status", "=", "open")]
    )
    missing = await client.get("/api/v2/persons?filter_id=999")
    assert missing.status_code == 404 and missing.json()["error"] == "Filter not found"
    assert (await client.get(f"/api/v2/persons?filter_id={private}")).status_code == 404
    assert (await client.get(f"/api/v1/filters/{private}")).status_code == 404
    foreign = await client.get(f"/api/v2/persons?filter_id={deals['id']}")
    assert foreign.status_code == 400 and foreign.json()["code"] == "ERR_BAD_REQUEST"
    async with make_client(world, world.token(world.agent_a)) as bernd:
        assert (await bernd.get(f"/api/v2/persons?filter_id={private}")).status_code == 200
        names = [f["name"] for f in (await bernd.get("/api/v1/filters")).json()["data"]]
        assert names == ["Bernd's", "Deals"]
    async with make_client(world, world.token(world.admin_b)) as globex:
        assert (await globex.get(f"/api/v2/deals?filter_id={deals['id']}")).status_code == 404
    bad_type = await client.get("/api/v1/filters?type=nonsense")
    assert bad_type.status_code == 400


def test_filters_the_sandbox_cannot_evaluate_are_refused(world: World) -> None:
    state, company = world.state, world.company_a
    problems = [
        ("people", [{"object": "product", "field_id": "1", "operator": "=", "value": "x"}]),
        ("people", [{"object": "person", "field_id": "9999", "operator": "=", "value": "x"}]),
        ("people", [{**cond(world, "person", "name", "="), "operator": "SOUNDS LIKE", "value": "x"}]),
        ("people", [cond(world, "person", "name", "=")]),  # no value
        ("things", [cond(world, "person", "name", "=", "x")]),
        ("people", [cond(world, "person", "name", "=", "x")] * 17),
    ]
    for filter_type, conditions in problems:
        with pytest.raises(FilterProblem):
            seed_filter(state, company, "bad", filter_type, conditions)


async def test_the_control_endpoints_make_organizations_and_filters(world: World) -> None:
    async with make_client(world, None) as control:
        made = await control.post(
            f"/_sandbox/companies/{world.company_a}/organizations",
            json={"name": "Org A", "address": "Main St 1"},
        )
        assert made.status_code == 201
        body = {
            "name": "Customers in Germany",
            "type": "people",
            "conditions": {
                "glue": "and",
                "conditions": [
                    {
                        "glue": "and",
                        "conditions": [
                            {
                                "object": "person",
                                "field_key": "phone",
                                "operator": "LIKE '$%'",
                                "value": "+49",
                            }
                        ],
                    }
                ],
            },
        }
        saved = await control.post(f"/_sandbox/companies/{world.company_a}/filters", json=body)
        assert saved.status_code == 201, saved.text
        assert saved.json()["type"] == "people"
        refused = await control.post(
            f"/_sandbox/companies/{world.company_a}/filters", json={**body, "conditions": {"glue": "or"}}
        )
        assert refused.status_code == 400 and refused.json()["reason"] == "invalid_filter"
    async with make_client(world, world.token()) as client:
        assert await ids_of(client, f"/api/v2/persons?filter_id={saved.json()['id']}") == [world.person_a]
        org = (await client.get(f"/api/v2/organizations/{made.json()['id']}")).json()["data"]
        assert org["address"] == {"value": "Main St 1"}


def test_the_demo_has_filters_over_its_persons_and_deals() -> None:
    state = SandboxState()
    demo = seed_demo(state)
    acme, globex = (c.id for c in demo.companies)
    names = {cid: [f["name"] for f in state.company_data(cid).filters.values()] for cid in (acme, globex)}
    assert names == {
        acme: ["Customers in Germany", "Munich contacts", "Open deals"],
        globex: ["Customers in the US"],
    }
