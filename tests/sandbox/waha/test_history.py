"""History, groups, exists-check, LIDs, media files and their lifetime, the offline gap."""

from __future__ import annotations

import httpx
import pytest

from sandbox.waha import SandboxState
from tests.sandbox.waha.conftest import ANA, Receiver

JONAS = "4915112345678"


async def test_history_is_there_right_after_linking(api: httpx.AsyncClient, linked: str) -> None:
    chats = (await api.get("/api/default/chats")).json()
    assert [c["name"] for c in chats] == ["Acme · Purchasing", "Jonas Weber", "Ana Souza"]
    assert chats[0]["isGroup"] is True and chats[0]["id"].endswith("@g.us")
    assert chats[0]["conversationTimestamp"] >= chats[1]["conversationTimestamp"]
    assert [
        c["name"] for c in (await api.get("/api/default/chats", params={"limit": 1, "offset": 1})).json()
    ] == ["Jonas Weber"]
    ascending = (await api.get("/api/default/chats", params={"sortOrder": "asc"})).json()
    assert ascending[0]["name"] == "Ana Souza"
    messages = (await api.get(f"/api/default/chats/{ANA}@c.us/messages")).json()
    assert len(messages) == 4
    assert [m["timestamp"] for m in messages] == sorted((m["timestamp"] for m in messages), reverse=True)
    assert [m["fromMe"] for m in messages] == [True, False, True, False]
    photo = messages[1]
    assert photo["hasMedia"] and photo["media"]["filename"] == "catalogo.png"


async def test_history_filters(api: httpx.AsyncClient, linked: str, sim: SandboxState) -> None:
    now = sim.clock.now_s()
    url = f"/api/default/chats/{ANA}@c.us/messages"
    assert len((await api.get(url, params={"filter.fromMe": "true"})).json()) == 2
    assert len((await api.get(url, params={"filter.fromMe": "false"})).json()) == 2
    recent = (await api.get(url, params={"filter.timestamp.gte": now - 31 * 3600})).json()
    assert [m["body"] for m in recent] == ["Perfeito, te mando o orçamento amanhã.", "Esse modelo aqui"]
    old = (await api.get(url, params={"filter.timestamp.lte": now - 46 * 3600})).json()
    assert len(old) == 2
    window = {"filter.timestamp.gte": now - 47 * 3600, "filter.timestamp.lte": now - 46 * 3600}
    assert len((await api.get(url, params=window)).json()) == 2
    assert len((await api.get(url, params={"filter.ack": 3})).json()) == 2
    paged = (await api.get(url, params={"limit": 2, "offset": 1})).json()
    assert [m["body"] for m in paged] == ["Esse modelo aqui", "Sim, entregamos em toda a região."]
    assert (await api.get(url, params={"limit": "x"})).status_code == 400
    every = (await api.get("/api/default/chats/all/messages")).json()
    assert len(every) == 4 + 2 + 3
    assert (await api.get("/api/default/chats/999@c.us/messages")).json() == []


async def test_download_media_flag(api: httpx.AsyncClient, linked: str, sim: SandboxState) -> None:
    url = f"/api/default/chats/{ANA}@c.us/messages"
    without = (await api.get(url, params={"downloadMedia": "false"})).json()[1]
    assert without["hasMedia"] is True and without["media"] is None
    with_media = (await api.get(url, params={"downloadMedia": "true"})).json()[1]
    file = await api.get(with_media["media"]["url"].removeprefix(sim.public_url))
    assert file.status_code == 200 and file.content.startswith(b"\x89PNG")
    single = await api.get(f"{url}/{with_media['id']}")
    assert single.json()["id"] == with_media["id"]
    assert (await api.get(f"{url}/nope")).status_code == 404


async def test_media_expires_after_the_lifetime(
    api: httpx.AsyncClient, linked: str, sim: SandboxState, receiver: Receiver
) -> None:
    sim.receive(linked, ANA, "", kind="document", filename="contract.pdf")
    await sim.settle()
    path = receiver.payloads("message")[0]["media"]["url"].removeprefix(sim.public_url)
    assert (await api.get(path)).status_code == 200
    await sim.elapse(179)
    assert (await api.get(path)).status_code == 200
    await sim.elapse(1)
    assert (await api.get(path)).status_code == 404
    again = (await api.get(f"/api/default/chats/{ANA}@c.us/messages", params={"limit": 1})).json()[0]
    assert (await api.get(again["media"]["url"].removeprefix(sim.public_url))).status_code == 200


async def test_media_lifetime_is_configurable(api: httpx.AsyncClient, linked: str, sim: SandboxState) -> None:
    sim.media.lifetime_seconds = 0
    message = sim.receive(linked, ANA, "", kind="image")
    await sim.elapse(10_000)
    assert message.media is not None
    assert (await api.get(f"/api/files/{message.media.name}")).status_code == 200
    sim.media.lifetime_seconds = 5
    second = sim.receive(linked, ANA, "", kind="image")
    await sim.elapse(5)
    assert second.media is not None
    assert (await api.get(f"/api/files/{second.media.name}")).status_code == 404
    sim.expire_media()
    assert (await api.get(f"/api/files/{message.media.name}")).status_code == 404


async def test_media_faults(api: httpx.AsyncClient, linked: str, sim: SandboxState) -> None:
    message = sim.receive(linked, ANA, "", kind="image")
    assert message.media is not None
    sim.faults(linked).media_status = 403
    assert (await api.get(f"/api/files/{message.media.name}")).status_code == 403
    sim.faults(linked).media_status = None
    sim.expire_media()
    sim.faults(linked).media_gone = True
    gone = (await api.get(f"/api/default/chats/{ANA}@c.us/messages", params={"limit": 1})).json()[0]
    assert gone["hasMedia"] is True
    assert "url" not in gone["media"] and gone["media"]["error"]


