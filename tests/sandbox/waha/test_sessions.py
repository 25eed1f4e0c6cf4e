"""Sessions: CRUD, the state machine and its `session.status` events, QR rotation, pairing, auth."""

from __future__ import annotations

import base64
import re

import httpx
import pytest

from sandbox.waha import SandboxState
from tests.qr_reader import qr_text
from tests.sandbox.waha.conftest import OWNER, Receiver, webhook_config


def statuses(receiver: Receiver) -> list[str]:
    return [p["status"] for p in receiver.payloads("session.status")]


async def test_every_api_route_needs_the_key(api: httpx.AsyncClient, linked: str, sim: SandboxState) -> None:
    message = sim.receive(linked, "5511987654321", "photo", kind="image")
    assert message.media is not None
    paths = [
        "/api/sessions",
        "/api/sessions/default",
        "/api/default/chats",
        f"/api/files/{message.media.name}",
    ]
    for path in paths:
        assert (await api.get(path, headers={"X-Api-Key": ""})).status_code == 401
        assert (await api.get(path, headers={"X-Api-Key": "wrong"})).status_code == 401
        assert (await api.get(path)).status_code == 200
    response = await api.post("/api/sendText", json={}, headers={"X-Api-Key": "nope"})
    assert response.json() == {"statusCode": 401, "message": "Unauthorized"}


async def test_hashed_server_key_is_accepted(sim: SandboxState) -> None:
    import hashlib

    from sandbox.waha import create_app

    app = create_app(sim, api_key="sha512:" + hashlib.sha512(b"plain").hexdigest())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://w") as client:
        assert (await client.get("/api/sessions", headers={"X-Api-Key": "plain"})).status_code == 200
        assert (await client.get("/api/sessions", headers={"X-Api-Key": "other"})).status_code == 401


async def test_create_start_scan_walks_the_state_machine(
    api: httpx.AsyncClient, sim: SandboxState, receiver: Receiver
) -> None:
    created = await api.post("/api/sessions", json={"name": "sales", "config": webhook_config()})
    assert created.status_code == 201
    assert created.json()["status"] == "STARTING"
    assert created.json()["engine"] == {"engine": "GOWS"}
    await sim.settle()
    assert (await api.get("/api/sessions/sales")).json()["status"] == "SCAN_QR_CODE"
    assert (await api.get("/api/sessions/sales/me")).json() is None
    sim.scan("sales", "+49 151 5550-1234", "Mia")
    await sim.settle()
    session = (await api.get("/api/sessions/sales")).json()
    assert session["status"] == "WORKING"
    own_lid = f"{sim.session('sales').own_lid}@lid"  # GOWS reports the device's own LID in `me`
    assert session["me"] == {"id": f"{OWNER}@c.us", "pushName": "Mia", "lid": own_lid}
    assert re.fullmatch(r"[0-9]{15}@lid", own_lid)
    assert (await api.get("/api/sessions/sales/me")).json() == session["me"]
    assert statuses(receiver) == ["STARTING", "SCAN_QR_CODE", "WORKING"]
    last = receiver.payloads("session.status")[-1]
    assert [s["status"] for s in last["statuses"]] == ["STOPPED", "STARTING", "SCAN_QR_CODE", "WORKING"][-3:]
    assert all(isinstance(s["timestamp"], int) and s["timestamp"] > 10**12 for s in last["statuses"])
    assert receiver.envelopes("session.status")[-1]["me"] == session["me"]


async def test_session_created_without_start_is_stopped_and_hidden_by_default(api: httpx.AsyncClient) -> None:
    await api.post("/api/sessions", json={"name": "idle", "start": False})
    assert (await api.get("/api/sessions")).json() == []
    listed = (await api.get("/api/sessions", params={"all": "true"})).json()
    assert [(s["name"], s["status"]) for s in listed] == [("idle", "STOPPED")]
    again = await api.post("/api/sessions", json={"name": "idle"})
    assert again.status_code == 422
    assert (await api.get("/api/sessions/ghost")).status_code == 404


async def test_qr_rotation_re_emits_scan_qr_code(
    api: httpx.AsyncClient, sim: SandboxState, receiver: Receiver
) -> None:
    await api.post("/api/sessions", json={"name": "default", "config": webhook_config()})
    await sim.settle()
    first = (await api.get("/api/default/auth/qr", params={"format": "raw"})).json()["value"]
    await sim.elapse(20)
    second = (await api.get("/api/default/auth/qr", params={"format": "raw"})).json()["value"]
    assert first != second
    assert statuses(receiver) == ["STARTING", "SCAN_QR_CODE", "SCAN_QR_CODE"]
    scan_stale = await api.post("/_sim/default/scan", json={"phone": OWNER, "qr": first})
    assert scan_stale.status_code == 409
    scan = await api.post("/_sim/default/scan", json={"phone": OWNER, "qr": second})
    assert scan.json()["status"] == "WORKING"


async def test_unscanned_qr_eventually_fails_when_limited(api: httpx.AsyncClient, receiver: Receiver) -> None:
    sim = api._transport.app.state.waha  # type: ignore[attr-defined]
    sim.qr_max_rotations = 2
    await api.post("/api/sessions", json={"name": "default", "config": webhook_config()})
    await sim.elapse(100)
    assert statuses(receiver) == ["STARTING", "SCAN_QR_CODE", "SCAN_QR_CODE", "SCAN_QR_CODE", "FAILED"]
    assert receiver.payloads("session.status")[-1]["data"] == {"reason": "QR code was not scanned in time"}


