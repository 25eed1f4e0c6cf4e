"""List views without a browser: rows, the filter dropdown, what the modal's URL is built from, escaping."""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from sandbox.pipedrive.app import create_app
from sandbox.pipedrive.host import configure_host_app
from sandbox.pipedrive.seed import condition, seed_deal, seed_filter, seed_organization, seed_person
from sandbox.pipedrive.state import SandboxState, SandboxUser

MODAL = "https://app.test/campaigns/modal"


@dataclass
class World:
    state: SandboxState
    http: httpx.AsyncClient
    admin: SandboxUser
    member: SandboxUser


@pytest.fixture
async def world() -> AsyncIterator[World]:
    state = SandboxState()
    company = state.add_company("Acme GmbH")
    admin = state.add_user(company.id, "Ada Admin", "ada@acme.test", is_admin=True)
    member = state.add_user(company.id, "Mia Member", "mia@acme.test")
    state.add_client("wapipe", "client-secret", "https://app.test/oauth/callback", ["base"])
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as http:
        yield World(state, http, admin, member)


def row_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-id="(\d+)"', page)]


def list_data(page: str) -> dict[str, str]:
    tag = re.search(r'<main class="pd-list"[^>]*>', page, re.S)
    assert tag, page
    return {k: html.unescape(v) for k, v in re.findall(r'data-([a-z-]+)="([^"]*)"', tag.group(0))}


async def test_the_persons_list_shows_rows_filters_and_the_modal_it_opens(world: World) -> None:
    state, company = world.state, world.admin.company_id
    office = seed_organization(state, company, "Munich Office")
    maria = seed_person(state, company, "Maria <b>Muster</b>", phones=["+49 89 1"], org_id=office["id"])
    john = seed_person(state, company, "John Bull", phones=["+44 20 1"])
    germany = seed_filter(
        state,
        company,
        "Customers in Germany",
        "people",
        [condition(state, company, "person", "phone", "LIKE '$%'", "+49")],
    )
    seed_filter(
        state,
        company,
        "Mia's own",
        "people",
        [condition(state, company, "person", "name", "=", "x")],
        user_id=world.member.id,
        visible_to="1",
    )
    seed_filter(
        state, company, "Open deals", "deals", [condition(state, company, "deal", "status", "=", "open")]
    )
    configure_host_app(state, "wapipe", modal_url=MODAL)

    page = (await world.http.get("/host/persons")).text

    assert row_ids(page) == [maria["id"], john["id"]]
    assert "Maria &lt;b&gt;Muster&lt;/b&gt;" in page and "<b>Muster" not in page
    assert "Munich Office" in page
    offered = re.search(r'<select id="pd-filter".*?</select>', page, re.S)
    assert offered and re.findall(r'<option value="(\d*)"', offered.group(0)) == ["", str(germany["id"])]
    data = list_data(page)
    assert data["modal-url"] == MODAL and data["resource"] == "person" and data["filter-id"] == ""
    assert json.loads(data["modal-base"]) == {
        "userId": str(world.admin.id),
        "companyId": str(company),
        "resource": "person",
        "view": "list",
    }
    assert "Send WhatsApp campaign" in page
    assert '<script src="/host/static/host_list.js"></script>' in page

    filtered = (await world.http.get(f"/host/persons?filter_id={germany['id']}")).text
    assert row_ids(filtered) == [maria["id"]]
    assert list_data(filtered)["filter-id"] == str(germany["id"])
    # Another user's private filter is neither offered nor applied.
    private = (await world.http.get("/host/persons?filter_id=2")).text
    assert row_ids(private) == [maria["id"], john["id"]] and list_data(private)["filter-id"] == ""


async def test_the_deals_list_and_its_filter(world: World) -> None:
    state, company = world.state, world.admin.company_id
    maria = seed_person(state, company, "Maria Muster", phones=["+49 89 1"])
    chairs = seed_deal(state, company, "Chairs", person_id=maria["id"], value=4800)
    seed_deal(state, company, "Lost", person_id=maria["id"], status="lost")
    seed_deal(state, company, "Archived", is_archived=True)
    open_deals = seed_filter(
        state, company, "Open", "deals", [condition(state, company, "deal", "status", "=", "open")]
    )

    page = (await world.http.get(f"/host/deals?filter_id={open_deals['id']}&modal_url={MODAL}")).text

    assert row_ids(page) == [chairs["id"]]
    assert "4,800 EUR" in page and "Maria Muster" in page
    assert list_data(page)["resource"] == "deal"
    assert list_data(page)["modal-url"] == MODAL
    everything = (await world.http.get("/deals/list")).text
    assert len(row_ids(everything)) == 2  # not the archived one


async def test_without_a_modal_the_page_says_so_and_refuses_other_urls(world: World) -> None:
    page = (await world.http.get("/host/persons?modal_url=javascript:alert(1)")).text
    assert list_data(page)["modal-url"] == ""
    assert 'id="pd-no-modal"' in page
    refused = await world.http.post(
        "/_sandbox/host/apps", json={"client_id": "wapipe", "modal_url": "ftp://x"}
    )
    assert refused.status_code == 400
    saved = await world.http.post("/_sandbox/host/apps", json={"client_id": "wapipe", "modal_url": MODAL})
    assert saved.json()["modal_url"] == MODAL
    unknown_user = await world.http.get("/host/persons?user_id=999")
    assert unknown_user.status_code == 404
