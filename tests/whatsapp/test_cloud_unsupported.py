"""Messages the Cloud API does not deliver (a GIF, view-once media, a poll, …) come as ``type:
"unsupported"``; each is logged as a line that says what it was and that only the phone shows it, never
dropped. The bodies mirror the fields of Meta's unsupported messages webhook reference."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from server.domain.whatsapp import MessageReceived
from server.whatsapp.cloud_webhook import events_from_cloud_body

PHONE_NUMBER_ID = "106540352242922"
CUSTOMER = "4917612345678"
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def unsupported(
    kind: str | None,
    code: int = 131051,
    title: str = "Message type unknown",
    phone_number_id: str = PHONE_NUMBER_ID,
) -> bytes:
    message: dict[str, Any] = {
        "from": CUSTOMER,
        "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=",
        "timestamp": "1772442000",
        "errors": [
            {
                "code": code,
                "title": title,
                "message": title,
                "error_data": {"details": "Message type is currently not supported."},
            }
        ],
        "type": "unsupported",
    }
    if kind is not None:
        message["unsupported"] = {"type": kind}
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
        "contacts": [{"profile": {"name": "Maria"}, "wa_id": CUSTOMER}],
        "messages": [message],
    }
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}],
    }
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("kind", "line"),
    [
        ("gif", "GIF: not delivered by the WhatsApp Cloud API (Message type unknown); open it on the phone"),
        (
            "poll_creation",
            "Poll: not delivered by the WhatsApp Cloud API (Message type unknown); open it on the phone",
        ),
        (
            "media_placeholder",
            "Message: not delivered by the WhatsApp Cloud API (Message type unknown); open it on the phone",
        ),
        (
            None,
            "Message: not delivered by the WhatsApp Cloud API (Message type unknown); open it on the phone",
        ),
    ],
)
def test_an_unsupported_message_is_logged_as_one_the_phone_shows(kind: str | None, line: str) -> None:
    [event] = events_from_cloud_body(unsupported(kind), received_at=AT)
    assert isinstance(event, MessageReceived)
    message = event.message
    assert message.text == line
    assert message.media is None and message.details is None
    assert message.wa_message_id.startswith("wamid.") and message.from_me is False
    assert message.chat.e164 == f"+{CUSTOMER}" and message.chat.display_name == "Maria"
    assert message.sent_at == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_first_message_not_yet_available_says_so() -> None:
    [event] = events_from_cloud_body(
        unsupported(None, code=131060, title="This message is currently unavailable."), received_at=AT
    )
    assert isinstance(event, MessageReceived)
    assert event.message.text == (
        "Message: not delivered by the WhatsApp Cloud API (This message is currently unavailable.); "
        "open it on the phone"
    )


def test_a_title_is_kept_as_plain_text() -> None:
    [event] = events_from_cloud_body(unsupported("gif", title="<script>alert(1)</script>"), received_at=AT)
    assert isinstance(event, MessageReceived)
    assert event.message.text == (
        "GIF: not delivered by the WhatsApp Cloud API (<script>alert(1)</script>); open it on the phone"
    )
