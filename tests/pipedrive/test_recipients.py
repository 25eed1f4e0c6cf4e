"""Campaign recipients read from the Pipedrive sandbox through the production client: saved filters, Persons
and Deals by filter and by id, placeholder values, what a read costs, and the opt-out field.

Request counts come from the sandbox's own usage (what Pipedrive would have counted), never from WaPipe.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from sandbox.pipedrive.app import create_app
from sandbox.pipedrive.seed import (
    ALL_SCOPES,
    condition,
    seed_custom_field,
    seed_deal,
    seed_filter,
    seed_organization,
    seed_person,
)
from sandbox.pipedrive.state import Clock, SandboxState
from server.domain.clock import ControlledClock
from server.domain.errors import InvalidInput, NotFound
from server.domain.ports.recipients import OPT_OUT_FIELD_NAME, ListKind, RecipientSource, SavedFilter
from server.pipedrive.client import PipedriveClient
from server.pipedrive.oauth import TokenSet
from server.pipedrive.ratelimit import MemoryRateLimiter, RateScope
from server.pipedrive.recipients import PipedriveRecipients, recipients_for

SANDBOX = "http://pipedrive.sandbox"
NOTHING: frozenset[str] = frozenset()


class StaticTokens:
    def __init__(self, tokens: TokenSet) -> None:
        self.tokens = tokens

    async def current(self) -> TokenSet:
        return self.tokens

    async def refresh_rejected(self, rejected: TokenSet) -> TokenSet:
        return self.tokens


@dataclass
class Acme:
    pd: SandboxState
    company_id: int
    admin_id: int
    agent_id: int
    client: PipedriveClient
    http: httpx.AsyncClient

    def requests(self) -> dict[str, int]:
        return dict(self.pd.limiter.usage_for(self.company_id).per_operation)

    def recipients(self) -> PipedriveRecipients:
        return PipedriveRecipients(self.client)


@pytest.fixture
async def acme() -> AsyncIterator[Acme]:
    pd = SandboxState(clock=Clock(follow_wall_clock=True), base_url=SANDBOX)
    clock = ControlledClock()
    clock.follow(pd.clock.advance)
    company = pd.add_company("Acme Sales GmbH", domain="acme", plan="premium")
    admin = pd.add_user(company.id, "Anna Admin", "anna@acme.test", is_admin=True)
    agent = pd.add_user(company.id, "Bob Agent", "bob@acme.test")
    token = pd.token_for(company.id, admin.id, list(ALL_SCOPES))
    tokens = TokenSet(token, "refresh", datetime.now(UTC) + timedelta(days=1), frozenset(ALL_SCOPES), SANDBOX)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(pd)), base_url=SANDBOX) as http:
        client = PipedriveClient(
            http,
            StaticTokens(tokens),
            RateScope(token_key="admin", company_key=str(company.id)),
            limiter=MemoryRateLimiter(),
            sleep=clock.sleep,
        )
        yield Acme(pd, company.id, admin.id, agent.id, client, http)


def people_filter(acme: Acme, name: str, key: str, operator: str, value: str, **kwargs: object) -> int:
    found = condition(acme.pd, acme.company_id, "person", key, operator, value)
    return int(seed_filter(acme.pd, acme.company_id, name, "people", [found], **kwargs)["id"])  # type: ignore[arg-type]


async def test_the_adapter_is_the_port(acme: Acme) -> None:
    """Used through the port alone, it answers what the company's Pipedrive holds."""
    maria = seed_person(acme.pd, acme.company_id, "Maria Kunde", phones=["+49 176 55501234"])
    germany = people_filter(acme, "Customers in Germany", "phone", "LIKE '$%'", "+49")
    source: RecipientSource = acme.recipients()
    assert await source.filters(ListKind.PERSON) == [
        SavedFilter(germany, "Customers in Germany", ListKind.PERSON)
    ]
    [found] = await source.by_filter(ListKind.PERSON, germany, needs=NOTHING)
    assert (found.person_id, found.name, found.phones) == (maria["id"], "Maria Kunde", ("+49 176 55501234",))
    assert [r.person_id for r in await source.by_ids(ListKind.PERSON, [maria["id"]], needs=NOTHING)] == [
        maria["id"]
    ]


