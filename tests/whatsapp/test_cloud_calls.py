"""Cloud API call webhooks (field ``calls``): one line per ended call, missed or answered with its duration,
in the contact's chat, from the contact or from the business."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from server.domain.errors import MalformedWebhook
from server.domain.message_kinds import Call
from server.domain.whatsapp import MessageReceived
from server.whatsapp.cloud_webhook import events_from_cloud_body

AT = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
CUSTOMER = "4915112345678"
BUSINESS = "4930123456789"


def calls(*items: dict[str, Any]) -> list[Any]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": BUSINESS, "phone_number_id": "106540352242922"},
        "calls": list(items),
    }
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "calls", "value": value}]}],
    }
    return events_from_cloud_body(json.dumps(body).encode(), received_at=AT)


def terminate(**fields: Any) -> dict[str, Any]:
    return {
        "id": "wacid.HBgLMTIxODU1NTI4MjgVAgARGCAyODRQIAFRoA",
        "from": CUSTOMER,
        "to": BUSINESS,
        "event": "terminate",
        "direction": "USER_INITIATED",
        "timestamp": "1765022400",
        **fields,
    }


def test_a_completed_call_is_answered_with_its_duration() -> None:
    call = terminate(status="COMPLETED", start_time="1765022275", end_time="1765022400", duration=125)
    [event] = calls(call)
    assert isinstance(event, MessageReceived)
    message = event.message
    assert message.details == Call(missed=False, duration_seconds=125)
    assert message.from_me is False and message.chat.e164 == "+" + CUSTOMER
    assert message.wa_message_id == "call:wacid.HBgLMTIxODU1NTI4MjgVAgARGCAyODRQIAFRoA"
    assert message.sent_at == datetime(2025, 12, 6, 11, 57, 55, tzinfo=UTC)  # when it started
    assert message.account_id == "106540352242922"  # the business number's phone number id


def test_a_call_without_times_is_dated_when_the_webhook_came() -> None:
    [event] = calls(terminate(timestamp=None, status="COMPLETED"))
    assert isinstance(event, MessageReceived) and event.message.sent_at == AT


@pytest.mark.parametrize("status", ["FAILED", "Failed", None])
def test_a_call_that_did_not_complete_is_missed(status: str | None) -> None:
    [event] = calls(terminate(status=status, duration=30))
    assert isinstance(event, MessageReceived) and event.message.details == Call(missed=True)


def test_a_call_the_business_made_is_from_me_in_the_contacts_chat() -> None:
    outgoing = terminate(
        **{"from": BUSINESS, "to": CUSTOMER}, direction="BUSINESS_INITIATED", status="COMPLETED", duration=5
    )
    [event] = calls(outgoing)
    assert isinstance(event, MessageReceived)
    assert event.message.from_me is True and event.message.chat.e164 == "+" + CUSTOMER
    assert event.message.sender.e164 == "+" + BUSINESS


def test_only_the_end_of_a_call_is_logged() -> None:
    assert calls(terminate(event="connect"), {"id": "wacid.x", "status": "RINGING"}) == []


def test_an_ended_call_without_an_id_is_refused_by_name() -> None:
    with pytest.raises(MalformedWebhook) as refused:
        calls(terminate(id=None))
    assert refused.value.reason == "invalid_call"
