"""Token costs: the committed table matches the OpenAPI files; requests and tokens are counted per company."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from server.pipedrive.metering import COSTS_FILE, MemoryUsageMeter, TokenCostTable
from tests.pipedrive.contract import SPEC_DIR
from tests.pipedrive.fakes import FakeClock, FakePipedrive, envelope, failure, make_harness

ROOT = Path(__file__).resolve().parents[2]


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_token_costs", ROOT / "scripts" / "gen_token_costs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_costs_match_the_openapi_files() -> None:
    generator = load_generator()
    expected = generator.render(generator.token_costs(SPEC_DIR))

    assert COSTS_FILE.read_text(encoding="utf-8") == expected, "run scripts/gen_token_costs.py"


def test_the_sandbox_operation_index_matches_the_openapi_files() -> None:
    generator = load_generator()
    expected = generator.render_operations(generator.sandbox_operations(SPEC_DIR))
    committed = ROOT / "sandbox" / "pipedrive" / "operations.json"
    assert committed.read_text(encoding="utf-8") == expected, "run scripts/gen_token_costs.py"


@pytest.mark.parametrize(
    ("method", "path", "operation", "cost"),
    [
        ("GET", "/api/v1/users/me", "GET /api/v1/users/me", 2),
        ("GET", "/api/v2/persons/search", "GET /api/v2/persons/search", 20),
        ("GET", "/api/v2/persons/42", "GET /api/v2/persons/{id}", 1),
        ("PATCH", "/api/v2/activities/9", "PATCH /api/v2/activities/{id}", 5),
        ("POST", "/api/v1/files", "POST /api/v1/files", 10),
        ("GET", "/v1/files/3/download", "GET /api/v1/files/{id}/download", 20),
        ("GET", "/api/v1/persons/42/files", "GET /api/v1/persons/{id}/files", 20),
        ("POST", "/api/v1/leads", "POST /api/v1/leads", 10),
        ("GET", "/api/v2/unknown", "GET /api/v2/unknown", 0),
    ],
)
def test_operations_and_costs(method: str, path: str, operation: str, cost: int) -> None:
    table = TokenCostTable.load()
    assert table.operation(method, path) == operation
    assert table.cost(operation) == cost


def test_costs_file_is_plain_json() -> None:
    costs = json.loads(COSTS_FILE.read_text(encoding="utf-8"))
    assert costs["GET /api/v2/persons/{id}"] == 1 and all(isinstance(v, int) for v in costs.values())


async def test_client_counts_requests_and_tokens_per_company(
    fake: FakePipedrive, http: object, clock: FakeClock
) -> None:
    import httpx

    assert isinstance(http, httpx.AsyncClient)
    meter = MemoryUsageMeter()
    harness = make_harness(fake, http, clock, meter=meter)
    fake.on("GET", "/api/v2/persons/search", lambda _: envelope({"items": []}))
    fake.on("GET", "/api/v2/persons/1", lambda _: envelope({"id": 1, "name": "Ana"}))
    fake.queue("POST", "/api/v2/activities", failure(429, "Request over limit"))
    fake.on("POST", "/api/v2/activities", lambda _: envelope({"id": 9, "subject": "s", "type": "t"}))

    await harness.client.persons.search("+4915112345678", exact_match=True)
    await harness.client.persons.get(1)
    await harness.client.activities.create(
        {"subject": "s", "participants": [{"person_id": 1, "primary": True}]}
    )

    usage = meter.usage("company-1")
    assert usage.requests == 4
    assert usage.tokens == 20 + 1 + 5, "the rejected 429 is counted as a request but not charged"
    assert usage.by_operation["POST /api/v2/activities"] == 2
    assert meter.usage("other-company").requests == 0
