"""The webhook routes at their boundary: signatures, timestamps, size, malformed bodies, redeliveries."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import RowMapping, func, select
from starlette.applications import Starlette

from server.settings import Settings
from server.storage.migrate import upgrade
from server.storage.tables import InboundEvent, table_of
from server.web.webhooks import MAX_BODY_BYTES
from tests.web.conftest import running_app

HMAC_KEY = "test-waha-hmac-key"
APP_SECRET = "test-cloud-app-secret"
VERIFY_TOKEN = "test-verify-token"


@pytest.fixture
async def app_client(
    make_settings: Callable[..., Settings],
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    settings = make_settings(
        waha_webhook_hmac_key=HMAC_KEY, cloud_app_secret=APP_SECRET, cloud_verify_token=VERIFY_TOKEN
    )
    upgrade(settings.effective_database_url)
    async with running_app(settings) as pair:
        yield pair


def waha_envelope(event_id: str = "evt_01TEST", **payload: Any) -> bytes:
    body = {
        "id": event_id,
        "timestamp": int(time.time() * 1000),
        "event": "message.any",
        "session": "wp-unknown",
        "payload": {
            "id": "false_4917655501234@c.us_3EB0AAAA",
            "timestamp": int(time.time()),
            "body": "hi",
            **payload,
        },
    }
    return json.dumps(body).encode()


def waha_headers(body: bytes, *, key: str = HMAC_KEY, at_ms: int | None = None) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "x-webhook-hmac": hmac.new(key.encode(), body, hashlib.sha512).hexdigest(),
        "x-webhook-hmac-algorithm": "sha512",
        "x-webhook-timestamp": str(at_ms if at_ms is not None else int(time.time() * 1000)),
    }


def cloud_signature(body: bytes, secret: str) -> str:
    """``X-Hub-Signature-256`` as Meta sends it: hex HMAC-SHA256 of the raw body, keyed with the secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def stored_events(app: Starlette) -> list[RowMapping]:
    table = table_of(InboundEvent)
    async with app.state.resources.engine.connect() as connection:
        return list((await connection.execute(select(table).order_by(table.c.id))).mappings())


async def count_events(app: Starlette) -> int:
    table = table_of(InboundEvent)
    async with app.state.resources.engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(table))).scalar_one())


async def test_a_signed_delivery_is_stored_and_processed(
    app_client: tuple[Starlette, httpx.AsyncClient],
) -> None:
    app, client = app_client
    body = waha_envelope()
    response = await client.post("/webhooks/waha", content=body, headers=waha_headers(body))
    assert response.status_code == 200
    assert response.json() == {"status": "accepted"}
    await app.state.resources.queue.drain()
    [event] = await stored_events(app)
    assert event["body"] == body
    assert event["state"] == "processed"
    assert "unknown session wp-unknown" in event["detail"]


async def test_a_redelivery_is_acknowledged_and_ignored(
    app_client: tuple[Starlette, httpx.AsyncClient],
) -> None:
    app, client = app_client
    body = waha_envelope()
    first = await client.post("/webhooks/waha", content=body, headers=waha_headers(body))
    again = await client.post("/webhooks/waha", content=body, headers=waha_headers(body))
    assert first.json() == {"status": "accepted"}
    assert again.status_code == 200
    assert again.json() == {"status": "duplicate"}
    assert await count_events(app) == 1


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("no signature", "bad_signature"),
        ("wrong key", "bad_signature"),
        ("truncated body", "bad_signature"),
        ("one byte changed", "bad_signature"),
        ("stale timestamp", "stale_webhook"),
        ("future timestamp", "future_webhook"),
        ("no timestamp", "stale_webhook"),
    ],
)
async def test_an_unverifiable_delivery_gets_401_and_stores_nothing(
    app_client: tuple[Starlette, httpx.AsyncClient], case: str, reason: str
) -> None:
    app, client = app_client
    body = waha_envelope()
    headers = waha_headers(body)
    sent = body
    if case == "no signature":
        del headers["x-webhook-hmac"]
    elif case == "wrong key":
        headers = waha_headers(body, key="another-key")
    elif case == "truncated body":
        sent = body[:-5]
    elif case == "one byte changed":
        sent = body.replace(b'"hi"', b'"ho"')
    elif case == "stale timestamp":  # older than WAHA's last retry may come (43.7 h) and 5 minutes more
        headers = waha_headers(body, at_ms=int(time.time() * 1000) - (157_282 + 300 + 60) * 1000)
    elif case == "future timestamp":
        headers = waha_headers(body, at_ms=int(time.time() * 1000) + 10 * 60 * 1000)
    elif case == "no timestamp":
        del headers["x-webhook-timestamp"]
    response = await client.post("/webhooks/waha", content=sent, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == reason
    assert response.json()["message"]
    assert await count_events(app) == 0


async def test_a_late_signed_retry_is_stored_once_and_a_replay_stores_nothing_new(
    app_client: tuple[Starlette, httpx.AsyncClient],
) -> None:
    app, client = app_client
    body = waha_envelope("evt_01LATE")
    event_ms = int(time.time() * 1000) - 30 * 60 * 1000  # WAHA's retry, 30 minutes after its event
    response = await client.post("/webhooks/waha", content=body, headers=waha_headers(body, at_ms=event_ms))
    assert (response.status_code, response.json()) == (200, {"status": "accepted"})
    await app.state.resources.queue.drain()
    [event] = await stored_events(app)
    assert event["state"] == "processed"
    replay_ms = int(time.time() * 1000) - 40 * 3600 * 1000  # inside the horizon, but the event is known
    again = await client.post("/webhooks/waha", content=body, headers=waha_headers(body, at_ms=replay_ms))
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
    forged = waha_headers(body, key="another-key", at_ms=event_ms)
    refused = await client.post("/webhooks/waha", content=body, headers=forged)
    assert (refused.status_code, refused.json()["error"]) == (401, "bad_signature")
    unsigned = waha_headers(body, at_ms=event_ms)
    del unsigned["x-webhook-hmac"]
    refused = await client.post("/webhooks/waha", content=body, headers=unsigned)
    assert (refused.status_code, refused.json()["error"]) == (401, "bad_signature")
    assert [e["id"] for e in await stored_events(app)] == [event["id"]]


async def test_a_configured_horizon_replaces_the_retry_policys(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(waha_webhook_hmac_key=HMAC_KEY, waha_webhook_horizon=600)
    upgrade(settings.effective_database_url)
    async with running_app(settings) as (app, client):
        now_ms = int(time.time() * 1000)
        old = waha_envelope("evt_01OLD")
        late = waha_headers(old, at_ms=now_ms - (600 + 300 + 5) * 1000)
        response = await client.post("/webhooks/waha", content=old, headers=late)
        assert (response.status_code, response.json()["error"]) == (401, "stale_webhook")
        assert "retry horizon of 10 min (plus 5 min for the clocks)" in response.json()["message"]
        recent = waha_envelope("evt_01RECENT")
        inside = waha_headers(recent, at_ms=now_ms - (600 + 300 - 60) * 1000)
        response = await client.post("/webhooks/waha", content=recent, headers=inside)
        assert response.json() == {"status": "accepted"}
        assert await count_events(app) == 1


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"event": "message"}', b'{"id": "evt_1", "session": "s"}', b"\xff\xfe"]
)
async def test_a_signed_but_malformed_body_gets_400_and_is_kept(
    app_client: tuple[Starlette, httpx.AsyncClient], body: bytes
) -> None:
    app, client = app_client
    response = await client.post("/webhooks/waha", content=body, headers=waha_headers(body))
    assert response.status_code == 400
    assert response.json()["error"] == "malformed_webhook"
    [event] = await stored_events(app)
    assert (event["state"], event["reason"], event["body"]) == ("rejected", "malformed_webhook", body)