async def test_filters_are_the_ones_the_admin_sees_for_the_list(acme: Acme) -> None:
    germany = people_filter(acme, "Customers in Germany", "phone", "LIKE '$%'", "+49")
    people_filter(acme, "Bob's own", "name", "=", "x", user_id=acme.agent_id, visible_to="1")
    vip = people_filter(acme, "VIPs", "name", "LIKE '%$%'", "VIP")
    deals = seed_filter(
        acme.pd,
        acme.company_id,
        "Open deals",
        "deals",
        [condition(acme.pd, acme.company_id, "deal", "status", "=", "open")],
    )
    recipients = acme.recipients()

    people = await recipients.filters(ListKind.PERSON)
    deal_filters = await recipients.filters(ListKind.DEAL)

    assert [(f.id, f.name, f.kind) for f in people] == [
        (germany, "Customers in Germany", ListKind.PERSON),
        (vip, "VIPs", ListKind.PERSON),
    ]
    assert [(f.id, f.name) for f in deal_filters] == [(deals["id"], "Open deals")]
    assert acme.requests() == {"GET /v1/filters": 2}


async def test_persons_by_filter_with_their_values(acme: Acme) -> None:
    language = seed_custom_field(
        acme.pd, acme.company_id, "person", "Preferred language", "enum", options=("German", "English")
    )
    topics = seed_custom_field(
        acme.pd, acme.company_id, "person", "Topics", "set", options=("Chairs", "Desks", "Lamps")
    )
    budget = seed_custom_field(acme.pd, acme.company_id, "person", "Budget", "monetary")
    office = seed_organization(
        acme.pd, acme.company_id, "Munich Office GmbH", address="Marienplatz 1, München"
    )
    maria = seed_person(
        acme.pd,
        acme.company_id,
        "Maria Muster",
        phones=["+49 89 6364 8018", "+49 151 1111111"],
        emails=["maria@x.test"],
        owner_id=acme.agent_id,
        org_id=office["id"],
        custom_fields={
            language["key"]: 1,
            topics["key"]: [1, 3],
            budget["key"]: {"value": 4800, "currency": "EUR"},
        },
    )
    seed_person(acme.pd, acme.company_id, "John Bull", phones=["+44 20 7946 0958"])
    max_ = seed_person(acme.pd, acme.company_id, "Max Mobil", phones=["+4915112345678"])
    germany = people_filter(acme, "Customers in Germany", "phone", "LIKE '$%'", "+49")

    found = await acme.recipients().by_filter(ListKind.PERSON, germany, needs=frozenset({"org"}))

    assert [(r.person_id, r.name, r.deal_id) for r in found] == [
        (maria["id"], "Maria Muster", None),
        (max_["id"], "Max Mobil", None),
    ]
    first = found[0]
    assert first.phones == ("+49 89 6364 8018", "+49 151 1111111")
    assert first.owner_id == acme.agent_id
    assert first.values["person"] == {
        "name": "Maria Muster",
        "first_name": "Maria",
        "last_name": "Muster",
        "phone": "+49 89 6364 8018",
        "email": "maria@x.test",
        "owner": "Bob Agent",
        "owner_name": "Bob Agent",
        "preferred_language": "German",
        "topics": "Chairs, Lamps",
        "budget": "4800 EUR",
    }
    assert first.values["org"] == {"name": "Munich Office GmbH", "address": "Marienplatz 1, München"}
    assert "org" not in found[1].values  # Max has no Organization
    assert "deal" not in first.values


async def test_a_phone_marked_primary_comes_first(acme: Acme) -> None:
    person = seed_person(acme.pd, acme.company_id, "Two Phones", phones=["+49 1", "+49 2"])
    person["phones"] = [{**person["phones"][0], "primary": False}, {**person["phones"][1], "primary": True}]
    found = await acme.recipients().by_ids(ListKind.PERSON, [person["id"]], needs=NOTHING)
    assert found[0].phones == ("+49 2", "+49 1")


async def test_persons_by_ids_keep_the_order_given_and_leave_out_unknown_ones(acme: Acme) -> None:
    ids = [
        seed_person(acme.pd, acme.company_id, f"Person {n}", phones=[f"+49 30 {n}"])["id"] for n in range(150)
    ]
    wanted = [ids[120], ids[3], 9999, ids[3], ids[70]]

    found = await acme.recipients().by_ids(ListKind.PERSON, wanted + ids, needs=NOTHING)

    assert [r.person_id for r in found][:3] == [ids[120], ids[3], ids[70]]
    assert sorted(r.person_id for r in found) == sorted(ids)  # each once; 9999 is nobody
    # 150 distinct known ids and one unknown: two calls of at most 100 ids
    assert acme.requests()["GET /v2/persons"] == 2


