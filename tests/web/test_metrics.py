"""``GET /metrics`` through the real app: who may scrape, and a scrape after real traffic (webhooks from the
WAHA sandbox, one refused and one redelivered, a message synced into the Pipedrive sandbox, a 429 there, a
message sent) shows every family with the values the sandboxes and the runner counted on their side."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from server.jobs.inprocess import InProcessQueue
from server.settings import Settings
from server.storage.migrate import upgrade
from server.storage.tables import Company
from tests.panel.world import PanelWorld, panel_world
from tests.web.conftest import running_app
from tests.world import world_settings_overrides

TOKEN = "metrics-test-token-0123456789abcdefghij"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
MARIA = "4917655501234"
BURST_WINDOW = 3.5  # WAPIPE_SYNC_BURST_WINDOW's default: a chat's write waits this long for the burst

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
FAMILIES = {
    "wapipe_webhooks_received": "counter",
    "wapipe_pipedrive_requests": "counter",
    "wapipe_pipedrive_rate_limited": "counter",
    "wapipe_pipedrive_tokens_spent": "counter",
    "wapipe_pipedrive_daily_tokens_remaining": "gauge",
    "wapipe_job_wait_seconds": "histogram",
    "wapipe_job_duration_seconds": "histogram",
    "wapipe_sync_lag_seconds": "histogram",
    "wapipe_queue_jobs": "gauge",
    "wapipe_queue_depth": "gauge",
    "wapipe_queue_oldest_due_seconds": "gauge",
    "wapipe_whatsapp_sessions": "gauge",
    "wapipe_outbox_messages": "gauge",
    "wapipe_state_readable": "gauge",
}


async def scraped(client: httpx.AsyncClient) -> tuple[dict[str, str], Samples]:
    """The families' types and every sample, keyed by name and labels."""
    answer = await client.get("/metrics", headers=BEARER)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert answer.headers["cache-control"] == "no-store"
    types: dict[str, str] = {}
    samples: Samples = {}
    for family in text_string_to_metric_families(answer.text):
        types[family.name] = family.type
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return types, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every sample of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in samples.items() if n == name and wanted <= have)


def grown(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return total(after, name, **labels) - total(before, name, **labels)


# --- who may scrape ----------------------------------------------------------------------------------------


async def test_without_a_token_set_metrics_are_not_served(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    upgrade(settings.effective_database_url)
    async with running_app(settings) as (_, client):
        answer = await client.get("/metrics", headers=BEARER)
    assert answer.status_code == 404
    assert answer.json()["error"] == "metrics_not_configured"
    assert "wapipe_" not in answer.text


async def test_only_the_metrics_token_may_scrape(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(metrics_token=TOKEN)
    upgrade(settings.effective_database_url)
    async with running_app(settings) as (_, client):
        missing = await client.get("/metrics")
        basic = await client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})
        wrong = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN[:-1]}x"})
        longer = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"})
        right = await client.get("/metrics", headers={"Authorization": f"bearer  {TOKEN} "})
    for refused in (missing, basic):
        assert refused.status_code == 401 and refused.json()["error"] == "metrics_token_required"
        assert refused.headers["www-authenticate"] == 'Bearer realm="wapipe-metrics"'
    for refused in (wrong, longer):
        assert refused.status_code == 403 and refused.json()["error"] == "bad_metrics_token"
    for refused in (missing, basic, wrong, longer):
        assert "wapipe_" not in refused.text
    assert right.status_code == 200
    assert "# TYPE wapipe_webhooks_received_total counter" in right.text