async def test_an_oversized_body_is_refused_before_it_is_read(
    app_client: tuple[Starlette, httpx.AsyncClient],
) -> None:
    app, client = app_client
    body = b"x" * (MAX_BODY_BYTES + 1)
    response = await client.post("/webhooks/waha", content=body, headers=waha_headers(body))
    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large"
    assert await count_events(app) == 0


async def test_cloud_handshake_answers_the_challenge_only_with_our_token(
    app_client: tuple[Starlette, httpx.AsyncClient],
) -> None:
    _, client = app_client
    good = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    response = await client.get("/webhooks/cloud", params=good)
    assert (response.status_code, response.text) == (200, "1158201444")
    bad = await client.get("/webhooks/cloud", params={**good, "hub.verify_token": "guess"})
    assert bad.status_code == 403
    assert bad.json()["error"] == "bad_verify_token"


async def test_cloud_deliveries_are_verified_and_deduplicated(
    app_client: tuple[Starlette, httpx.AsyncClient],
) -> None:
    app, client = app_client
    body = json.dumps({"object": "whatsapp_business_account", "entry": []}).encode()
    headers = {"x-hub-signature-256": cloud_signature(body, APP_SECRET), "content-type": "application/json"}
    assert (await client.post("/webhooks/cloud", content=body, headers=headers)).json() == {
        "status": "accepted"
    }
    assert (await client.post("/webhooks/cloud", content=body, headers=headers)).json() == {
        "status": "duplicate"
    }
    forged = {"x-hub-signature-256": cloud_signature(body, "not-the-secret")}
    assert (await client.post("/webhooks/cloud", content=body, headers=forged)).status_code == 401
    assert await count_events(app) == 1


async def test_cloud_is_404_when_not_configured(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    upgrade(settings.effective_database_url)
    async with running_app(settings) as (_, client):
        response = await client.post("/webhooks/cloud", content=b"{}")
    assert response.status_code == 404
    assert response.json()["error"] == "cloud_not_configured"


hostile_headers = st.dictionaries(
    st.sampled_from(
        [
            "x-webhook-hmac",
            "x-webhook-timestamp",
            "x-webhook-hmac-algorithm",
            "x-hub-signature-256",
            "x-other",
        ]
    ),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=200),
    max_size=5,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.binary(max_size=2048),
    headers=hostile_headers,
    path=st.sampled_from(["/webhooks/waha", "/webhooks/cloud"]),
)
async def test_hostile_unsigned_deliveries_never_500_and_never_store(
    app_client: tuple[Starlette, httpx.AsyncClient], body: bytes, headers: dict[str, str], path: str
) -> None:
    app, client = app_client
    response = await client.post(path, content=body, headers=headers)
    assert response.status_code in (401, 413)
    assert await count_events(app) == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    payload=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=30),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
        max_leaves=20,
    ),
    event=st.sampled_from(["message", "message.any", "message.ack", "session.status", "other"]),
)
async def test_signed_hostile_envelopes_never_500_and_jobs_never_crash(
    app_client: tuple[Starlette, httpx.AsyncClient], payload: object, event: str
) -> None:
    app, client = app_client
    body = json.dumps(
        {
            "id": f"evt_{time.monotonic_ns()}",
            "timestamp": int(time.time() * 1000),
            "event": event,
            "session": "wp-x",
            "payload": payload,
        }
    ).encode()
    response = await client.post("/webhooks/waha", content=body, headers=waha_headers(body))
    assert response.status_code in (200, 400)
    queue = app.state.resources.queue
    await queue.drain()
    assert not [o for o in queue.outcomes if o.outcome == "failed"], queue.outcomes[-3:]
