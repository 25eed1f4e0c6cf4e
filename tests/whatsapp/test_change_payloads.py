"""Edits, deletions and reactions come as their own WAHA events, never as ``message.any``: the sandbox sends
only ``message.edited`` / ``message.revoked`` / ``message.reaction`` for them (as GOWS does), and a
``message.any`` whose raw message is such a change (as NOWEB may send) is not logged as a message."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from server.domain.message_changes import MessageChanged, Reacted
from server.domain.whatsapp import MessageReceived
from server.whatsapp.waha_webhook import events_from_envelope
from tests.whatsapp.waha_sandbox_world import ACCOUNT, World, of_type, open_world

CUSTOMER = "4917612345678"
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async for opened in open_world():
        await opened.link()
        yield opened


def _events_sent(world: World, since: int) -> list[str]:
    return [json.loads(r.body)["event"] for r in world.receiver.requests[since:]]


async def test_the_sandbox_sends_changes_only_as_their_own_events(world: World) -> None:
    sent = world.sim.receive(ACCOUNT, CUSTOMER, "Can you do 5 % off?")
    mine = world.sim.type_on_phone(ACCOUNT, f"{CUSTOMER}@c.us", "Let me check")
    await world.events()
    start = len(world.receiver.requests)
    world.sim.edit_message(ACCOUNT, sent.raw_id, "Can you do 10 % off?")
    world.sim.react(ACCOUNT, sent.raw_id, "👍")
    world.sim.react(ACCOUNT, mine.raw_id, "🙏", sender=CUSTOMER)
    world.sim.revoke_message(ACCOUNT, mine.raw_id)
    events = await world.events()
    assert _events_sent(world, start) == [
        "message.edited",
        "message.reaction",
        "message.reaction",
        "message.revoked",
    ]
    assert of_type(events, MessageReceived) == []
    assert len(of_type(events, MessageChanged)) == 2 and len(of_type(events, Reacted)) == 2


def _any(data: dict[str, Any], **fields: Any) -> dict[str, Any]:
    payload = {
        "id": f"false_{CUSTOMER}@c.us_3EB0CHANGE",
        "timestamp": int(AT.timestamp()),
        "from": f"{CUSTOMER}@c.us",
        "fromMe": False,
        "body": None,
        "hasMedia": False,
        "_data": data,
        **fields,
    }
    return {
        "event": "message.any",
        "session": ACCOUNT,
        "timestamp": int(AT.timestamp() * 1000),
        "payload": payload,
    }


GOWS_EDIT = {
    "Info": {"ID": "3EB0CHANGE", "Chat": f"{CUSTOMER}@s.whatsapp.net", "IsFromMe": False, "Edit": "1"},
    "Message": {
        "protocolMessage": {
            "key": {"remoteJID": f"{CUSTOMER}@s.whatsapp.net", "fromMe": False, "ID": "3EB0ORIG"},
            "type": 14,
            "editedMessage": {"conversation": "Can you do 10 % off?"},
        }
    },
}
NOWEB_REVOKE = {
    "key": {"remoteJid": f"{CUSTOMER}@s.whatsapp.net", "fromMe": False, "id": "3EB0CHANGE"},
    "message": {"protocolMessage": {"key": {"id": "3EB0ORIG", "fromMe": False}, "type": "REVOKE"}},
}
NOWEB_EDIT_WRAPPED = {
    "key": {"remoteJid": f"{CUSTOMER}@s.whatsapp.net", "fromMe": False, "id": "3EB0CHANGE"},
    "message": {"editedMessage": {"message": {"protocolMessage": {"type": "MESSAGE_EDIT"}}}},
}
GOWS_REACTION = {"Message": {"reactionMessage": {"key": {"ID": "3EB0ORIG"}, "text": "👍"}}}
GOWS_VOTE = {"Message": {"pollUpdateMessage": {"pollCreationMessageKey": {"ID": "3EB0POLL"}}}}


@pytest.mark.parametrize(
    ("data", "body"),
    [
        (GOWS_EDIT, "Can you do 10 % off?"),
        (NOWEB_REVOKE, None),
        (NOWEB_EDIT_WRAPPED, ""),
        (GOWS_REACTION, "👍"),
        (GOWS_VOTE, None),
    ],
)
def test_a_change_in_message_any_is_not_logged_as_a_message(data: dict[str, Any], body: str | None) -> None:
    assert events_from_envelope(_any(data, body=body), received_at=AT) == []


def test_an_ordinary_message_with_raw_data_is_still_a_message() -> None:
    data = {"Info": {"ID": "3EB0CHANGE"}, "Message": {"conversation": "Can you do 10 % off?"}}
    [received] = events_from_envelope(_any(data, body="Can you do 10 % off?"), received_at=AT)
    assert isinstance(received, MessageReceived)
    assert received.message.text == "Can you do 10 % off?" and received.message.wa_message_id == "3EB0CHANGE"


GROUP = "120363041234567890@g.us"
ME = "4915112345678"
MEMBER = "4917699887766"


def _gows_revoke(*, revoker_is_me: bool, key: dict[str, Any], me: bool = True) -> dict[str, Any]:
    """A GOWS ``message.revoked``: ``before: null``, the revocation as ``after`` with the raw event."""
    raw = {
        "Info": {"Chat": GROUP, "IsFromMe": revoker_is_me, "IsGroup": True, "Edit": "8"},
        "Message": {"protocolMessage": {"key": key, "type": 0}},
    }
    after = {"id": f"{str(revoker_is_me).lower()}_{GROUP}_3EB0REVOKE", "fromMe": revoker_is_me, "_data": raw}
    envelope: dict[str, Any] = {
        "event": "message.revoked",
        "session": ACCOUNT,
        "timestamp": int(AT.timestamp() * 1000),
        "payload": {"revokedMessageId": "3EB0GONE", "before": None, "after": after, "_data": raw},
    }
    if me:
        envelope["me"] = {"id": f"{ME}@c.us", "lid": "140000000000001@lid", "pushName": "Anna"}
    return envelope


@pytest.mark.parametrize(
    ("revoker_is_me", "key", "ours"),
    [
        # a contact deletes their own message in a 1:1 chat or a group
        (False, {"remoteJID": GROUP, "fromMe": True, "ID": "3EB0GONE"}, False),
        # the linked phone deletes its own message
        (True, {"remoteJID": GROUP, "fromMe": True, "ID": "3EB0GONE"}, True),
        # the linked phone, a group admin, deletes a member's message
        (
            True,
            {
                "remoteJID": GROUP,
                "fromMe": False,
                "ID": "3EB0GONE",
                "participant": f"{MEMBER}@s.whatsapp.net",
            },
            False,
        ),
        # another admin deletes the linked phone's message (named by number or by LID)
        (
            False,
            {"remoteJID": GROUP, "fromMe": False, "ID": "3EB0GONE", "participant": f"{ME}@s.whatsapp.net"},
            True,
        ),
        (
            False,
            {"remoteJID": GROUP, "fromMe": False, "ID": "3EB0GONE", "participant": "140000000000001@lid"},
            True,
        ),
        # another admin deletes a third member's message
        (
            False,
            {
                "remoteJID": GROUP,
                "fromMe": False,
                "ID": "3EB0GONE",
                "participant": f"{MEMBER}@s.whatsapp.net",
            },
            False,
        ),
    ],
)
def test_a_gows_deletion_names_the_deleted_messages_own_direction(
    revoker_is_me: bool, key: dict[str, Any], ours: bool
) -> None:
    [change] = events_from_envelope(_gows_revoke(revoker_is_me=revoker_is_me, key=key), received_at=AT)
    assert isinstance(change, MessageChanged)
    assert change.target_key == f"{ACCOUNT}/{'out' if ours else 'in'}/3EB0GONE"


def test_without_its_own_number_an_admins_deletion_falls_back_to_the_revokers_direction() -> None:
    key = {"remoteJID": GROUP, "fromMe": False, "ID": "3EB0GONE", "participant": f"{ME}@s.whatsapp.net"}
    [change] = events_from_envelope(_gows_revoke(revoker_is_me=False, key=key, me=False), received_at=AT)
    assert isinstance(change, MessageChanged) and change.target_key == f"{ACCOUNT}/in/3EB0GONE"


async def test_the_sandbox_keys_a_deletion_from_the_deleting_senders_side(world: World) -> None:
    theirs = world.sim.receive(ACCOUNT, CUSTOMER, "wrong number")
    mine = world.sim.type_on_phone(ACCOUNT, f"{CUSTOMER}@c.us", "sorry, wrong chat")
    await world.events()
    start = len(world.receiver.requests)
    world.sim.revoke_message(ACCOUNT, theirs.raw_id)
    world.sim.revoke_message(ACCOUNT, mine.raw_id)
    events = await world.events()
    keys = [
        json.loads(r.body)["payload"]["_data"]["Message"]["protocolMessage"]["key"]
        for r in world.receiver.requests[start:]
    ]
    assert [k["fromMe"] for k in keys] == [True, True]  # each deleted by its own sender
    assert [c.target_key for c in of_type(events, MessageChanged)] == [
        f"{ACCOUNT}/in/{theirs.raw_id}",
        f"{ACCOUNT}/out/{mine.raw_id}",
    ]
