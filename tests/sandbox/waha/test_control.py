"""The `/_sim` controls and the simulated phone page's JSON."""

from __future__ import annotations

import httpx

from sandbox.waha import SandboxState, create_app
from tests.sandbox.waha.conftest import ANA, OWNER, Receiver


async def test_clock_settle_and_reset(
    api: httpx.AsyncClient, linked: str, sim: SandboxState, receiver: Receiver
) -> None:
    start = (await api.get("/_sim/clock")).json()["now"]
    sim.type_on_phone(linked, ANA, "tick")
    scheduled = (await api.get("/_sim/clock")).json()["scheduled"]
    assert scheduled.count("ack") == 3
    moved = (await api.post("/_sim/clock", json={"advance": 10})).json()
    assert moved["now"] == start + 10_000
    assert [p["ack"] for p in receiver.payloads("message.ack")] == [1, 2, 3]
    assert (await api.post("/_sim/clock", json={"set": start + 60_000})).json()["now"] == start + 60_000
    assert (await api.post("/_sim/settle")).json() == {"settled": True}
    assert (await api.post("/_sim/reset")).json() == {"reset": True}
    assert (await api.get("/api/sessions", params={"all": "true"})).json() == []
    assert (await api.get("/_sim/clock")).json()["now"] == start
    assert sim.deliveries == [] and sim.events == []


async def test_reset_forgets_the_files_downloaded(
    api: httpx.AsyncClient, linked: str, sim: SandboxState
) -> None:
    media = sim.receive(linked, ANA, "", kind="image").media
    assert media is not None
    assert (await api.get(f"/api/files/{media.name}")).status_code == 200
    assert len(sim.media.downloads) == 1
    await api.post("/_sim/reset")
    assert sim.media.downloads == [] and sim.media.files == {}
    assert (await api.get(f"/api/files/{media.name}")).status_code == 404


async def test_same_seed_same_ids(api: httpx.AsyncClient, sim: SandboxState) -> None:
    async def run() -> list[str]:
        await api.post("/api/sessions", json={"name": "default"})
        await sim.settle()
        sim.scan("default", OWNER)
        return [sim.receive("default", ANA, "x").id, sim.events[0].envelope["id"]]

    first = await run()
    await api.post("/_sim/reset")
    assert await run() == first


async def test_deliveries_and_events_endpoints(
    api: httpx.AsyncClient, linked: str, sim: SandboxState
) -> None:
    sim.receive(linked, ANA, "logged")
    await sim.settle()
    found = (await api.get("/_sim/deliveries", params={"session": "default", "event": "message"})).json()
    assert len(found) == 1
    assert found[0]["ok"] and found[0]["status"] == 200 and found[0]["attempt"] == 1
    assert found[0]["envelope"]["payload"]["body"] == "logged"
    assert found[0]["eventId"] == found[0]["envelope"]["id"]
    events = (await api.get("/_sim/events", params={"session": "default"})).json()
    assert [e["event"] for e in events][-2:] == ["message", "message.any"]


async def test_faults_endpoint(api: httpx.AsyncClient, linked: str, sim: SandboxState) -> None:
    current = (await api.get("/_sim/default/faults")).json()
    assert current["duplicate_deliveries"] == 0 and current["send_failures"] == []
    updated = await api.post(
        "/_sim/default/faults", json={"lid_twins": True, "send_failures": ["timeout", "500"]}
    )
    assert updated.json()["lid_twins"] is True
    assert sim.faults(linked).send_failures == ["timeout", "500"]
    assert (await api.post("/_sim/default/faults", json={"explode": True})).status_code == 400
    assert (await api.post("/_sim/default/faults", json={"send_failures": ["boom"]})).status_code == 400
    failing = await api.post("/_sim/default/faults", json={"media_failures": {"m.png": [503, 504]}})
    assert failing.json()["media_failures"] == {"m.png": [503, 504]}
    for wrong in ({"m.png": [200]}, {"m.png": 503}, ["m.png"], {"m.png": ["503"]}):
        refused = await api.post("/_sim/default/faults", json={"media_failures": wrong})
        assert refused.status_code == 400 and "media_failures" in refused.text


async def test_session_fault_controls(
    api: httpx.AsyncClient, linked: str, sim: SandboxState, receiver: Receiver
) -> None:
    assert (await api.post("/_sim/default/fail", json={"reason": "stream"})).json()["status"] == "FAILED"
    assert (await api.post("/_sim/default/start")).json()["status"] == "STARTING"
    await sim.settle()
    assert (await api.post("/_sim/default/phone-logout")).json()["status"] == "FAILED"
    assert (await api.get("/api/sessions/default/me")).json() is None
    offline = await api.post("/_sim/default/offline", json={"offline": True})
    assert offline.json() == {"offline": True}
    await sim.settle()
    statuses = [p["status"] for p in receiver.payloads("session.status")]
    assert statuses == ["FAILED", "STARTING", "WORKING", "FAILED"]