async def test_deals_by_filter_give_their_persons_once_per_deal(acme: Acme) -> None:
    deal_field = seed_custom_field(acme.pd, acme.company_id, "deal", "Delivery week", "varchar")
    office = seed_organization(acme.pd, acme.company_id, "Munich Office GmbH")
    maria = seed_person(acme.pd, acme.company_id, "Maria Muster", phones=["+49 89 1"])
    lou = seed_person(acme.pd, acme.company_id, "London Lou", phones=["+44 20 1"])
    chairs = seed_deal(
        acme.pd,
        acme.company_id,
        "Chairs",
        person_id=maria["id"],
        value=4800,
        org_id=office["id"],
        custom_fields={deal_field["key"]: "KW 12"},
    )
    seed_deal(acme.pd, acme.company_id, "Nobody's deal", value=10)
    desks = seed_deal(acme.pd, acme.company_id, "Desks", person_id=maria["id"], value=12500)
    lamps = seed_deal(acme.pd, acme.company_id, "Lamps", person_id=lou["id"], value=99.5, currency="GBP")
    seed_deal(acme.pd, acme.company_id, "Lost one", person_id=lou["id"], status="lost")
    open_deals = seed_filter(
        acme.pd,
        acme.company_id,
        "Open deals",
        "deals",
        [condition(acme.pd, acme.company_id, "deal", "status", "=", "open")],
    )["id"]

    found = await acme.recipients().by_filter(ListKind.DEAL, open_deals, needs=frozenset({"deal", "org"}))

    assert [(r.person_id, r.deal_id) for r in found] == [
        (maria["id"], chairs["id"]),
        (maria["id"], desks["id"]),
        (lou["id"], lamps["id"]),
    ]
    assert found[0].values["deal"] == {
        "title": "Chairs",
        "value": "4800",
        "currency": "EUR",
        "status": "open",
        "stage": "Qualified",
        "delivery_week": "KW 12",
    }
    assert found[2].values["deal"]["value"] == "99.5"
    assert found[0].values["org"]["name"] == "Munich Office GmbH"
    assert "org" not in found[1].values


async def test_deals_by_ids_in_the_order_given(acme: Acme) -> None:
    maria = seed_person(acme.pd, acme.company_id, "Maria Muster", phones=["+49 89 1"])
    first = seed_deal(acme.pd, acme.company_id, "First", person_id=maria["id"])
    second = seed_deal(acme.pd, acme.company_id, "Second", person_id=maria["id"])

    found = await acme.recipients().by_ids(ListKind.DEAL, [second["id"], 404, first["id"]], needs=NOTHING)

    assert [(r.person_id, r.deal_id) for r in found] == [
        (maria["id"], second["id"]),
        (maria["id"], first["id"]),
    ]
    assert "deal" not in found[0].values  # not asked for


async def test_a_large_person_filter_costs_a_few_pages(acme: Acme) -> None:
    total = 1203
    for n in range(total):
        seed_person(acme.pd, acme.company_id, f"Kunde {n}", phones=[f"+49 30 {n:06d}"])
    seed_person(acme.pd, acme.company_id, "Elsewhere", phones=["+1 415 555"])
    germany = people_filter(acme, "Customers in Germany", "phone", "LIKE '$%'", "+49")

    found = await acme.recipients().by_filter(ListKind.PERSON, germany, needs=frozenset({"org"}))

    assert len(found) == total and len({r.person_id for r in found}) == total
    requests = acme.requests()
    assert requests["GET /v2/persons"] == math.ceil(total / 500)
    assert sum(requests.values()) / total <= 0.05
    assert "GET /v2/organizations" not in requests  # nobody has an Organization


async def test_a_large_deal_filter_reads_persons_and_organizations_in_hundreds(acme: Acme) -> None:
    total = 640
    organizations = [seed_organization(acme.pd, acme.company_id, f"Org {n}")["id"] for n in range(150)]
    for n in range(total):
        person = seed_person(acme.pd, acme.company_id, f"Kunde {n}", phones=[f"+49 30 {n:06d}"])
        seed_deal(
            acme.pd, acme.company_id, f"Deal {n}", person_id=person["id"], org_id=organizations[n % 150]
        )
    open_deals = seed_filter(
        acme.pd,
        acme.company_id,
        "Open deals",
        "deals",
        [condition(acme.pd, acme.company_id, "deal", "status", "=", "open")],
    )["id"]

    found = await acme.recipients().by_filter(ListKind.DEAL, open_deals, needs=frozenset({"deal", "org"}))

    assert len(found) == total
    assert found[-1].values["org"]["name"] == f"Org {(total - 1) % 150}"
    requests = acme.requests()
    assert requests["GET /v2/deals"] == math.ceil(total / 500)
    assert requests["GET /v2/persons"] == math.ceil(total / 100)
    assert requests["GET /v2/organizations"] == math.ceil(150 / 100)
    assert sum(requests.values()) / total <= 0.05


async def test_an_unknown_or_foreign_filter_is_not_found(acme: Acme) -> None:
    private = people_filter(acme, "Bob's own", "name", "=", "x", user_id=acme.agent_id, visible_to="1")
    deals = seed_filter(
        acme.pd,
        acme.company_id,
        "Open deals",
        "deals",
        [condition(acme.pd, acme.company_id, "deal", "status", "=", "open")],
    )["id"]
    recipients = acme.recipients()
    for filter_id in (999, private, deals):
        with pytest.raises(NotFound):
            await recipients.by_filter(ListKind.PERSON, filter_id, needs=NOTHING)


