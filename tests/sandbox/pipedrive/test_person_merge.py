"""Merging and deleting Persons in the Pipedrive sandbox, as Pipedrive does it."""

from __future__ import annotations

import httpx
import pytest
from openapi_core import OpenAPI

from sandbox.pipedrive.seed import seed_deal, seed_person
from tests.sandbox.pipedrive.conftest import World, make_client, validate_contract


@pytest.fixture
async def pair(client: httpx.AsyncClient, world: World) -> dict[str, object]:
    """Survivor Maria (world.person_a) and a duplicate with its own activities, deal, lead, note, file."""
    duplicate = seed_person(
        world.state,
        world.company_a,
        "M. Muster",
        phones=["+4915112345678", "+49 89 6364 8018"],
        emails=["MARIA@x.test", "m.muster@y.test"],
    )["id"]
    other = seed_person(world.state, world.company_a, "Otto Other")["id"]
    alone = await client.post(
        "/api/v2/activities",
        json={"subject": "chat", "participants": [{"person_id": duplicate, "primary": True}]},
    )
    both = await client.post(
        "/api/v2/activities",
        json={
            "subject": "call",
            "participants": [
                {"person_id": world.person_a, "primary": False},
                {"person_id": duplicate, "primary": True},
                {"person_id": other, "primary": False},
            ],
        },
    )
    deal = seed_deal(world.state, world.company_a, "Duplicate's deal", person_id=duplicate)
    lead = await client.post("/api/v1/leads", json={"title": "Duplicate's lead", "person_id": duplicate})
    note = await client.post("/api/v1/notes", json={"content": "hello", "person_id": duplicate})
    upload = await client.post(
        "/api/v1/files",
        files={"file": ("voice.ogg", b"OggS", "audio/ogg")},
        data={"person_id": str(duplicate)},
    )
    return {
        "duplicate": duplicate,
        "other": other,
        "alone": alone.json()["data"]["id"],
        "both": both.json()["data"]["id"],
        "deal": deal["id"],
        "lead": lead.json()["data"]["id"],
        "note": note.json()["data"]["id"],
        "file": upload.json()["data"]["id"],
    }


async def test_merge_moves_everything_to_the_survivor_and_combines_phones_and_emails(
    client: httpx.AsyncClient, world: World, pair: dict[str, object], openapi_specs: dict[str, OpenAPI]
) -> None:
    survivor, duplicate = world.person_a, pair["duplicate"]
    usage = world.state.limiter.usage_for(world.company_a)
    spent_before = usage.tokens_used

    answer = await client.put(f"/api/v1/persons/{duplicate}/merge", json={"merge_with_id": survivor})

    assert answer.status_code == 200, answer.text
    validate_contract(openapi_specs, answer)
    assert usage.tokens_used - spent_before == 40
    item = answer.json()["data"]
    assert (item["id"], item["merge_what_id"], item["name"]) == (survivor, duplicate, "Maria Muster")
    assert [p["value"] for p in item["phone"]] == ["+49 89 6364 8018", "+4915112345678"]
    assert [p["primary"] for p in item["phone"]] == [True, False]
    assert [e["value"] for e in item["email"]] == ["maria@x.test", "m.muster@y.test"]
    assert (item["activities_count"], item["open_deals_count"], item["files_count"], item["notes_count"]) == (
        2,
        1,
        1,
        1,
    )

    person = (await client.get(f"/api/v2/persons/{survivor}")).json()["data"]
    assert [p["value"] for p in person["phones"]] == ["+49 89 6364 8018", "+4915112345678"]
    activities = (await client.get(f"/api/v2/activities?person_id={survivor}")).json()["data"]
    assert sorted(a["id"] for a in activities) == sorted([pair["alone"], pair["both"]])
    both = next(a for a in activities if a["id"] == pair["both"])
    assert both["participants"] == [
        {"person_id": survivor, "primary": True},
        {"person_id": pair["other"], "primary": False},
    ]
    alone = next(a for a in activities if a["id"] == pair["alone"])
    assert alone["person_id"] == survivor
    deals = (await client.get(f"/api/v2/deals?person_id={survivor}")).json()["data"]
    assert [d["id"] for d in deals] == [pair["deal"]]
    leads = (await client.get(f"/api/v1/leads?person_id={survivor}")).json()["data"]
    assert [lead["id"] for lead in leads] == [pair["lead"]]
    notes = (await client.get(f"/api/v1/notes?person_id={survivor}")).json()["data"]
    assert [n["id"] for n in notes] == [pair["note"]]
    files = (await client.get(f"/api/v1/persons/{survivor}/files")).json()["data"]
    assert [(f["id"], f["person_id"], f["person_name"]) for f in files] == [
        (pair["file"], survivor, "Maria Muster")
    ]
    assert (await client.get(f"/api/v2/activities?person_id={duplicate}")).json()["data"] == []


