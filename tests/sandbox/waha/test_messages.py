"""Sends, acks, inbound messages, LID senders and twins, phone-typed messages, send faults."""

from __future__ import annotations

import asyncio
import base64
import re

import httpx
import pytest

from sandbox.waha import SandboxState
from tests.sandbox.waha.conftest import ANA, OWNER, Receiver

JONAS = "4915112345678"


def acks(receiver: Receiver) -> list[int]:
    return [p["ack"] for p in receiver.payloads("message.ack")]


async def test_send_text_then_message_any_and_acks(
    api: httpx.AsyncClient, linked: str, sim: SandboxState, receiver: Receiver
) -> None:
    response = await api.post(
        "/api/sendText", json={"session": linked, "chatId": f"{ANA}@c.us", "text": "Olá"}
    )
    assert response.status_code == 201
    sent = response.json()
    assert re.fullmatch(rf"true_{ANA}@c\.us_3EB0[0-9A-F]{{18}}", sent["id"])
    assert (sent["fromMe"], sent["from"], sent["to"], sent["body"]) == (
        True,
        f"{ANA}@c.us",  # GOWS: `from` is the chat, also for our own messages
        None,
        "Olá",
    )
    assert (sent["ack"], sent["ackName"], sent["source"]) == (0, "PENDING", "api")
    await sim.settle()
    [any_payload] = receiver.payloads("message.any")
    assert any_payload["id"] == sent["id"] and any_payload["source"] == "api"
    assert receiver.payloads("message") == []  # `message` is for incoming messages only
    await sim.elapse(10)
    assert acks(receiver) == [1, 2, 3]
    assert [p["ackName"] for p in receiver.payloads("message.ack")] == ["SERVER", "DEVICE", "READ"]
    assert all(p["id"] == sent["id"] and p["fromMe"] for p in receiver.payloads("message.ack"))
    assert sim.outbox(linked)[0]["ack"] == 3


async def test_ack_schedule_uses_the_clock(linked: str, sim: SandboxState, receiver: Receiver) -> None:
    sim.type_on_phone(linked, ANA, "from the phone")
    await sim.elapse(1)
    assert acks(receiver) == [1]
    await sim.elapse(2)
    assert acks(receiver) == [1, 2]
    await sim.elapse(3)
    assert acks(receiver) == [1, 2, 3]
    assert receiver.payloads("message.any")[0]["source"] == "app"


async def test_acks_out_of_order(linked: str, sim: SandboxState, receiver: Receiver) -> None:
    sim.faults(linked).acks_out_of_order = True
    message = sim.type_on_phone(linked, ANA, "shuffled")
    await sim.elapse(10)
    assert acks(receiver) == [3, 2, 1]
    assert message.ack == 3  # the gateway's own record stays at the highest


async def test_ack_without_a_prior_message(
    api: httpx.AsyncClient, linked: str, receiver: Receiver, sim: SandboxState
) -> None:
    ghost = f"true_{ANA}@c.us_3EB0000000000000000000"
    assert (await api.post("/_sim/default/ack", json={"id": ghost, "ack": 3})).status_code == 200
    await sim.settle()
    [payload] = receiver.payloads("message.ack")
    assert (payload["id"], payload["ack"], payload["from"]) == (ghost, 3, f"{ANA}@c.us")
    assert (await api.post("/_sim/default/ack", json={"id": ghost, "ack": 9})).status_code == 400


@pytest.mark.parametrize(
    ("endpoint", "file", "kind", "acks_expected"),
    [
        ("sendImage", {"mimetype": "image/jpeg", "filename": "a.jpg"}, "image", [1, 2, 3]),
        ("sendFile", {"mimetype": "application/pdf", "filename": "quote.pdf"}, "document", [1, 2, 3]),
        ("sendVoice", {"mimetype": "audio/ogg; codecs=opus"}, "voice", [1, 2, 3, 4]),
        ("sendVideo", {"mimetype": "video/mp4", "filename": "v.mp4"}, "video", [1, 2, 3]),
    ],
)
async def test_send_media_with_base64(
    api: httpx.AsyncClient,
    linked: str,
    sim: SandboxState,
    receiver: Receiver,
    endpoint: str,
    file: dict[str, str],
    kind: str,
    acks_expected: list[int],
) -> None:
    content = b"\x01\x02 media bytes"
    body = {
        "session": linked,
        "chatId": ANA,
        "caption": "see",
        "file": {**file, "data": base64.b64encode(content).decode()},
    }
    sent = (await api.post(f"/api/{endpoint}", json=body)).json()
    assert sent["hasMedia"] is True and sent["body"] == "see"
    assert sent["media"]["mimetype"] == file["mimetype"]
    downloaded = await api.get(sent["media"]["url"].removeprefix(sim.public_url))
    assert downloaded.content == content
    [entry] = sim.outbox(linked)
    assert (entry["kind"], entry["size"], entry["text"]) == (kind, len(content), "see")
    await sim.elapse(20)
    assert acks(receiver) == acks_expected