async def test_unknown_placeholder_objects_and_bad_ids_are_refused(acme: Acme) -> None:
    recipients = acme.recipients()
    with pytest.raises(InvalidInput) as unknown:
        await recipients.by_ids(ListKind.PERSON, [1], needs=frozenset({"product"}))
    assert unknown.value.reason == "unknown_template_field"
    with pytest.raises(InvalidInput) as bad:
        await recipients.by_ids(ListKind.PERSON, [0], needs=NOTHING)
    assert bad.value.reason == "invalid_id"
    assert acme.requests() == {}


async def test_the_opt_out_field_is_created_once_and_set(acme: Acme) -> None:
    maria = seed_person(acme.pd, acme.company_id, "Maria Muster", phones=["+49 89 1"])
    lou = seed_person(acme.pd, acme.company_id, "London Lou", phones=["+44 20 1"])
    first = acme.recipients()

    await first.mark_opted_out(maria["id"], "2026-03-02")
    await first.mark_opted_out(maria["id"], "2026-03-02")
    await acme.recipients().mark_opted_out(lou["id"], "2026-03-05")  # a new reader finds the field

    fields = [
        f
        for f in acme.pd.company_data(acme.company_id).person_fields.values()
        if f["name"] == OPT_OUT_FIELD_NAME
    ]
    assert [(f["field_type"], f["is_custom"]) for f in fields] == [("date", True)]
    key = fields[0]["key"]
    assert maria["custom_fields"][key] == "2026-03-02"
    assert lou["custom_fields"][key] == "2026-03-05"
    requests = acme.requests()
    assert requests["POST /v2/personFields"] == 1
    assert requests["GET /v2/personFields"] == 2  # once per reader; the first kept the key

    # A Person's opt-out reads back as a placeholder value, so a campaign can skip them.
    found = await acme.recipients().by_ids(ListKind.PERSON, [maria["id"]], needs=NOTHING)
    assert found[0].values["person"]["whatsapp_opt_out"] == "2026-03-02"
    assert found[0].opted_out


async def test_an_opt_out_needs_a_date_and_a_person(acme: Acme) -> None:
    recipients = acme.recipients()
    for person_id, when, reason in (
        (1, "yesterday", "invalid_date"),
        (1, "2026-02-30", "invalid_date"),
        (0, "2026-03-02", "invalid_id"),
    ):
        with pytest.raises(InvalidInput) as refused:
            await recipients.mark_opted_out(person_id, when)
        assert refused.value.reason == reason
    assert acme.requests() == {}


async def test_a_deleted_opt_out_field_is_made_again(acme: Acme) -> None:
    maria = seed_person(acme.pd, acme.company_id, "Maria Muster", phones=["+49 89 1"])
    recipients = acme.recipients()
    await recipients.mark_opted_out(maria["id"], "2026-03-02")
    store = acme.pd.company_data(acme.company_id).person_fields
    for field in store.values():
        if field["name"] == OPT_OUT_FIELD_NAME:
            field["active"] = False

    await recipients.mark_opted_out(maria["id"], "2026-03-09")

    live = [f for f in store.values() if f["name"] == OPT_OUT_FIELD_NAME and f["active"]]
    assert len(live) == 1 and maria["custom_fields"][live[0]["key"]] == "2026-03-09"


async def test_recipients_for_uses_the_company_admin_client(acme: Acme) -> None:
    class Connector:
        def __init__(self) -> None:
            self.asked: list[int] = []

        async def for_company(self, company_id: int) -> PipedriveClient:
            self.asked.append(company_id)
            return acme.client

    connector = Connector()
    recipients = await recipients_for(connector, 42)
    assert connector.asked == [42]
    assert recipients.client is acme.client


async def test_owner_names_are_left_out_when_users_cannot_be_listed(acme: Acme) -> None:
    maria = seed_person(acme.pd, acme.company_id, "Maria Muster", phones=["+49 89 1"])
    token = acme.pd.token_for(acme.company_id, acme.admin_id, ["base", "contacts:read"])
    tokens = TokenSet(token, "refresh", datetime.now(UTC) + timedelta(days=1), frozenset(), SANDBOX)
    client = PipedriveClient(
        acme.http,  # the same sandbox, another installation's scopes
        StaticTokens(tokens),
        RateScope(token_key="reader", company_key=str(acme.company_id)),
    )
    found = await PipedriveRecipients(client).by_ids(ListKind.PERSON, [maria["id"]], needs=NOTHING)
    assert found[0].values["person"]["name"] == "Maria Muster"
    assert "owner" not in found[0].values["person"]