async def test_a_state_source_away_is_named_and_the_rest_still_served(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(metrics_token=TOKEN)
    upgrade(settings.effective_database_url)
    async with running_app(settings) as (app, client):
        await app.state.resources.engine.dispose()
        real = app.state.resources.state

        async def broken() -> dict[str, int]:
            raise ConnectionError("the database went away")

        app.state.resources.state = type(real)(queue=real.queue, sessions=broken, outbox=broken, now=real.now)
        types, samples = await scraped(client)
    assert value(samples, "wapipe_state_readable", source="queue") == 1
    assert value(samples, "wapipe_state_readable", source="sessions") == 0
    assert value(samples, "wapipe_state_readable", source="outbox") == 0
    assert "wapipe_outbox_messages" not in types and "wapipe_whatsapp_sessions" not in types
    assert types["wapipe_queue_depth"] == "gauge" and types["wapipe_webhooks_received"] == "counter"


# --- a scrape after real traffic --------------------------------------------------------------------------


def company_usage(world: PanelWorld) -> dict[str, Any]:
    """What the Pipedrive sandbox counted for Anna's company: requests it served, 429s, tokens."""
    assert world.pd is not None
    usage = world.pd.limiter.usage_for(world.anna.company_id)
    return {"requests": usage.requests_total, "rejected": usage.rejected, "tokens": usage.tokens_total}


def remaining_budget(world: PanelWorld) -> int:
    assert world.pd is not None
    company = world.pd.companies[world.anna.company_id]
    seats = len(world.pd.company_users(company.id))
    budget = world.pd.limiter.daily_budget(company.id, company.plan, seats)
    return world.pd.limiter.remaining_tokens(company.id, budget)


def runs_by_job(queue: InProcessQueue, since: int) -> dict[str, int]:
    """Runs (tries) of each job the runner finished after its first ``since`` outcomes."""
    runs: dict[str, int] = {}
    for outcome in list(queue.outcomes)[since:]:
        runs[outcome.function] = runs.get(outcome.function, 0) + outcome.tries
    return runs


async def test_a_scrape_shows_every_family_after_real_traffic(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(metrics_token=TOKEN, **world_settings_overrides())
    async with panel_world(settings) as world:
        assert world.waha is not None and world.pd is not None
        queue = world.resources.queue
        assert isinstance(queue, InProcessQueue)
        [acme] = [
            row for row in await world.rows(Company) if row["pipedrive_company_id"] == world.anna.company_id
        ]
        company = str(acme["id"])  # WaPipe's own id labels the company, never a name
        _, before = await scraped(world.client)
        deliveries_before = len(world.waha.deliveries)
        outcomes_before = len(queue.outcomes)
        usage_before = company_usage(world)

        # A customer writes: the gateway's webhook is accepted, the sync writes the day's note.
        world.waha.receive("wp-acme-anna", MARIA, "Guten Tag", push_name="Maria")
        await world.settle()
        delivered = world.waha.deliveries[deliveries_before:]
        assert delivered and all(d.status == 200 for d in delivered)
        _, synced = await scraped(world.client)
        assert grown(before, synced, "wapipe_webhooks_received_total", transport="waha") == len(delivered)
        assert grown(before, synced, "wapipe_webhooks_received_total", outcome="accepted") == len(delivered)
        # one day written, BURST_WINDOW after the webhook on the clock (plus the real time the work took)
        assert grown(before, synced, "wapipe_sync_lag_seconds_count") == 1
        lag = grown(before, synced, "wapipe_sync_lag_seconds_sum")
        assert BURST_WINDOW <= lag < BURST_WINDOW + 5, lag
        assert grown(before, synced, "wapipe_sync_lag_seconds_bucket", le="2.5") == 0
        assert grown(before, synced, "wapipe_sync_lag_seconds_bucket", le="+Inf") == 1

        # The gateway delivers one again (a redelivery), and someone else forges one.
        again = delivered[-1]
        duplicate = await world.client.post("/webhooks/waha", content=again.body, headers=again.headers)
        assert duplicate.json() == {"status": "duplicate"}
        forged = {k: ("0" * 128 if "hmac" in k.lower() else v) for k, v in again.headers.items()}
        refused = await world.client.post("/webhooks/waha", content=again.body, headers=forged)
        assert refused.status_code == 401 and refused.json()["error"] == "bad_signature"

        # Pipedrive answers the panel's first request with 429; the client waits and asks again.
        world.pd.limiter.faults.force_429 = 1
        panel = await world.client.get(
            "/panel",
            params={
                "resource": "person",
                "selectedIds": world.persons["maria"],
                "id": "f",
                "token": world.token(),
            },
        )
        assert panel.status_code == 200, panel.text
        # Anna answers from the panel: one outbox message, sent.
        form = {
            "person_id": world.persons["maria"],
            "client_ref": "ref-metrics-000000001",
            "to": "+49 176 55501234",
            "account_id": 1,
            "region": "",
            "file_id": "",
            "text": "Danke!",
        }
        sent = await world.client.post("/panel/send", data=form, headers=world.headers())
        assert sent.status_code == 200, sent.text
        await world.settle()
        # A job waiting for its time, to show on the queue.
        await queue.enqueue("sweep_inbound", job_id="metrics-later", defer_by=timedelta(hours=1))

        types, after = await scraped(world.client)

    for name, kind in FAMILIES.items():
        assert types.get(name) == kind, (name, types.get(name))
    # webhooks by outcome
    assert grown(before, after, "wapipe_webhooks_received_total", transport="waha", outcome="duplicate") == 1
    assert (
        grown(before, after, "wapipe_webhooks_received_total", transport="waha", outcome="bad_signature") == 1
    )
    # Pipedrive: requests, 429s and tokens as the sandbox counted them
    usage = company_usage(world)
    served = usage["requests"] - usage_before["requests"]
    rejected = usage["rejected"] - usage_before["rejected"]
    assert rejected == 1
    requests = grown(before, after, "wapipe_pipedrive_requests_total", company=company)
    assert requests == served + rejected
    assert grown(before, after, "wapipe_pipedrive_requests_total", company=company, status="429") == rejected
    assert grown(before, after, "wapipe_pipedrive_rate_limited_total", company=company, limit="burst") == 1
    assert grown(before, after, "wapipe_pipedrive_rate_limited_total", limit="budget") == 0
    assert grown(before, after, "wapipe_pipedrive_tokens_spent_total", company=company) == (
        usage["tokens"] - usage_before["tokens"]
    )
    assert usage["tokens"] > usage_before["tokens"]
    assert value(after, "wapipe_pipedrive_daily_tokens_remaining", company=company) == remaining_budget(world)
    # jobs: one wait and one run observed per run the in-process runner made
    runs = runs_by_job(queue, outcomes_before)
    assert {"process_inbound_event", "sync_chat", "send_outbox"} <= set(runs)
    for job, count in runs.items():
        assert grown(before, after, "wapipe_job_wait_seconds_count", job=job) == count, job
        assert grown(before, after, "wapipe_job_duration_seconds_count", job=job) == count, job
    # the state: the queue, the two linked numbers, the one message sent
    assert value(after, "wapipe_queue_jobs", job="sweep_inbound", state="deferred") == 1
    assert value(after, "wapipe_queue_depth", state="deferred") == 1
    assert value(after, "wapipe_queue_depth", state="due") == 0
    assert value(after, "wapipe_queue_oldest_due_seconds") == 0
    assert value(after, "wapipe_whatsapp_sessions", transport="waha", state="connected") == 2
    assert total(after, "wapipe_whatsapp_sessions") == 2
    assert value(after, "wapipe_outbox_messages", status="sent") == 1
    assert value(after, "wapipe_outbox_messages", status="failed") == 0
    assert value(after, "wapipe_outbox_messages", status="queued") == 0
    for source in ("queue", "sessions", "outbox"):
        assert value(after, "wapipe_state_readable", source=source) == 1