async def test_send_file_by_url_is_downloaded(api: httpx.AsyncClient, linked: str, sim: SandboxState) -> None:
    def serve(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/missing.pdf":
            return httpx.Response(404)
        return httpx.Response(200, content=b"%PDF-remote", headers={"content-type": "application/pdf"})

    sim.webhooks.client = httpx.AsyncClient(transport=httpx.MockTransport(serve))
    body = {"session": linked, "chatId": ANA, "file": {"url": "http://files.test/q.pdf", "filename": "q.pdf"}}
    sent = (await api.post("/api/sendFile", json=body)).json()
    assert sent["media"]["mimetype"] == "application/pdf"
    assert sim.outbox(linked)[0]["file_url"] == "http://files.test/q.pdf"
    body["file"] = {"url": "http://files.test/missing.pdf"}
    failed = await api.post("/api/sendFile", json=body)
    assert failed.status_code == 500
    assert len(sim.outbox(linked)) == 1
    assert (await api.post("/api/sendFile", json={**body, "file": {"data": "***"}})).status_code == 400
    assert (await api.post("/api/sendFile", json={**body, "file": {}})).status_code == 400


async def test_send_validation_and_session_state(
    api: httpx.AsyncClient, linked: str, sim: SandboxState
) -> None:
    assert (await api.post("/api/sendText", json={"session": linked, "chatId": ANA})).status_code == 400
    assert (
        await api.post("/api/sendText", json={"session": "nope", "chatId": ANA, "text": "x"})
    ).status_code == 404
    missing_group = {"session": linked, "chatId": "999@g.us", "text": "x"}
    assert (await api.post("/api/sendText", json=missing_group)).status_code == 404
    await api.post("/api/sessions/default/stop")
    refused = await api.post("/api/sendText", json={"session": linked, "chatId": ANA, "text": "x"})
    assert refused.status_code == 422
    assert refused.json()["expected"] == ["WORKING"]


async def test_reply_to_is_carried(
    api: httpx.AsyncClient, linked: str, sim: SandboxState, receiver: Receiver
) -> None:
    incoming = sim.receive(linked, ANA, "Qual o preço?")
    sent = (
        await api.post(
            "/api/sendText", json={"session": linked, "chatId": ANA, "text": "R$ 10", "reply_to": incoming.id}
        )
    ).json()
    assert sent["replyTo"] == {
        "id": incoming.raw_id,
        "participant": f"{ANA}@c.us",
        "body": "Qual o preço?",
        "hasMedia": False,
    }
    assert sent["_data"]["Message"]["extendedTextMessage"]["contextInfo"]["stanzaID"] == incoming.raw_id
    reply = sim.receive(linked, ANA, "ok", reply_to=sent["id"])
    await sim.settle()
    assert receiver.payloads("message")[-1]["replyTo"]["id"] == reply.reply_to


@pytest.mark.parametrize("failure", ["500", "429"])
async def test_send_fails_after_delivery(
    api: httpx.AsyncClient, linked: str, sim: SandboxState, receiver: Receiver, failure: str
) -> None:
    sim.faults(linked).send_failures = [failure]
    response = await api.post("/api/sendText", json={"session": linked, "chatId": ANA, "text": "did it go?"})
    assert response.status_code == int(failure)
    await sim.settle()
    [entry] = sim.outbox(linked)
    assert entry["text"] == "did it go?"
    assert receiver.payloads("message.any")[0]["id"] == entry["message_id"]
    history = (await api.get(f"/api/default/chats/{ANA}@c.us/messages", params={"limit": 1})).json()
    assert history[0]["id"] == entry["message_id"]
    ok = await api.post("/api/sendText", json={"session": linked, "chatId": ANA, "text": "next"})
    assert ok.status_code == 201


async def test_send_times_out_after_delivery(api: httpx.AsyncClient, linked: str, sim: SandboxState) -> None:
    sim.faults(linked).send_failures = ["timeout"]
    sim.send_timeout_seconds = 0.05
    response = await api.post("/api/sendText", json={"session": linked, "chatId": ANA, "text": "slow"})
    assert response.status_code == 504
    sim.faults(linked).send_failures = ["timeout"]
    sim.send_timeout_seconds = 30
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(
            api.post("/api/sendText", json={"session": linked, "chatId": ANA, "text": "hang"}), 0.1
        )
    assert [e["text"] for e in sim.outbox(linked)] == ["slow", "hang"]


async def test_inbound_text_payload(linked: str, sim: SandboxState, receiver: Receiver) -> None:
    message = sim.receive(linked, f"+{ANA}", "Bom dia")
    await sim.settle()
    [payload] = receiver.payloads("message")
    assert receiver.payloads("message.any") == [payload]
    assert payload["id"] == f"false_{ANA}@c.us_{message.raw_id}"
    assert payload["timestamp"] == sim.clock.now_s()
    assert (payload["from"], payload["to"], payload["fromMe"], payload["participant"]) == (
        f"{ANA}@c.us",
        None,  # GOWS fills `to` only in groups (with the author)
        False,
        None,
    )
    assert (payload["body"], payload["hasMedia"], payload["media"], payload["replyTo"]) == (
        "Bom dia",
        False,
        None,
        None,
    )
    assert (payload["ack"], payload["ackName"]) == (2, "DEVICE")
    info = payload["_data"]["Info"]
    assert (info["Chat"], info["Sender"], info["AddressingMode"], info["PushName"]) == (
        f"{ANA}@s.whatsapp.net",
        f"{ANA}@s.whatsapp.net",
        "pn",
        "Ana Souza",
    )
    assert info["SenderAlt"].endswith("@lid")
    assert payload["_data"]["Message"] == {"conversation": "Bom dia"}


@pytest.mark.parametrize(
    ("kind", "mimetype"),
    [("image", "image/png"), ("document", "application/pdf"), ("voice", "audio/ogg; codecs=opus")],
)
async def test_inbound_media(
    api: httpx.AsyncClient, linked: str, sim: SandboxState, receiver: Receiver, kind: str, mimetype: str
) -> None:
    sim.receive(linked, ANA, "caption", kind=kind, filename="file.bin" if kind == "document" else None)
    await sim.settle()
    [payload] = receiver.payloads("message")
    assert payload["hasMedia"] is True
    assert payload["media"]["mimetype"] == mimetype
    assert payload["media"]["error"] is None
    assert payload["media"]["url"].startswith(f"{sim.public_url}/api/files/{payload['id']}.")
    assert (await api.get(payload["media"]["url"].removeprefix(sim.public_url))).status_code == 200
    engine_message = next(iter(payload["_data"]["Message"].values()))
    assert engine_message["mimetype"] == mimetype
    if kind == "voice":
        assert engine_message["PTT"] is True


async def test_inbound_with_given_bytes(api: httpx.AsyncClient, linked: str, sim: SandboxState) -> None:
    data = base64.b64encode(b"JPEGDATA").decode()
    body = {"from": ANA, "kind": "image", "data": data, "mimetype": "image/jpeg", "text": "pic"}
    payload = (await api.post("/_sim/default/inbound", json=body)).json()
    assert payload["media"]["url"].endswith(".jpeg")
    assert (await api.get(payload["media"]["url"].removeprefix(sim.public_url))).content == b"JPEGDATA"
    assert (await api.post("/_sim/default/inbound", json={**body, "kind": "hologram"})).status_code == 400


async def test_group_message_and_group_send_acks(
    api: httpx.AsyncClient, linked: str, sim: SandboxState, receiver: Receiver
) -> None:
    group = next(iter(sim.session(linked).groups))
    message = sim.receive(linked, JONAS, "Agenda?", group=group)
    await sim.settle()
    [payload] = receiver.payloads("message")
    assert payload["id"] == f"false_{group}_{message.raw_id}_{JONAS}@c.us"
    assert (payload["from"], payload["participant"]) == (group, f"{JONAS}@c.us")
    assert payload["_data"]["Info"]["IsGroup"] is True
    sent = (
        await api.post("/api/sendText", json={"session": linked, "chatId": group, "text": "Thursday"})
    ).json()
    assert sent["id"].endswith(f"_{OWNER}@c.us")
    await sim.elapse(10)
    group_acks = receiver.payloads("message.ack")
    assert group_acks[0]["participant"] is None
    # GOWS suffixes a group message id with the message's author (us), not with the reader;
    # the reader is in `participant`
    assert group_acks[1]["participant"] and group_acks[1]["participant"] != f"{OWNER}@c.us"
    assert {ack["id"] for ack in group_acks} == {sent["id"]}
    with pytest.raises(Exception, match="not found"):
        sim.receive(linked, JONAS, "x", group="000@g.us")


async def test_new_member_writes_in_a_group(linked: str, sim: SandboxState) -> None:
    group = next(iter(sim.session(linked).groups.values()))
    sim.receive(linked, "447911123456", "hi all", group=group.id)
    assert any(m.phone == "447911123456" for m in group.members)


async def test_lid_sender_and_learning_the_mapping(
    api: httpx.AsyncClient, linked: str, sim: SandboxState, receiver: Receiver
) -> None:
    message = sim.receive(linked, "+44 7700 900123", "hidden", as_lid=True, push_name="Kim")
    await sim.settle()
    [payload] = receiver.payloads("message")
    assert payload["from"].endswith("@lid") and payload["from"] == message.chat_id
    assert payload["_data"]["Info"]["AddressingMode"] == "lid"
    assert payload["_data"]["Info"]["SenderAlt"] == ""
    lid = payload["from"]
    assert (await api.get(f"/api/default/lids/{lid}")).json() == {"lid": lid, "pn": None}
    learned = await api.post("/_sim/default/lids", json={"lid": lid, "pn": "447700900123"})
    assert learned.json()["pn"] == "447700900123@c.us"
    assert (await api.get(f"/api/default/lids/{lid.replace('@', '%40')}")).json()["pn"] == "447700900123@c.us"
    assert (await api.get("/api/default/lids/pn/447700900123")).json() == {
        "lid": lid,
        "pn": "447700900123@c.us",
    }
    again = sim.receive(linked, lid, "now known")
    assert again.sender_alt == "447700900123@c.us"


async def test_group_member_with_lid_only(linked: str, sim: SandboxState, receiver: Receiver) -> None:
    group = next(iter(sim.session(linked).groups))
    sim.receive(linked, "254000825925805@lid", "still hidden", group=group)
    await sim.settle()
    [payload] = receiver.payloads("message")
    assert payload["participant"] == "254000825925805@lid"
    assert payload["id"].endswith("_254000825925805@lid")


async def test_lid_twins(linked: str, sim: SandboxState, receiver: Receiver) -> None:
    sim.faults(linked).lid_twins = True
    message = sim.receive(linked, ANA, "twin")
    await sim.settle()
    ids = [p["id"] for p in receiver.payloads("message")]
    assert ids == [f"false_{ANA}@c.us_{message.raw_id}", f"false_{message.sender_alt}_{message.raw_id}"]
    twin = receiver.payloads("message")[1]
    assert twin["from"].endswith("@lid") and twin["_data"]["Info"]["SenderAlt"] == f"{ANA}@s.whatsapp.net"
    assert len(receiver.payloads("message.any")) == 2


async def test_phone_typed_message_via_control(
    api: httpx.AsyncClient, linked: str, sim: SandboxState, receiver: Receiver
) -> None:
    payload = (await api.post("/_sim/default/phone-message", json={"chatId": ANA, "text": "typed"})).json()
    assert (payload["fromMe"], payload["source"], payload["from"]) == (True, "app", f"{ANA}@c.us")
    assert payload["_data"]["Info"]["RecipientAlt"] == f"{sim.contact_lids[ANA]}@lid"
    await sim.settle()
    assert receiver.payloads("message.any")[0]["source"] == "app"
    assert sim.outbox(linked) == []  # not an API send
