"""Data rules the real Pipedrive enforces and WaPipe depends on."""

from __future__ import annotations

import re

import httpx
import pytest

from sandbox.pipedrive.seed import PHONE_FORMATS, seed_deal, seed_person
from tests.sandbox.pipedrive.conftest import World, make_client


async def test_person_id_is_read_only_on_v2_activities(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post("/api/v2/activities", json={"subject": "x", "person_id": world.person_a})
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    assert body["code"] == "ERR_BAD_REQUEST"
    assert "'person_id' is a read-only field" in body["error"]


@pytest.mark.parametrize(
    "payload",
    [
        {"name": "X", "owner_id": "1"},
        {"name": "X", "visible_to": "3"},
        {"name": "X", "phones": [{"value": "1", "primary": 1}]},
        {"name": "X", "unknown_field": 1},
        {"name": "X", "id": 5},
    ],
)
async def test_v2_rejects_loose_types_and_unknown_fields(
    client: httpx.AsyncClient, payload: dict[str, object]
) -> None:
    response = await client.post("/api/v2/persons", json=payload)
    assert response.status_code == 400
    assert response.json()["code"] == "ERR_BAD_REQUEST"


async def test_soft_delete_hides_from_lists_but_keeps_the_record(
    client: httpx.AsyncClient, world: World
) -> None:
    assert (await client.delete(f"/api/v2/persons/{world.person_a}")).json()["data"] == {"id": world.person_a}
    assert (await client.get(f"/api/v2/persons/{world.person_a}")).json()["data"]["is_deleted"] is True
    listed = (await client.get("/api/v2/persons")).json()["data"]
    assert world.person_a not in [p["id"] for p in listed]
    assert (await client.get("/api/v2/persons/search?term=Maria")).json()["data"]["items"] == []
    assert (await client.delete(f"/api/v2/persons/{world.person_a}")).status_code == 404


async def test_lead_rules(client: httpx.AsyncClient, world: World) -> None:
    no_link = await client.post("/api/v1/leads", json={"title": "L"})
    assert no_link.status_code == 400
    half_value = await client.post(
        "/api/v1/leads", json={"title": "L", "person_id": world.person_a, "value": {"amount": 5}}
    )
    assert half_value.status_code == 400
    created = await client.post("/api/v1/leads", json={"title": "L", "person_id": world.person_a})
    assert created.status_code == 201
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", created.json()["data"]["id"]
    )


async def test_activity_type_key_string_is_generated_and_unique(client: httpx.AsyncClient) -> None:
    first = await client.post(
        "/api/v1/activityTypes", json={"name": "WhatsApp chat", "icon_key": "bubble", "color": "25D366"}
    )
    second = await client.post("/api/v1/activityTypes", json={"name": "WhatsApp Chat", "icon_key": "bubble"})
    assert first.json()["data"]["key_string"] == "whatsapp_chat"
    assert second.json()["data"]["key_string"] == "whatsapp_chat_2"
    bad_icon = await client.post("/api/v1/activityTypes", json={"name": "x", "icon_key": "whatsapp"})
    bad_color = await client.post(
        "/api/v1/activityTypes", json={"name": "x", "icon_key": "bubble", "color": "#25D366"}
    )
    assert (bad_icon.status_code, bad_color.status_code) == (400, 400)
    activity = await client.post("/api/v2/activities", json={"type": "whatsapp_chat"})
    assert activity.json()["data"]["subject"] == "WhatsApp chat"


async def test_file_part_must_be_named_file(client: httpx.AsyncClient, world: World) -> None:
    wrong = await client.post(
        "/api/v1/files",
        files={"upload": ("a.jpg", b"x", "image/jpeg")},
        data={"person_id": str(world.person_a)},
    )
    assert wrong.status_code == 400
    assert "No files were provided with the request" in wrong.json()["error"]