async def test_control_start_creates_a_missing_session(api: httpx.AsyncClient, sim: SandboxState) -> None:
    assert (await api.post("/_sim/fresh/start")).json() == {"name": "fresh", "status": "STARTING"}
    await sim.settle()
    assert sim.session("fresh").status == "SCAN_QR_CODE"
    assert (await api.post("/_sim/ghost/scan", json={"phone": OWNER})).status_code == 404
    assert (await api.post("/_sim/fresh/pair", json={"code": "AAAA-BBBB"})).status_code == 409
    assert (await api.post("/_sim/media/expire")).json() == {"expired": True}


async def test_outbox_endpoint(api: httpx.AsyncClient, linked: str, sim: SandboxState) -> None:
    await api.post("/api/sendText", json={"session": linked, "chatId": ANA, "text": "hello"})
    await sim.elapse(10)
    [entry] = (await api.get("/_sim/default/outbox")).json()
    assert (entry["chat_id"], entry["text"], entry["kind"], entry["ackName"]) == (
        f"{ANA}@c.us",
        "hello",
        "text",
        "READ",
    )


async def test_phone_page_and_state(api: httpx.AsyncClient, sim: SandboxState) -> None:
    page = await api.get("/_sim/phone/default", headers={"X-Api-Key": ""})
    assert page.status_code == 200
    assert 'data-session="default"' in page.text and "/_sim/static/phone.js" in page.text
    escaped = await api.get("/_sim/phone/%3Cb%3E")
    assert "<b>" not in escaped.text and "&lt;b&gt;" in escaped.text
    assert (await api.get("/_sim/static/phone.js")).status_code == 200
    assert (await api.get("/_sim/static/phone.css")).status_code == 200
    assert (await api.get("/", follow_redirects=False)).headers["location"] == "/_sim/phone/default"
    missing = (await api.get("/_sim/phone/default/state.json")).json()
    assert missing["session"] == {"name": "default", "exists": False, "status": "MISSING", "me": None}
    await api.post("/_sim/default/start")
    await sim.settle()
    showing = (await api.get("/_sim/phone/default/state.json")).json()
    assert showing["qr"]["value"] == sim.session("default").qr_value
    image = await api.get(showing["qr"]["image"])
    assert image.headers["content-type"] == "image/png"
    await api.post(
        "/_sim/default/scan", json={"phone": OWNER, "pushName": "Mia", "qr": showing["qr"]["value"]}
    )
    await api.post(
        "/_sim/default/inbound", json={"from": "+44 7700 900555", "name": "<script>x</script>", "text": "hi"}
    )
    state = (await api.get("/_sim/phone/default/state.json")).json()
    assert state["session"]["me"]["id"] == f"{OWNER}@c.us" and state["session"]["me"]["pushName"] == "Mia"
    assert state["qr"] is None
    newest = state["chats"][0]
    assert newest["name"] == "<script>x</script>" and newest["messages"][-1]["author"] == "<script>x</script>"
    photo = next(m for c in state["chats"] for m in c["messages"] if m["kind"] == "image")
    assert (await api.get(photo["media"]["url"])).content.startswith(b"\x89PNG")
    assert (await api.get("/_sim/phone/default/media/nope")).status_code == 404
    hidden = next(m for c in state["chats"] for m in c["messages"] if m["body"] == "Works for me")
    assert hidden["author"] == "Sam"
    await sim.elapse(1)
    await api.post("/_sim/default/inbound", json={"from": "998877665544332@lid", "text": "who am I"})
    state = (await api.get("/_sim/phone/default/state.json")).json()
    assert state["chats"][0]["messages"][-1]["author"] == "~998877… (number hidden)"
    assert len(state["customers"]) >= 5 and state["groups"][0]["subject"] == "Acme · Purchasing"


async def test_the_phone_offers_the_people_it_was_given_first_and_keeps_them_through_a_reset() -> None:
    """The demo gives the phone its Persons in Pipedrive: listed first under "Who writes" (each number
    once: a customer of the phone's own with the same number gives way), on WhatsApp, and named so."""
    sim = SandboxState(contacts=[("Munich Contact 1", "+49 89 6364 8018"), ("Mobile Max", "+4915112345678")])
    app = create_app(sim, api_key="k")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://waha.test") as api:
        for _ in range(2):
            state = (await api.get("/_sim/phone/default/state.json")).json()
            assert state["contacts"] == [
                {"name": "Munich Contact 1", "phone": "498963648018"},
                {"name": "Mobile Max", "phone": "4915112345678"},
            ]
            assert "4915112345678" not in [c["phone"] for c in state["customers"]]  # Jonas Weber's number
            assert [c["name"] for c in state["customers"]][:2] == ["Ana Souza", "Carlos Méndez"]
            assert sim.check_exists("+49 89 6364 8018") == "498963648018"
            assert sim.contact_names["498963648018"] == "Munich Contact 1"
            assert sim.contact_names["4915112345678"] == "Jonas Weber"  # WhatsApp's name for the number
            sim.accounts.clear()
            sim.reset()
    assert SandboxState().contacts == ()
    plain = (await _phone_state(SandboxState()))["contacts"]
    assert plain == []


async def _phone_state(sim: SandboxState) -> dict[str, object]:
    app = create_app(sim, api_key="k")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://waha.test") as api:
        state: dict[str, object] = (await api.get("/_sim/phone/default/state.json")).json()
        return state
