"""Locations, shared contacts and calls from the `/_sim` controls, in WAHA's shapes: `location` with decimal
strings and `vCards` in the message payload (whatsmeow's raw message in `_data`), `CallData` in call events.
The payloads are checked against WAHA's OpenAPI document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.waha import SandboxState
from tests.sandbox.waha.conftest import ANA, Receiver

SCHEMAS = json.loads(Path("vendor/openapi/waha/openapi.json").read_text())["components"]["schemas"]


def documented_fields(schema: str) -> set[str]:
    return set(SCHEMAS[schema]["properties"])


async def test_a_shared_location_arrives_as_waha_reports_it(
    api: httpx.AsyncClient, linked: str, sim: SandboxState, receiver: Receiver
) -> None:
    body = {
        "from": ANA,
        "kind": "location",
        "latitude": 48.210033,
        "longitude": 16.363449,
        "title": "Café Central",
    }
    answer = await api.post(f"/_sim/{linked}/inbound", json=body)
    assert answer.status_code == 201, answer.text
    await sim.settle()
    [payload] = receiver.payloads("message")
    assert payload["body"] == "" and payload["hasMedia"] is False and payload["vCards"] == []
    assert payload["location"] == {
        "latitude": "48.210033",
        "longitude": "16.363449",
        "live": False,
        "name": "Café Central",
    }
    assert set(payload["location"]) <= documented_fields("WALocation")
    assert set(SCHEMAS["WALocation"]["required"]) <= set(payload["location"])
    raw = payload["_data"]["Message"]["locationMessage"]
    assert raw == {"degreesLatitude": 48.210033, "degreesLongitude": 16.363449, "name": "Café Central"}


async def test_shared_contacts_arrive_as_vcards(
    api: httpx.AsyncClient, linked: str, sim: SandboxState, receiver: Receiver
) -> None:
    contacts = [
        {"name": "Max Mustermann", "phone": "+49 170 1234567"},
        {"vcard": "BEGIN:VCARD\nFN:Eva\nEND:VCARD"},
    ]
    answer = await api.post(
        f"/_sim/{linked}/phone-message",
        json={"chatId": f"{ANA}@c.us", "kind": "contact", "contacts": contacts},
    )
    assert answer.status_code == 201, answer.text
    await sim.settle()
    [payload] = receiver.payloads("message.any")
    assert payload["fromMe"] is True and payload["source"] == "app" and payload["body"] == ""
    max_card, eva = payload["vCards"]
    assert "FN:Max Mustermann\n" in max_card and "waid=491701234567:+49 170 1234567" in max_card
    assert eva == "BEGIN:VCARD\nFN:Eva\nEND:VCARD"
    raw = payload["_data"]["Message"]["contactsArrayMessage"]["contacts"]
    assert [c["displayName"] for c in raw] == ["Max Mustermann", "Eva"]
    assert "location" not in payload


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"kind": "location", "latitude": 91, "longitude": 0}, "'latitude' must lie between -90 and 90"),
        ({"kind": "location", "latitude": "x", "longitude": 0}, "'latitude' must be a number"),
        ({"kind": "location", "latitude": 1}, "'longitude' must be a number"),
        ({"kind": "contact", "contacts": []}, "'contacts' must be a non-empty list"),
        (
            {"kind": "contact", "contacts": [{"name": "No phone"}]},
            "each contact needs a 'vcard', or a 'name'",
        ),
    ],
)
async def test_unusable_locations_and_contacts_are_refused(
    api: httpx.AsyncClient, linked: str, body: dict[str, Any], message: str
) -> None:
    answer = await api.post(f"/_sim/{linked}/inbound", json={"from": ANA, **body})
    assert answer.status_code == 400 and message in answer.text


@pytest.mark.parametrize(
    ("outcome", "events"),
    [
        ("missed", ["call.received"]),
        ("accepted", ["call.received", "call.accepted"]),
        ("rejected", ["call.received", "call.rejected"]),
    ],
)
async def test_a_call_sends_waha_call_events(
    api: httpx.AsyncClient,
    linked: str,
    sim: SandboxState,
    receiver: Receiver,
    outcome: str,
    events: list[str],
) -> None:
    answer = await api.post(f"/_sim/{linked}/call", json={"from": ANA, "video": True, "outcome": outcome})
    assert answer.status_code == 201
    await sim.settle()
    sent = [e for e in receiver.envelopes() if e["event"].startswith("call.")]
    assert [e["event"] for e in sent] == events
    payloads = [e["payload"] for e in sent]
    assert all(p == payloads[0] for p in payloads)  # one call, one id
    call = payloads[0]
    assert call["id"] == answer.json()["id"] and call["from"] == f"{ANA}@c.us" and call["isVideo"] is True
    assert set(SCHEMAS["CallData"]["required"]) <= set(call) <= documented_fields("CallData")


async def test_a_call_with_an_unknown_outcome_is_refused(api: httpx.AsyncClient, linked: str) -> None:
    answer = await api.post(f"/_sim/{linked}/call", json={"from": ANA, "outcome": "voicemail"})
    assert answer.status_code == 400 and "'outcome' must be one of missed, accepted, rejected" in answer.text


async def test_stickers_gifs_and_view_once_media_in_wahas_shapes(
    api: httpx.AsyncClient, linked: str, sim: SandboxState, receiver: Receiver
) -> None:
    for body in ({"kind": "sticker"}, {"kind": "gif"}, {"kind": "image", "viewOnce": True, "text": "once"}):
        answer = await api.post(f"/_sim/{linked}/inbound", json={"from": ANA, **body})
        assert answer.status_code == 201, answer.text
    await sim.settle()
    sticker, gif, once = receiver.payloads("message")
    assert sticker["media"]["mimetype"] == "image/webp" and "url" in sticker["media"]
    assert sticker["_data"]["Message"]["stickerMessage"]["mimetype"] == "image/webp"
    assert (
        gif["media"]["mimetype"] == "video/mp4"
        and gif["_data"]["Message"]["videoMessage"]["gifPlayback"] is True
    )
    assert once["hasMedia"] is True and "url" not in once["media"] and once["media"]["error"]
    assert (
        once["_data"]["IsViewOnce"] is True and once["_data"]["Message"]["imageMessage"]["viewOnce"] is True
    )
    assert once["body"] == "once" and "IsViewOnce" not in sticker["_data"]


async def test_only_photos_videos_and_voice_notes_are_sent_to_be_viewed_once(
    api: httpx.AsyncClient, linked: str
) -> None:
    answer = await api.post(
        f"/_sim/{linked}/inbound", json={"from": ANA, "kind": "document", "viewOnce": True}
    )
    assert answer.status_code == 400 and "only a photo, a video or a voice note" in answer.text


async def test_a_poll_and_its_votes_in_wahas_shapes(
    api: httpx.AsyncClient, linked: str, sim: SandboxState, receiver: Receiver
) -> None:
    poll = {"name": "Which day?", "options": ["Mon", "Tue"], "multipleAnswers": False}
    asked = await api.post(
        f"/_sim/{linked}/phone-message", json={"chatId": f"{ANA}@c.us", "kind": "poll", "poll": poll}
    )
    assert asked.status_code == 201, asked.text
    poll_id = asked.json()["id"]
    raw = asked.json()["_data"]["Message"]["pollCreationMessageV3"]
    assert raw == {
        "name": "Which day?",
        "options": [{"optionName": "Mon"}, {"optionName": "Tue"}],
        "selectableOptionsCount": 1,
    }
    voted = await api.post(f"/_sim/{linked}/vote", json={"poll": poll_id, "options": ["Tue"], "from": ANA})
    assert voted.status_code == 201, voted.text
    await sim.settle()
    [payload] = receiver.payloads("poll.vote")
    assert set(SCHEMAS["PollVotePayload"]["required"]) <= set(payload) <= documented_fields("PollVotePayload")
    vote = payload["vote"]
    assert set(SCHEMAS["PollVote"]["required"]) <= set(vote) <= documented_fields("PollVote")
    assert vote["selectedOptions"] == ["Tue"] and vote["fromMe"] is False and vote["from"] == f"{ANA}@c.us"
    assert vote["id"].startswith(f"false_{ANA}@c.us_") and payload["poll"]["id"] == poll_id
    assert set(SCHEMAS["MessageDestination"]["required"]) <= set(payload["poll"])


@pytest.mark.parametrize(
    ("vote", "status", "message"),
    [
        ({"options": ["Sun"]}, 400, "the poll has no option 'Sun'"),
        ({"options": ["Mon", "Tue"]}, 400, "the poll takes one answer"),
        ({"options": "Mon"}, 400, "'options' must list the chosen answers"),
        ({"options": ["Mon"], "poll": "nope"}, 404, "poll nope not found"),
    ],
)
async def test_votes_the_poll_cannot_take_are_refused(
    api: httpx.AsyncClient, linked: str, vote: dict[str, Any], status: int, message: str
) -> None:
    poll = {"name": "Which day?", "options": ["Mon", "Tue"]}
    asked = await api.post(f"/_sim/{linked}/inbound", json={"from": ANA, "kind": "poll", "poll": poll})
    answer = await api.post(f"/_sim/{linked}/vote", json={"poll": asked.json()["id"], **vote})
    assert answer.status_code == status and message in answer.text


async def test_a_poll_needs_a_question_and_two_to_twelve_answers(api: httpx.AsyncClient, linked: str) -> None:
    for poll, message in (
        ({"options": ["a", "b"]}, "'poll' needs a 'name'"),
        ({"name": "Q", "options": ["a"]}, "'poll.options' must list 2 to 12 answers"),
    ):
        answer = await api.post(f"/_sim/{linked}/inbound", json={"from": ANA, "kind": "poll", "poll": poll})
        assert answer.status_code == 400 and message in answer.text