async def test_qr_formats(api: httpx.AsyncClient, sim: SandboxState) -> None:
    await api.post("/api/sessions", json={"name": "default", "start": False})
    refused = await api.get("/api/default/auth/qr")
    assert refused.status_code == 422
    assert refused.json()["expected"] == ["SCAN_QR_CODE"]
    await api.post("/api/sessions/default/start")
    await sim.settle()
    value = (await api.get("/api/default/auth/qr", params={"format": "raw"})).json()["value"]
    image = await api.get("/api/default/auth/qr", headers={"Accept": "image/png"})
    assert image.headers["content-type"] == "image/png"
    assert qr_text(image.content) == value
    as_json = (await api.get("/api/default/auth/qr", headers={"Accept": "application/json"})).json()
    assert as_json["mimetype"] == "image/png"
    assert base64.b64decode(as_json["data"]) == image.content


async def test_pairing_code_links_the_number(api: httpx.AsyncClient, sim: SandboxState) -> None:
    await api.post("/api/sessions", json={"name": "default"})
    await sim.settle()
    code = (await api.post("/api/default/auth/request-code", json={"phoneNumber": "12132132130"})).json()[
        "code"
    ]
    assert len(code.replace("-", "")) == 8
    assert (await api.post("/_sim/default/pair", json={"code": "WRONG-CODE"})).status_code == 409
    paired = await api.post("/_sim/default/pair", json={"code": code, "pushName": "Bob"})
    assert paired.json()["me"] == {
        "id": "12132132130@c.us",
        "pushName": "Bob",
        "lid": f"{sim.session('default').own_lid}@lid",
    }


async def test_stop_start_restart_logout_delete(
    api: httpx.AsyncClient, sim: SandboxState, linked: str, receiver: Receiver
) -> None:
    assert (await api.post("/api/sessions/default/stop")).json()["status"] == "STOPPED"
    assert (await api.post("/api/sessions/default/start")).json()["status"] == "STARTING"
    await sim.settle()
    assert (await api.get("/api/sessions/default")).json()["status"] == "WORKING"  # still linked
    assert (await api.post("/api/sessions/default/restart")).json()["status"] == "STARTING"
    await sim.settle()
    logout = await api.post("/api/sessions/default/logout")
    assert "me" not in logout.json()
    await sim.settle()
    assert (await api.get("/api/sessions/default")).json()["status"] == "SCAN_QR_CODE"
    stop_start = restart = ["STOPPED", "STARTING", "WORKING"]
    relink = ["STOPPED", "STARTING", "SCAN_QR_CODE"]
    assert statuses(receiver) == [*stop_start, *restart, *relink]
    assert (await api.post("/api/sessions/default/dance")).status_code == 404
    assert (await api.delete("/api/sessions/default")).status_code == 200
    assert (await api.get("/api/sessions/default")).status_code == 404


async def test_put_replaces_config_and_restarts(
    api: httpx.AsyncClient, sim: SandboxState, linked: str, receiver: Receiver
) -> None:
    config = webhook_config(events=["message"])
    updated = await api.put("/api/sessions/default", json={"config": config})
    assert updated.json()["config"] == config
    await sim.settle()
    assert (await api.get("/api/sessions/default")).json()["status"] == "WORKING"
    assert receiver.envelopes("session.status") == []  # the new webhook only wants `message`
    sim.receive("default", "5511987654321", "hello")
    await sim.settle()
    assert [e["event"] for e in receiver.envelopes()] == ["message"]


async def test_phone_side_logout_and_failure(
    api: httpx.AsyncClient, sim: SandboxState, linked: str, receiver: Receiver
) -> None:
    sim.fail("default", "stream error")
    await sim.settle()
    assert receiver.payloads("session.status")[-1] == {
        "status": "FAILED",
        "statuses": receiver.payloads("session.status")[-1]["statuses"],
        "data": {"reason": "stream error"},
    }
    await api.post("/api/sessions/default/restart")
    await sim.settle()
    assert (await api.get("/api/sessions/default")).json()["status"] == "WORKING"
    sim.phone_logout("default")
    await sim.settle()
    assert statuses(receiver)[-1] == "FAILED"
    assert (await api.get("/api/sessions/default/me")).json() is None
    await api.post("/api/sessions/default/start")
    await sim.settle()
    assert (await api.get("/api/sessions/default")).json()["status"] == "SCAN_QR_CODE"


async def test_bad_bodies_are_400(api: httpx.AsyncClient) -> None:
    assert (await api.post("/api/sessions", content=b"{not json")).status_code == 400
    assert (await api.post("/api/sessions", json=[1])).status_code == 400
    assert (await api.post("/api/sessions", json={"config": []})).status_code == 400
    assert (await api.post("/api/sessions", json={"config": {"webhooks": [{}]}})).status_code == 400


@pytest.mark.parametrize("phone", ["123", "not a phone"])
async def test_scan_refuses_non_numbers(api: httpx.AsyncClient, sim: SandboxState, phone: str) -> None:
    await api.post("/api/sessions", json={"name": "default"})
    await sim.settle()
    assert (await api.post("/_sim/default/scan", json={"phone": phone})).status_code == 400
