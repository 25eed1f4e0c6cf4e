"""Edits, deletions by the sender and reactions as each transport reports them: WAHA's ``message.edited``,
``message.revoked`` and ``message.reaction`` (from the WAHA sandbox, checked against WAHA's OpenAPI
schemas) and the Cloud API's ``edit``, ``revoke`` and ``reaction`` messages, each parsed into one
``MessageChanged`` or ``Reacted``; bad shapes refused by name."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from server.domain.errors import MalformedWebhook
from server.domain.message_changes import ChangeKind, MessageChanged, Reacted
from server.whatsapp.cloud_webhook import events_from_cloud_body
from server.whatsapp.waha_webhook import events_from_envelope
from tests.whatsapp.waha_contract import _as_written, _with_gaps, raw_document
from tests.whatsapp.waha_sandbox_world import ACCOUNT, World, of_type, open_world

CUSTOMER = "4917612345678"
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PHONE_NUMBER_ID = "106540352242922"

# Like ``WAMessage`` (see ``waha_contract.DOCUMENT_GAPS``), the edit lists conditional fields as required.
EDIT_GAPS = ("source", "participant", "to", "mediaUrl", "media", "replyTo")


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async for opened in open_world():
        await opened.link()
        yield opened


def validator(schema: str) -> Draft202012Validator:
    document = _with_gaps(_as_written(raw_document()))  # WAMessage's documented gaps
    schemas = document["components"]["schemas"]
    edited = schemas["WAMessageEditedBody"]
    edited["required"] = [name for name in edited["required"] if name not in EDIT_GAPS]
    for name in EDIT_GAPS:
        edited["properties"][name] = {"anyOf": [{"type": "null"}, edited["properties"][name]]}
    revoked = schemas["WAMessageRevokedBody"]  # GOWS sends ``before: null`` (it keeps no copy to send)
    revoked["properties"]["before"] = {"anyOf": [{"type": "null"}, revoked["properties"]["before"]]}
    return Draft202012Validator(
        {"$ref": f"#/components/schemas/{schema}", "components": document["components"]}
    )


def envelope(event: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"event": event, "session": ACCOUNT, "timestamp": int(AT.timestamp() * 1000), "payload": payload}


# --- WAHA ---------------------------------------------------------------------------------------------------


async def test_the_sandbox_reports_an_edit_as_waha_does(world: World) -> None:
    sent = world.sim.receive(ACCOUNT, CUSTOMER, "Can you do 5 % off?")
    await world.events()
    world.sim.edit_message(ACCOUNT, sent.raw_id, "Can you do 10 % off?")
    events = await world.events()
    [delivery] = [json.loads(r.body) for r in world.receiver.requests if b'"message.edited"' in r.body]
    payload = delivery["payload"]
    assert list(validator("WAMessageEditedBody").iter_errors(payload)) == []
    assert payload["editedMessageId"] == sent.raw_id and payload["id"] != sent.id
    assert payload["body"] == "Can you do 10 % off?" and payload["fromMe"] is False
    [change] = of_type(events, MessageChanged)
    assert (change.target_id, change.target_from_me, change.kind, change.text) == (
        sent.raw_id,
        False,
        ChangeKind.EDITED,
        "Can you do 10 % off?",
    )
    assert change.target_key == f"{ACCOUNT}/in/{sent.raw_id}"
    assert change.at == world.now()  # the envelope's time


async def test_the_sandbox_reports_a_deletion_as_waha_does(world: World) -> None:
    mine = world.sim.type_on_phone(ACCOUNT, f"{CUSTOMER}@c.us", "wrong chat, sorry")
    await world.events()
    world.sim.revoke_message(ACCOUNT, mine.raw_id)
    events = await world.events()
    [delivery] = [json.loads(r.body) for r in world.receiver.requests if b'"message.revoked"' in r.body]
    payload = delivery["payload"]
    assert list(validator("WAMessageRevokedBody").iter_errors(payload)) == []
    assert payload["revokedMessageId"] == mine.raw_id and payload["before"] is None
    assert "wrong chat, sorry" not in json.dumps(delivery)
    [change] = of_type(events, MessageChanged)
    assert change.target_key == f"{ACCOUNT}/out/{mine.raw_id}" and change.kind is ChangeKind.REVOKED
    assert change.text is None
    assert change.at == world.now()  # the envelope's time


def test_a_group_admin_deleting_a_members_message_names_the_members_message() -> None:
    payload = {
        "revokedMessageId": "AAA111",
        "before": {"id": "false_120363@g.us_AAA111_4917612345678@c.us", "fromMe": False},
        "after": {"id": "true_120363@g.us_BBB222", "fromMe": True},
    }
    [change] = events_from_envelope(envelope("message.revoked", payload), received_at=AT)
    assert isinstance(change, MessageChanged)
    assert change.target_key == f"{ACCOUNT}/in/AAA111"


def test_a_serialized_edited_id_says_its_own_direction() -> None:
    payload = {
        "id": "true_4917612345678@c.us_EDIT1",
        "fromMe": True,
        "body": "fixed",
        "editedMessageId": "false_4917612345678@c.us_ORIG1",
    }
    [change] = events_from_envelope(envelope("message.edited", payload), received_at=AT)
    assert isinstance(change, MessageChanged) and change.target_key == f"{ACCOUNT}/in/ORIG1"


@pytest.mark.parametrize(
    ("event", "payload", "reason"),
    [
        ("message.edited", {"id": "false_4917612345678@c.us_E1", "body": "x"}, "missing_edited_message_id"),
        ("message.revoked", {"after": {"fromMe": True}}, "missing_revoked_message_id"),
        ("message.revoked", {"revokedMessageId": "A1"}, "missing_direction"),
        ("message.edited", {"editedMessageId": "not an id!", "fromMe": True}, "invalid_message_id"),
    ],
)
def test_waha_changes_that_name_no_message_are_refused_by_name(
    event: str, payload: dict[str, Any], reason: str
) -> None:
    with pytest.raises(MalformedWebhook) as refused:
        events_from_envelope(envelope(event, payload), received_at=AT)
    assert refused.value.reason == reason


# --- Cloud API -------------------------------------------------------------------------------------------


def cloud(message: dict[str, Any], *, echo: bool = False) -> bytes:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "4930123456789", "phone_number_id": PHONE_NUMBER_ID},
    }
    if echo:
        value["message_echoes"] = [{**message, "from": "4930123456789", "to": CUSTOMER}]
    else:
        value["contacts"] = [{"profile": {"name": "Maria"}, "wa_id": CUSTOMER}]
        value["messages"] = [{**message, "from": CUSTOMER}]
    field = "smb_message_echoes" if echo else "messages"
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": field, "value": value}]}],
    }
    return json.dumps(body).encode()


def test_a_customers_cloud_edit_and_caption_edit() -> None:
    text = {
        "id": "wamid.E1",
        "timestamp": "1772442000",
        "type": "edit",
        "edit": {"original_message_id": "wamid.O1", "message": {"type": "text", "text": {"body": "new"}}},
    }
    caption = {
        "id": "wamid.E2",
        "timestamp": "1772442000",
        "type": "edit",
        "edit": {"original_message_id": "wamid.O2", "message": {"type": "image", "image": {"caption": "c"}}},
    }
    events = events_from_cloud_body(cloud(text), received_at=AT) + events_from_cloud_body(
        cloud(caption), received_at=AT
    )
    assert events == [
        MessageChanged(PHONE_NUMBER_ID, "wamid.O1", False, ChangeKind.EDITED, AT, text="new"),
        MessageChanged(PHONE_NUMBER_ID, "wamid.O2", False, ChangeKind.EDITED, AT, text="c"),
    ]


def test_the_owners_cloud_deletion_from_the_business_app() -> None:
    revoke = {
        "id": "wamid.R1",
        "timestamp": "1772442000",
        "type": "revoke",
        "revoke": {"original_message_id": "wamid.O1"},
    }
    [change] = events_from_cloud_body(cloud(revoke, echo=True), received_at=AT)
    assert change == MessageChanged(PHONE_NUMBER_ID, "wamid.O1", True, ChangeKind.REVOKED, AT)
    assert change.target_key == f"{PHONE_NUMBER_ID}/out/wamid.O1"


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ({"id": "wamid.R", "type": "revoke", "revoke": {}}, "missing_original_message_id"),
        ({"id": "wamid.E", "type": "edit"}, "missing_original_message_id"),
        (
            {
                "id": "wamid.E",
                "type": "edit",
                "edit": {"original_message_id": "wamid.O", "message": {"type": "sticker"}},
            },
            "missing_edit_text",
        ),
    ],
)
def test_cloud_changes_that_name_no_message_or_text_are_refused_by_name(
    message: dict[str, Any], reason: str
) -> None:
    with pytest.raises(MalformedWebhook) as refused:
        events_from_cloud_body(cloud(message), received_at=AT)
    assert refused.value.reason == reason


# --- reactions ---------------------------------------------------------------------------------------------

# Like ``WAMessage``'s, ``WAMessageReaction``'s ``to`` and ``participant`` are null in 1:1 chats (GOWS) and
# ``source`` is sent on the gateway's own events about fromMe messages only.
REACTION_GAPS = ("to", "participant", "source")


def reaction_validator() -> Draft202012Validator:
    document = _with_gaps(_as_written(raw_document()))
    schema = document["components"]["schemas"]["WAMessageReaction"]
    schema["required"] = [name for name in schema["required"] if name not in REACTION_GAPS]
    for name in REACTION_GAPS:
        schema["properties"][name] = {"anyOf": [{"type": "null"}, schema["properties"][name]]}
    return Draft202012Validator(
        {"$ref": "#/components/schemas/WAMessageReaction", "components": document["components"]}
    )


async def test_the_sandbox_reports_reactions_and_their_removal_as_waha_does(world: World) -> None:
    sent = world.sim.receive(ACCOUNT, CUSTOMER, "Can you do 5 % off?")
    await world.events()
    world.sim.react(ACCOUNT, sent.raw_id, "👍")  # from the linked phone
    world.sim.react(ACCOUNT, sent.raw_id, "", sender=CUSTOMER)  # the customer takes theirs back
    events = await world.events()
    payloads = [
        json.loads(r.body)["payload"] for r in world.receiver.requests if b'"message.reaction"' in r.body
    ]
    for payload in payloads:
        assert list(reaction_validator().iter_errors(payload)) == []
    assert [p["reaction"] for p in payloads] == [
        {"text": "👍", "messageId": sent.id},
        {"text": "", "messageId": sent.id},
    ]
    mine, theirs = of_type(events, Reacted)
    assert (mine.target_id, mine.target_from_me, mine.reactor_key, mine.from_me, mine.emoji) == (
        sent.raw_id,
        False,
        "me",
        True,
        "👍",
    )
    assert (theirs.reactor_key, theirs.from_me, theirs.emoji) == (f"{CUSTOMER}@s.whatsapp.net", False, "")
    assert mine.target_keys() == (f"{ACCOUNT}/in/{sent.raw_id}",)
    assert mine.at == theirs.at == world.now()  # the envelope's time


def test_cloud_reactions_and_their_removal() -> None:
    add = {
        "id": "wamid.R1",
        "timestamp": "1772442000",
        "type": "reaction",
        "reaction": {"message_id": "wamid.O1", "emoji": "❤️"},
    }
    removal = {
        "id": "wamid.R2",
        "timestamp": "1772442060",
        "type": "reaction",
        "reaction": {"message_id": "wamid.O1"},
    }
    [added] = events_from_cloud_body(cloud(add), received_at=AT)
    [removed] = events_from_cloud_body(cloud(removal, echo=True), received_at=AT)
    assert isinstance(added, Reacted) and isinstance(removed, Reacted)
    assert (added.reactor_key, added.from_me, added.emoji, added.target_from_me) == (
        f"{CUSTOMER}@s.whatsapp.net",
        False,
        "❤️",
        None,
    )
    assert added.target_keys() == (f"{PHONE_NUMBER_ID}/in/wamid.O1", f"{PHONE_NUMBER_ID}/out/wamid.O1")
    assert (removed.reactor_key, removed.from_me, removed.emoji) == ("me", True, "")


@pytest.mark.parametrize(
    "payload",
    [{"reaction": {"text": "👍"}}, {"reaction": {"messageId": "false_4917612345678@c.us_A1"}}, {}],
)
def test_waha_reactions_naming_no_message_or_emoji_are_refused_by_name(payload: dict[str, Any]) -> None:
    with pytest.raises(MalformedWebhook) as refused:
        events_from_envelope(
            envelope("message.reaction", {"from": "4917612345678@c.us", **payload}), received_at=AT
        )
    assert refused.value.reason == "missing_reaction"


def test_a_cloud_reaction_naming_no_message_is_refused_by_name() -> None:
    with pytest.raises(MalformedWebhook) as refused:
        events_from_cloud_body(
            cloud({"id": "wamid.R", "type": "reaction", "reaction": {"emoji": "👍"}}), received_at=AT
        )
    assert refused.value.reason == "missing_reaction"


def test_a_waha_reaction_without_its_own_time_takes_the_envelopes() -> None:
    payload = {
        "from": f"{CUSTOMER}@c.us",
        "fromMe": False,
        "reaction": {"text": "👍", "messageId": f"false_{CUSTOMER}@c.us_A1"},
    }
    [reacted] = events_from_envelope(
        envelope("message.reaction", payload), received_at=datetime(2027, 1, 1, tzinfo=UTC)
    )
    assert isinstance(reacted, Reacted) and reacted.at == AT


def test_a_cloud_reaction_without_its_own_time_is_dated_when_the_webhook_came() -> None:
    raw = {"id": "wamid.R9", "type": "reaction", "reaction": {"message_id": "wamid.O1", "emoji": "👍"}}
    [reacted] = events_from_cloud_body(cloud(raw), received_at=AT)
    assert isinstance(reacted, Reacted) and reacted.at == AT