async def test_one_file_fails_on_its_own_then_is_served(
    api: httpx.AsyncClient, linked: str, sim: SandboxState
) -> None:
    failing = sim.receive(linked, ANA, "", kind="image").media
    working = sim.receive(linked, ANA, "", kind="document").media
    assert failing is not None and working is not None
    sim.faults(linked).media_failures[failing.name] = [503, 504]
    start = sim.clock.now_ms()
    assert (await api.get(f"/api/files/{failing.name}")).status_code == 503
    assert (await api.get(f"/api/files/{working.name}")).status_code == 200
    await sim.elapse(7)
    assert (await api.get(f"/api/files/{failing.name}")).status_code == 504
    served = await api.get(f"/api/files/{failing.name}")
    assert served.status_code == 200 and served.content == failing.data
    assert [(d.name, d.at_ms - start, d.status) for d in sim.media.downloads] == [
        (failing.name, 0, 503),
        (working.name, 0, 200),
        (failing.name, 7000, 504),
        (failing.name, 7000, 200),
    ]


async def test_groups(api: httpx.AsyncClient, linked: str) -> None:
    [group] = (await api.get("/api/default/groups")).json()
    assert group["Name"] == "Acme · Purchasing"
    assert {p["DisplayName"] for p in group["Participants"]} == {"Mia", "Ana Souza", "Jonas Weber", "Sam"}
    hidden = next(p for p in group["Participants"] if p["DisplayName"] == "Sam")
    assert hidden["JID"].endswith("@lid") and hidden["PhoneNumber"] == ""
    one = (await api.get(f"/api/default/groups/{group['JID']}")).json()
    assert one == group
    roles = (await api.get(f"/api/default/groups/{group['JID']}/participants/v2")).json()
    # GOWS's participants/v2: `id` as the group knows the member, `pn` its phone (null when hidden)
    assert {"id": "4915155501234@c.us", "pn": "4915155501234@c.us", "role": "admin"} in roles
    assert {"id": "254000825925805@lid", "role": "participant"} in roles  # the phone is hidden
    assert (await api.get("/api/default/groups/1@g.us")).status_code == 404


@pytest.mark.parametrize(
    ("typed", "chat_id"),
    [
        ("5511987654321", "5511987654321@c.us"),
        ("+55 21 99888-7777", "552198887777@c.us"),  # Brazilian account from before the ninth digit
        ("525512345678", "5215512345678@c.us"),  # Mexico: the account keeps the mobile 1
        ("541123456789", "5491123456789@c.us"),  # Argentina: the account keeps the mobile 9
        ("4930123456789", "4930123456789@c.us"),  # anyone else exists as typed
    ],
)
async def test_check_exists_variants(api: httpx.AsyncClient, linked: str, typed: str, chat_id: str) -> None:
    answer = (await api.get("/api/contacts/check-exists", params={"phone": typed, "session": linked})).json()
    assert answer == {"numberExists": True, "chatId": chat_id}


async def test_check_exists_unknown_numbers(api: httpx.AsyncClient, linked: str) -> None:
    await api.post("/_sim/directory", json={"phone": "4930111222333", "exists": False})
    answer = (
        await api.get("/api/contacts/check-exists", params={"phone": "4930111222333", "session": linked})
    ).json()
    assert answer == {"numberExists": False}
    short = (await api.get("/api/contacts/check-exists", params={"phone": "123", "session": linked})).json()
    assert short["numberExists"] is False
    assert (await api.get("/api/contacts/check-exists", params={"session": linked})).status_code == 400
    back = await api.post("/_sim/directory", json={"phone": "4930111222333"})
    assert back.json() == {"phone": "4930111222333", "exists": True}


async def test_lid_listing(api: httpx.AsyncClient, linked: str) -> None:
    known = (await api.get("/api/default/lids")).json()
    assert {"lid": "204918302117435@lid", "pn": f"{ANA}@c.us"} in known
    assert (await api.get("/api/default/lids/count")).json() == {"count": len(known)}
    assert (await api.get("/api/default/lids/254000825925805@lid")).json() == {
        "lid": "254000825925805@lid",
        "pn": None,
    }
    unknown = (await api.get("/api/default/lids/pn/4930999")).json()
    assert unknown == {"lid": None, "pn": "4930999@c.us"}


async def test_offline_gap_messages_only_in_history(
    api: httpx.AsyncClient, linked: str, sim: SandboxState, receiver: Receiver
) -> None:
    await api.post("/_sim/default/offline", json={"offline": True})
    lost = sim.receive(linked, JONAS, "while you were away")
    typed = sim.type_on_phone(linked, JONAS, "answered on the phone")
    await sim.elapse(10)
    assert receiver.payloads("message") == [] and receiver.payloads("message.ack") == []
    await api.post("/_sim/default/offline", json={"offline": False})
    await sim.settle()
    assert [p["status"] for p in receiver.payloads("session.status")] == ["STARTING", "WORKING"]
    since = receiver.payloads("session.status")[0]["statuses"][0]["timestamp"] // 1000 - 3600
    history = (
        await api.get(f"/api/default/chats/{JONAS}@c.us/messages", params={"filter.timestamp.gte": since})
    ).json()
    assert {m["id"] for m in history} == {lost.id, typed.id}
    sim.receive(linked, JONAS, "and now live")
    await sim.settle()
    assert [p["body"] for p in receiver.payloads("message")] == ["and now live"]


async def test_history_needs_a_working_session(api: httpx.AsyncClient, linked: str) -> None:
    await api.post("/api/sessions/default/stop")
    assert (await api.get("/api/default/chats")).status_code == 422
    assert (await api.get("/api/default/groups")).status_code == 422