async def test_file_list_limit_is_capped_at_100(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get(f"/api/v1/persons/{world.person_a}/files?limit=500")
    assert response.json()["additional_data"]["pagination"]["limit"] == 100


async def test_company_isolation(world: World) -> None:
    # Each company numbers its own records, as Pipedrive does: both companies' first Person is 1.
    assert (world.person_a, world.person_b) == (1, 1)
    only_in_b = seed_person(world.state, world.company_b, "Bea Globex")["id"]
    async with make_client(world, world.token()) as client:
        shared = (await client.get(f"/api/v2/persons/{world.person_b}")).json()["data"]
        assert shared["name"] == "Maria Muster"
        assert (await client.get(f"/api/v2/persons/{only_in_b}")).status_code == 404
        assert (await client.patch(f"/api/v2/persons/{only_in_b}", json={"name": "x"})).status_code == 404
        assert world.state.company_data(world.company_b).persons[only_in_b]["name"] == "Bea Globex"
        found = (await client.get("/api/v2/persons/search?term=Sam")).json()["data"]["items"]
        assert found == []
        me = (await client.get("/api/v1/users/me")).json()["data"]
        assert (me["company_id"], me["company_domain"]) == (world.company_a, "acme-sales")
        users = (await client.get("/api/v1/users")).json()["data"]
        assert {u["email"] for u in users} == {"anna@acme.test", "bernd@acme.test"}


async def records_created_by(world: World, user_id: int) -> dict[str, object]:
    """The ids the API hands out for one of everything, created with ``user_id``'s token."""
    async with make_client(world, world.token(user_id)) as client:

        async def new_id(method: str, path: str, **request: object) -> object:
            response = await client.request(method, path, **request)  # type: ignore[arg-type]
            assert response.status_code in (200, 201), (path, response.text)
            return response.json()["data"]["id"]

        person = await new_id("POST", "/api/v2/persons", json={"name": "Numbered"})
        deal = await new_id("POST", "/api/v2/deals", json={"title": "Numbered", "person_id": person})
        return {
            "person": person,
            "deal": deal,
            "activity": await new_id(
                "POST", "/api/v2/activities", json={"subject": "Call", "type": "call", "deal_id": deal}
            ),
            "note": await new_id("POST", "/api/v1/notes", json={"content": "n", "person_id": person}),
            "file": await new_id(
                "POST",
                "/api/v1/files",
                files={"file": ("a.pdf", b"%PDF", "application/pdf")},
                data={"person_id": str(person)},
            ),
            "activity_type": await new_id(
                "POST", "/api/v1/activityTypes", json={"name": "Chat", "icon_key": "bubble"}
            ),
            "field": await new_id(
                "POST", "/api/v1/personFields", json={"name": "Chat", "field_type": "varchar"}
            ),
            "webhook": await new_id(
                "POST",
                "/api/v1/webhooks",
                json={"subscription_url": "https://x.test/h", "event_action": "*", "event_object": "person"},
            ),
            "lead": await new_id("POST", "/api/v1/leads", json={"title": "L", "person_id": person}),
        }


async def test_records_are_numbered_per_company_and_leads_companies_users_across_the_sandbox(
    world: World,
) -> None:
    in_a = await records_created_by(world, world.admin_a)
    in_b = await records_created_by(world, world.admin_b)
    lead_a, lead_b = in_a.pop("lead"), in_b.pop("lead")
    # Both companies were seeded with one Person, so each company's next Person is 2.
    assert in_a["person"] == in_b["person"] == 2
    assert in_a == in_b
    assert lead_a != lead_b
    assert world.company_a != world.company_b
    assert len({world.admin_a, world.agent_a, world.admin_b}) == 3


async def test_activity_link_precedence_and_note_cap(client: httpx.AsyncClient, world: World) -> None:
    deal = seed_deal(world.state, world.company_a, "D", person_id=world.person_a)
    lead = (await client.post("/api/v1/leads", json={"title": "L", "person_id": world.person_a})).json()[
        "data"
    ]
    both = await client.post("/api/v2/activities", json={"deal_id": deal["id"], "lead_id": lead["id"]})
    assert both.json()["data"]["deal_id"] == deal["id"]
    assert "lead_id" not in both.json()["data"]
    big = await client.post("/api/v2/activities", json={"note": "x" * (100 * 1024 + 1)})
    assert big.status_code == 400


async def test_deal_defaults_to_first_stage_and_archived_deals_are_not_listed(
    client: httpx.AsyncClient, world: World
) -> None:
    created = (await client.post("/api/v2/deals", json={"title": "D", "person_id": world.person_a})).json()[
        "data"
    ]
    stages = (
        await client.get(f"/api/v2/stages?pipeline_id={created['pipeline_id']}&sort_by=order_nr")
    ).json()
    assert created["stage_id"] == stages["data"][0]["id"]
    seed_deal(world.state, world.company_a, "Old", person_id=world.person_a, is_archived=True)
    listed = (await client.get(f"/api/v2/deals?person_id={world.person_a}")).json()["data"]
    assert [d["title"] for d in listed] == ["D"]


async def test_search_phones_are_strings_and_punctuation_switch(
    client: httpx.AsyncClient, world: World
) -> None:
    for phone in PHONE_FORMATS[1:4]:
        seed_person(world.state, world.company_a, f"P {phone}", phones=[phone])
    hits = (await client.get("/api/v2/persons/search?term=63648018&fields=phone")).json()["data"]["items"]
    assert len(hits) == 4
    assert all(isinstance(p, str) for h in hits for p in h["item"]["phones"])
    assert all(0 < h["result_score"] <= 1 for h in hits)
    exact = await client.get("/api/v2/persons/search?term=%2B49 89 6364 8018&fields=phone&exact_match=true")
    assert [h["item"]["id"] for h in exact.json()["data"]["items"]] == [world.person_a]
    world.state.phone_search_ignores_punctuation = False
    raw = (await client.get("/api/v2/persons/search?term=63648018&fields=phone")).json()["data"]["items"]
    assert {h["item"]["phones"][0] for h in raw} == {"(089) 63648018", "8963648018"}
    short = await client.get("/api/v2/persons/search?term=6")
    assert short.status_code == 400


async def test_cursor_paging(client: httpx.AsyncClient, world: World) -> None:
    for index in range(4):
        seed_person(world.state, world.company_a, f"Bulk {index}")
    first = (await client.get("/api/v2/persons?limit=3")).json()
    cursor = first["additional_data"]["next_cursor"]
    second = (await client.get(f"/api/v2/persons?limit=3&cursor={cursor}")).json()
    assert len(first["data"]) + len(second["data"]) == 5
    assert "next_cursor" not in second["additional_data"]
    assert (await client.get("/api/v2/persons?limit=501")).status_code == 400


async def test_custom_field_keys_and_varchar_limit(client: httpx.AsyncClient, world: World) -> None:
    field = (
        await client.post("/api/v2/personFields", json={"field_name": "WA", "field_type": "varchar"})
    ).json()
    key = field["data"]["field_code"]
    assert re.fullmatch(r"[0-9a-f]{40}", key)
    too_long = await client.patch(
        f"/api/v2/persons/{world.person_a}", json={"custom_fields": {key: "x" * 256}}
    )
    assert too_long.status_code == 400
    ok = await client.patch(
        f"/api/v2/persons/{world.person_a}", json={"custom_fields": {key: "https://wa.me/1"}}
    )
    assert ok.json()["data"]["custom_fields"] == {key: "https://wa.me/1"}


async def test_webhooks_are_app_specific_and_removed_on_revoke(
    client: httpx.AsyncClient, world: World
) -> None:
    created = await client.post(
        "/api/v1/webhooks",
        json={
            "subscription_url": "https://x.test/h",
            "event_action": "*",
            "event_object": "person",
            "name": "w",
        },
    )
    assert created.status_code == 201
    assert created.json()["data"]["type"] == "application"
    world.state.revoke_user("sandbox", world.company_a, world.admin_a)
    assert world.state.company_data(world.company_a).webhooks == {}
