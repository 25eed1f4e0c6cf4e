"""Webhook envelope, signature, headers, retries, duplicates and the silent session."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import re

import httpx
import pytest

from sandbox.waha import SandboxState, sign
from sandbox.waha.models import RetryPolicy, WebhookTarget
from tests.sandbox.waha.conftest import ANA, HMAC_KEY, HOOK_URL, OWNER, Receiver, webhook_config


async def test_envelope_headers_and_signature(linked: str, sim: SandboxState, receiver: Receiver) -> None:
    sim.receive(linked, ANA, "Oi!")
    await sim.settle()
    request = receiver.requests[0]
    envelope = request.envelope
    assert re.fullmatch(r"evt_[0-9A-HJKMNP-TV-Z]{26}", envelope["id"])
    assert envelope["timestamp"] == sim.clock.now_ms()
    assert envelope["event"] == "message"
    assert envelope["session"] == "default"
    assert envelope["metadata"] == {"account": "acct-1"}
    assert envelope["me"] == {
        "id": f"{OWNER}@c.us",
        "pushName": "Mia",
        "lid": f"{sim.session('default').own_lid}@lid",
    }
    assert envelope["engine"] == "GOWS"
    assert envelope["environment"]["engine"] == "GOWS"
    headers = request.headers
    assert headers["content-type"] == "application/json"
    assert headers["x-webhook-request-id"]
    assert headers["x-webhook-timestamp"] == str(sim.clock.now_ms())
    assert headers["x-webhook-hmac-algorithm"] == "sha512"
    expected = hmac.new(HMAC_KEY.encode(), request.body, hashlib.sha512).hexdigest()
    assert headers["x-webhook-hmac"] == expected == sign(request.body, HMAC_KEY)
    tampered = request.body.replace(b"Oi!", b"Oi?")
    assert hmac.new(HMAC_KEY.encode(), tampered, hashlib.sha512).hexdigest() != headers["x-webhook-hmac"]


async def test_without_hmac_key_no_signature_and_custom_headers(
    api: httpx.AsyncClient, sim: SandboxState, receiver: Receiver
) -> None:
    config = webhook_config(hmac=None, customHeaders=[{"name": "X-Tenant", "value": "acme"}])
    await api.post("/api/sessions", json={"name": "default", "config": config})
    await sim.settle()
    headers = receiver.requests[0].headers
    assert "x-webhook-hmac" not in headers
    assert headers["x-tenant"] == "acme"


async def test_event_filter(api: httpx.AsyncClient, sim: SandboxState, receiver: Receiver) -> None:
    await api.post(
        "/api/sessions", json={"name": "default", "config": webhook_config(events=["message.any"])}
    )
    await sim.settle()
    sim.scan("default", OWNER)
    sim.receive("default", ANA, "hi")
    await sim.settle()
    assert [e["event"] for e in receiver.envelopes()] == ["message.any"]
    default = await api.post("/api/sessions", json={"name": "b", "config": {"webhooks": [{"url": HOOK_URL}]}})
    assert default.status_code == 201
    await sim.settle()
    assert receiver.envelopes()[-1]["session"] == "b"


async def test_retries_follow_the_policy_on_the_sandbox_clock(
    linked: str, sim: SandboxState, receiver: Receiver
) -> None:
    sim.session(linked).webhooks[0].events = ["message"]
    receiver.fail_next = 2
    sim.receive(linked, ANA, "retry me")
    await sim.settle()
    assert [d.status for d in sim.deliveries if d.event == "message"] == [500]
    await sim.elapse(1.9)
    assert len(receiver.envelopes("message")) == 1
    await sim.elapse(0.1)
    await sim.elapse(2)
    attempts = [d for d in sim.deliveries if d.event == "message"]
    assert [(d.attempt, d.status) for d in attempts] == [(1, 500), (2, 500), (3, 200)]
    assert len({d.event_id for d in attempts}) == 1
    assert len({d.body for d in attempts}) == 1
    assert [d.at_ms - attempts[0].at_ms for d in attempts] == [0, 2000, 4000]
    # WAHA makes the headers once per event: every retry resends them, request id and timestamp included.
    requests = [r for r in receiver.requests if r.envelope["event"] == "message"]
    assert len(requests) == 3
    assert requests[1].headers == requests[0].headers == requests[2].headers
    assert len({d.request_id for d in attempts}) == 1
    assert requests[2].headers["x-webhook-timestamp"] == str(attempts[0].at_ms)
    assert requests[2].headers["x-webhook-timestamp"] == str(requests[0].envelope["timestamp"])


async def test_retries_give_up_after_attempts(linked: str, sim: SandboxState, receiver: Receiver) -> None:
    sim.session(linked).webhooks[0].events = ["message"]
    receiver.fail_next = 10
    receiver.fail_status = 503
    sim.receive(linked, ANA, "never")
    await sim.elapse(60)
    attempts = [d for d in sim.deliveries if d.event == "message"]
    assert [d.status for d in attempts] == [503, 503, 503, 503]  # the first try and 3 retries


async def test_crashing_and_slow_receivers_are_retried(
    linked: str, sim: SandboxState, receiver: Receiver
) -> None:
    sim.webhooks.timeout = 0.05
    sim.session(linked).webhooks[0].events = ["message"]
    receiver.crash_next = 1
    sim.receive(linked, ANA, "crash")
    await sim.elapse(2)
    assert [d.error is not None for d in sim.deliveries if d.event == "message"] == [True, False]
    receiver.hang_next = 1
    sim.receive(linked, ANA, "slow")
    await sim.elapse(2)
    receiver.released.set()
    slow = [d for d in sim.deliveries if d.event == "message"][2:]
    assert [(d.error, d.status) for d in slow] == [("timeout", None), (None, 200)]


def test_retry_policies() -> None:
    assert [RetryPolicy("constant", 2).delay(n) for n in (1, 2, 3)] == [2, 2, 2]
    assert [RetryPolicy("linear", 2).delay(n) for n in (1, 2, 3)] == [2, 4, 6]
    # Exponential: retry n waits 2^n × delaySeconds (n from 1), plus up to 20 % jitter.
    assert [RetryPolicy("exponential", 2).delay(n, jitter_seed=0) for n in (1, 2, 3, 15)] == [
        4,
        8,
        16,
        65_536,
    ]
    exponential = [RetryPolicy("exponential", 2).delay(n, jitter_seed=500) for n in (1, 2, 3)]
    assert exponential == pytest.approx([4.4, 8.8, 17.6])
    assert 4 <= RetryPolicy("exponential", 2).delay(1, jitter_seed=999) <= 4.8


async def test_exponential_retries_on_the_clock(
    api: httpx.AsyncClient, sim: SandboxState, receiver: Receiver
) -> None:
    retries = {"policy": "exponential", "delaySeconds": 1, "attempts": 2}
    config = webhook_config(retries=retries)
    await api.post("/api/sessions", json={"name": "default", "config": config, "start": False})
    receiver.fail_next = 2
    sim.fail("default", "boom")
    await sim.elapse(10)
    first = next(d for d in sim.deliveries if d.attempt == 1)
    tries = [d.at_ms - first.at_ms for d in sim.deliveries if d.event_id == first.event_id]
    assert len(tries) == 3
    assert 2000 <= tries[1] <= 2400 and 6000 <= tries[2] <= 7200


async def test_duplicate_deliveries_share_the_event_id(
    linked: str, sim: SandboxState, receiver: Receiver
) -> None:
    sim.faults(linked).duplicate_deliveries = 2
    sim.receive(linked, ANA, "twice")
    await sim.settle()
    messages = receiver.envelopes("message")
    assert len(messages) == 3
    assert len({e["id"] for e in messages}) == 1
    assert len({r.body for r in receiver.requests if r.envelope["event"] == "message"}) == 1


async def test_duplicate_with_a_new_event_id(linked: str, sim: SandboxState, receiver: Receiver) -> None:
    sim.faults(linked).duplicate_new_event_id = True
    sim.receive(linked, ANA, "again")
    await sim.settle()
    messages = receiver.envelopes("message")
    assert len(messages) == 2
    assert messages[0]["id"] != messages[1]["id"]
    assert messages[0]["payload"] == messages[1]["payload"]


async def test_silent_session_stays_working_but_sends_nothing(
    api: httpx.AsyncClient, linked: str, sim: SandboxState, receiver: Receiver
) -> None:
    sim.faults(linked).silent = True
    message = sim.receive(linked, ANA, "unheard")
    await sim.elapse(30)
    assert receiver.requests == []
    assert (await api.get("/api/sessions/default")).json()["status"] == "WORKING"
    history = (await api.get(f"/api/default/chats/{ANA}@c.us/messages", params={"limit": 1})).json()
    assert history[0]["id"] == message.id
    assert sim.events[-1].delivered is False


def test_deliveries_made_outside_an_event_loop_wait_for_settle(receiver: Receiver) -> None:
    sim = SandboxState()
    sim.webhooks.deliver(WebhookTarget(HOOK_URL, ["*"]), {"id": "evt_1", "event": "x", "session": "s"})
    assert sim.webhooks.busy

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver)) as client:
            sim.webhooks.client = client
            await sim.settle()

    asyncio.run(run())
    assert [e["id"] for e in receiver.envelopes()] == ["evt_1"]
    assert not sim.webhooks.busy


async def test_wapipes_policy_retries_for_most_of_two_days_with_the_first_attempts_headers(
    api: httpx.AsyncClient, sim: SandboxState, receiver: Receiver
) -> None:
    retries = {"policy": "exponential", "delaySeconds": 2, "attempts": 15}
    config = webhook_config(events=["session.status"], retries=retries)
    await api.post("/api/sessions", json={"name": "default", "config": config, "start": False})
    receiver.fail_next, receiver.fail_status = 100, 503
    sim.fail("default", "boom")
    await sim.settle()
    [first] = sim.deliveries
    event_ms = receiver.requests[0].envelope["timestamp"]
    await sim.elapse(50 * 3600)
    attempts = [d for d in sim.deliveries if d.event_id == first.event_id]
    assert [d.attempt for d in attempts] == list(range(1, 17))  # the first try and 15 retries
    assert all(d.status == 503 for d in attempts)
    gaps = [(later.at_ms - earlier.at_ms) / 1000 for earlier, later in itertools.pairwise(attempts)]
    for n, gap in enumerate(gaps, start=1):
        assert 2 * 2**n <= gap <= 2 * 2**n * 1.2, (n, gap)
    assert len(set(gaps)) > 1 and any(gap != 2 * 2**n for n, gap in enumerate(gaps, start=1))
    span = (attempts[-1].at_ms - attempts[0].at_ms) / 3600_000
    assert 2 * (2**16 - 2) / 3600 <= span <= 2 * (2**16 - 2) * 1.2 / 3600  # 36.4 to 43.7 hours
    assert len(receiver.requests) == 16
    assert all(r.headers == receiver.requests[0].headers for r in receiver.requests)
    assert receiver.requests[-1].headers["x-webhook-timestamp"] == str(event_ms)
    assert receiver.requests[-1].headers["x-webhook-request-id"] == first.request_id
    expected = hmac.new(HMAC_KEY.encode(), receiver.requests[-1].body, hashlib.sha512).hexdigest()
    assert receiver.requests[-1].headers["x-webhook-hmac"] == expected


async def test_each_event_has_its_own_request_id(linked: str, sim: SandboxState, receiver: Receiver) -> None:
    sim.session(linked).webhooks[0].events = ["message"]
    sim.receive(linked, ANA, "one")
    await sim.elapse(1)
    sim.receive(linked, ANA, "two")
    await sim.settle()
    one, two = receiver.requests
    assert one.headers["x-webhook-request-id"] != two.headers["x-webhook-request-id"]
    assert int(two.headers["x-webhook-timestamp"]) - int(one.headers["x-webhook-timestamp"]) == 1000
