"""The `/_sim/{session}/edit`, `/revoke` and `/react` controls: each emits WAHA's event for the message it
names (bare or serialized id), changes the gateway's copy, and refuses bad input by name."""

from __future__ import annotations

import httpx

from sandbox.waha import SandboxState
from tests.sandbox.waha.conftest import ANA, Receiver


async def sent_by_ana(api: httpx.AsyncClient, sim: SandboxState, receiver: Receiver) -> dict[str, str]:
    answer = await api.post("/_sim/default/inbound", json={"from": ANA, "text": "Can you do 5 % off?"})
    assert answer.status_code == 201, answer.text
    await sim.settle()
    receiver.clear()
    message = sim.session("default").find_message(answer.json()["id"])
    assert message is not None
    return {"id": message.id, "raw": message.raw_id}


def emitted(receiver: Receiver, event: str) -> list[dict[str, object]]:
    return [r.envelope["payload"] for r in receiver.requests if r.envelope["event"] == event]


async def test_edit_revoke_and_react_over_http(
    api: httpx.AsyncClient, linked: str, sim: SandboxState, receiver: Receiver
) -> None:
    message = await sent_by_ana(api, sim, receiver)
    edited = await api.post("/_sim/default/edit", json={"id": message["raw"], "text": "Can you do 10 % off?"})
    assert edited.status_code == 200 and edited.json()["editedMessageId"] == message["raw"]
    reacted = await api.post("/_sim/default/react", json={"id": message["id"], "reaction": "👍"})
    assert reacted.status_code == 200 and reacted.json()["fromMe"] is True
    theirs = await api.post("/_sim/default/react", json={"id": message["id"], "reaction": "", "from": ANA})
    assert theirs.status_code == 200 and theirs.json()["fromMe"] is False
    revoked = await api.post("/_sim/default/revoke", json={"id": message["id"]})
    assert revoked.status_code == 200 and revoked.json()["revokedMessageId"] == message["raw"]
    await sim.settle()
    [edit] = emitted(receiver, "message.edited")
    assert edit["body"] == "Can you do 10 % off?" and edit["editedMessageId"] == message["raw"]
    assert [r["reaction"] for r in emitted(receiver, "message.reaction")] == [  # type: ignore[index]
        {"text": "👍", "messageId": message["id"]},
        {"text": "", "messageId": message["id"]},
    ]
    [revoke] = emitted(receiver, "message.revoked")
    assert revoke["revokedMessageId"] == message["raw"]
    assert revoke["before"] is None  # as GOWS: no copy of the deleted message is sent
    assert revoke["_data"]["Message"]["protocolMessage"]["key"]["ID"] == message["raw"]  # type: ignore[index]
    stored = sim.session("default").find_message(message["id"])
    assert stored is not None and stored.body == ""  # the phone shows it deleted
    history = await api.get("/api/default/chats/all/messages", params={"limit": 10})
    [listed] = [m for m in history.json() if m["id"] == message["id"]]
    assert listed["body"] == "Can you do 5 % off?"  # the gateway's store keeps it as first sent


async def test_the_controls_refuse_what_names_no_message_or_change(
    api: httpx.AsyncClient, linked: str, sim: SandboxState, receiver: Receiver
) -> None:
    message = await sent_by_ana(api, sim, receiver)
    refused = {
        "/_sim/default/edit": [({"id": "NOPE", "text": "x"}, 404), ({"id": message["id"]}, 400)],
        "/_sim/default/revoke": [({}, 400), ({"id": "NOPE"}, 404)],
        "/_sim/default/react": [
            ({"id": message["id"]}, 400),
            ({"id": message["id"], "reaction": "👍", "from": 5}, 400),
        ],
    }
    for url, cases in refused.items():
        for body, status in cases:
            answer = await api.post(url, json=body)
            assert answer.status_code == status, (url, body, answer.text)
    await sim.settle()
    assert receiver.requests == []


async def test_the_phone_page_offers_reply_react_edit_and_delete(api: httpx.AsyncClient) -> None:
    script = (await api.get("/_sim/static/phone.js")).text
    for call in ('control + "/react"', 'control + "/edit"', 'control + "/revoke"', "replyTo: replyTo"):
        assert call in script, call