async def test_the_merged_person_answers_as_a_deleted_one_and_search_finds_only_the_survivor(
    client: httpx.AsyncClient, world: World, pair: dict[str, object]
) -> None:
    duplicate = pair["duplicate"]
    await client.put(f"/api/v1/persons/{duplicate}/merge", json={"merge_with_id": world.person_a})

    gone = await client.get(f"/api/v2/persons/{duplicate}")
    assert gone.status_code == 200
    assert gone.json()["data"]["is_deleted"] is True
    assert (await client.patch(f"/api/v2/persons/{duplicate}", json={"name": "X"})).status_code == 404
    assert (await client.delete(f"/api/v2/persons/{duplicate}")).status_code == 404
    listed = [p["id"] for p in (await client.get("/api/v2/persons")).json()["data"]]
    assert duplicate not in listed
    found = (await client.get("/api/v2/persons/search?term=4915112345678&fields=phone")).json()["data"]
    assert [hit["item"]["id"] for hit in found["items"]] == [world.person_a]
    again = await client.put(f"/api/v1/persons/{duplicate}/merge", json={"merge_with_id": world.person_a})
    assert again.status_code == 404


@pytest.mark.parametrize(
    ("path_id", "body", "status", "message"),
    [
        ("self", {"merge_with_id": "self"}, 400, "Cannot merge a person with itself"),
        ("self", {}, 400, "Invalid input: merge_with_id - This field is required"),
        ("self", {"merge_with_id": 999}, 404, "Person to merge with not found"),
        (999, {"merge_with_id": "self"}, 404, "Person not found"),
        ("self", {"merge_with_id": "two"}, 400, "Invalid input: merge_with_id - must be an integer"),
    ],
)
async def test_merge_refusals(
    client: httpx.AsyncClient,
    world: World,
    path_id: object,
    body: dict[str, object],
    status: int,
    message: str,
) -> None:
    own = world.person_a
    path = own if path_id == "self" else path_id
    sent = {k: (own if v == "self" else v) for k, v in body.items()}
    answer = await client.put(f"/api/v1/persons/{path}/merge", json=sent)
    assert answer.status_code == status
    assert answer.json()["success"] is False
    assert answer.json()["error"] == message


async def test_merge_needs_the_contacts_full_scope(world: World) -> None:
    duplicate = seed_person(world.state, world.company_a, "Dup")["id"]
    async with make_client(world, world.token(scopes=("base", "contacts:read"))) as reader:
        answer = await reader.put(
            f"/api/v1/persons/{duplicate}/merge", json={"merge_with_id": world.person_a}
        )
    assert answer.status_code == 403


async def test_a_deleted_persons_activities_stay_and_can_still_be_written(
    client: httpx.AsyncClient, world: World, pair: dict[str, object]
) -> None:
    duplicate = pair["duplicate"]
    assert (await client.delete(f"/api/v2/persons/{duplicate}")).status_code == 200

    activity = (await client.get(f"/api/v2/activities/{pair['alone']}")).json()["data"]
    assert activity["is_deleted"] is False
    assert activity["participants"] == [{"person_id": duplicate, "primary": True}]
    patched = await client.patch(f"/api/v2/activities/{pair['alone']}", json={"note": "<p>next message</p>"})
    assert patched.status_code == 200
    deal = (await client.get(f"/api/v2/deals/{pair['deal']}")).json()["data"]
    assert (deal["person_id"], deal["is_deleted"]) == (duplicate, False)

    new_activity = await client.post(
        "/api/v2/activities", json={"subject": "x", "participants": [{"person_id": duplicate}]}
    )
    assert new_activity.status_code == 400
    assert (
        await client.post("/api/v2/deals", json={"title": "d", "person_id": duplicate})
    ).status_code == 400
    note = await client.post("/api/v1/notes", json={"content": "x", "person_id": duplicate})
    assert (note.status_code, note.json()["error"]) == (404, "Person not found")
    upload = await client.post(
        "/api/v1/files", files={"file": ("a.txt", b"a", "text/plain")}, data={"person_id": str(duplicate)}
    )
    assert upload.status_code == 404
