"""Numbers in signed webhook deliveries that no time or id can be: a delivery is never left pending, and is
kept with a named reason when it cannot be used. Bodies are written by hand (numbers spelled exactly) and
signed here with ``hmac``, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from server.jobs import inbound
from server.settings import Settings
from server.storage.tables import InboundEvent, table_of
from tests.web.conftest import running_app

HMAC_KEY = "test-waha-hmac-key"
APP_SECRET = "test-cloud-app-secret"
HUGE = "1" + "0" * 3999  # 4,000 digits: Python reads it, no clock or column holds it


@pytest.fixture
async def app_client(
    make_settings: Callable[..., Settings], migrated_database_url: str
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    settings = make_settings(
        database_url=migrated_database_url, waha_webhook_hmac_key=HMAC_KEY, cloud_app_secret=APP_SECRET
    )
    async with running_app(settings) as pair:
        yield pair


def waha_headers(body: bytes) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "x-webhook-hmac": hmac.new(HMAC_KEY.encode(), body, hashlib.sha512).hexdigest(),
        "x-webhook-hmac-algorithm": "sha512",
        "x-webhook-timestamp": str(int(time.time() * 1000)),
    }


def cloud_headers(body: bytes) -> dict[str, str]:
    digest = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"content-type": "application/json", "x-hub-signature-256": f"sha256={digest}"}


def waha_body(envelope_timestamp: str, event: str = "message.any", payload: str = "") -> bytes:
    payload = payload or '{"id":"false_4917655501234@c.us_3EB0NUMBERS","timestamp":1772366395,"body":"hi"}'
    return (
        f'{{"id":"evt_numbers","timestamp":{envelope_timestamp},"event":"{event}",'
        f'"session":"wp-unknown","payload":{payload}}}'
    ).encode()


async def delivered(
    app: Starlette, client: httpx.AsyncClient, path: str, body: bytes, headers: dict[str, str]
) -> dict[str, Any]:
    """Post one delivery, run the jobs it caused; its stored row."""
    response = await client.post(path, content=body, headers=headers)
    assert response.status_code in (200, 400), response.text
    await app.state.resources.queue.drain()
    table = table_of(InboundEvent)
    async with app.state.resources.engine.connect() as connection:
        [row] = (await connection.execute(select(table))).mappings().all()
    return dict(row)


async def test_an_envelope_timestamp_of_4000_digits_is_kept_with_its_reason(
    app_client: tuple[Starlette, httpx.AsyncClient],
) -> None:
    app, client = app_client
    body = waha_body(HUGE)
    row = await delivered(app, client, "/webhooks/waha", body, waha_headers(body))
    assert (row["state"], row["reason"], row["body"]) == ("rejected", "invalid_timestamp", body)
    assert "timestamp" in row["detail"]


@pytest.mark.parametrize(
    "stamp", ["9223372036854775808", "-9223372036854775809", '"soon"', "1.5e400", "true"]
)
async def test_an_envelope_timestamp_that_is_no_64_bit_integer_is_named(
    app_client: tuple[Starlette, httpx.AsyncClient], stamp: str
) -> None:
    app, client = app_client
    body = waha_body(stamp)
    row = await delivered(app, client, "/webhooks/waha", body, waha_headers(body))
    assert (row["state"], row["reason"], row["body"]) == ("rejected", "invalid_timestamp", body)


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("message.any", f'{{"id":"false_4917655501234@c.us_3EB0BIGTIME","timestamp":{HUGE},"body":"hi"}}'),
        ("message.ack", f'{{"id":"true_4917655501234@c.us_3EB0BIGACK","ack":{HUGE}}}'),
        (
            "message.any",
            f'{{"id":"false_4917655501234@c.us_3EB0BIGSIZE","timestamp":1772366395,"hasMedia":true,'
            f'"media":{{"url":"http://127.0.0.1:3000/api/files/x.jpg","mimetype":"image/jpeg","size":{HUGE}}}}}',
        ),
    ],
    ids=["message-time", "ack", "media-size"],
)
async def test_numbers_beyond_64_bits_inside_a_payload_are_read_as_absent(
    app_client: tuple[Starlette, httpx.AsyncClient], event: str, payload: str
) -> None:
    app, client = app_client
    body = waha_body(str(int(time.time() * 1000)), event, payload)
    row = await delivered(app, client, "/webhooks/waha", body, waha_headers(body))
    assert (row["state"], row["reason"]) == ("processed", "")  # read, the number taken as absent


async def test_a_cloud_timestamp_of_4000_digits_is_read_as_absent(
    app_client: tuple[Starlette, httpx.AsyncClient],
) -> None:
    app, client = app_client
    body = (
        '{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":'
        '{"messaging_product":"whatsapp","metadata":{"display_phone_number":"4930123456","phone_number_id":"111"},'
        f'"messages":[{{"from":"4917655501234","id":"wamid.NUMBERS","timestamp":{HUGE},"type":"text",'
        '"text":{"body":"hi"}}]}}]}]}'
    ).encode()
    row = await delivered(app, client, "/webhooks/cloud", body, cloud_headers(body))
    assert row["state"] in ("processed", "rejected")
    assert row["state"] == "processed" or row["reason"]


async def test_a_delivery_its_reader_fails_on_is_marked_failed_and_kept(
    app_client: tuple[Starlette, httpx.AsyncClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever reading a stored body raises, the delivery ends failed, named and kept, not pending."""

    def overflows(*_args: object, **_kwargs: object) -> list[object]:
        raise OverflowError("integer division result too large for a float")

    monkeypatch.setattr(inbound, "events_from_body", overflows)
    app, client = app_client
    body = waha_body(str(int(time.time() * 1000)))
    row = await delivered(app, client, "/webhooks/waha", body, waha_headers(body))
    assert (row["state"], row["reason"], row["body"]) == ("failed", "unreadable_body", body)
    assert row["detail"] == "OverflowError: integer division result too large for a float"


@pytest.mark.parametrize("path", ["/webhooks/waha", "/webhooks/cloud"])
@pytest.mark.parametrize(
    "declared",
    ["\xb2".encode("latin-1"), b"1" * 5000, b"-1", b"1e3"],
    ids=["superscript-two", "5000-digits", "negative", "exponent"],
)
async def test_a_declared_length_that_is_no_byte_count_is_refused(
    app_client: tuple[Starlette, httpx.AsyncClient], path: str, declared: bytes
) -> None:
    _, client = app_client
    response = await client.post(path, content=b"{}", headers={"content-length": declared})  # type: ignore[dict-item]
    assert (response.status_code, response.json()["error"]) == (413, "body_too_large")
