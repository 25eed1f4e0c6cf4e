"""Fixtures for the Pipedrive sandbox API tests: a seeded two-company state, clients, OpenAPI validators."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import yaml
from openapi_core import OpenAPI
from openapi_core.configurations import Config
from openapi_core.testing import MockRequest, MockResponse

from sandbox.pipedrive.app import create_app
from sandbox.pipedrive.seed import ALL_SCOPES, seed_person
from sandbox.pipedrive.state import SandboxState
from tests.conftest import OPENAPI_DIR

SPEC_SERVER = "https://api.pipedrive.com"


@dataclass
class World:
    state: SandboxState
    company_a: int
    company_b: int
    admin_a: int
    agent_a: int
    admin_b: int
    person_a: int
    person_b: int

    def token(self, user_id: int | None = None, scopes: tuple[str, ...] = ALL_SCOPES) -> str:
        user = self.state.users[user_id or self.admin_a]
        return self.state.token_for(user.company_id, user.id, list(scopes))


@pytest.fixture
def world() -> World:
    state = SandboxState()
    a = state.add_company("Acme Sales GmbH", domain="acme-sales", plan="growth")
    b = state.add_company("Globex Inc", domain="globex", plan="premium", timezone="America/New_York")
    admin_a = state.add_user(a.id, "Anna Admin", "anna@acme.test", is_admin=True)
    agent_a = state.add_user(a.id, "Bernd Agent", "bernd@acme.test", timezone_name="Europe/Vienna")
    admin_b = state.add_user(b.id, "Grace Admin", "grace@globex.test", is_admin=True)
    person_a = seed_person(state, a.id, "Maria Muster", phones=["+49 89 6364 8018"], emails=["maria@x.test"])
    person_b = seed_person(state, b.id, "Sam Francisco", phones=["+1 (415) 555-0132"])
    return World(state, a.id, b.id, admin_a.id, agent_a.id, admin_b.id, person_a["id"], person_b["id"])


def make_client(world: World, token: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = httpx.ASGITransport(app=create_app(world.state))
    return httpx.AsyncClient(transport=transport, base_url="http://pipedrive.sandbox", headers=headers)


@pytest.fixture
async def client(world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(world, world.token()) as c:
        yield c


@pytest.fixture(scope="session")
def raw_specs() -> dict[str, dict[str, Any]]:
    """The two OpenAPI documents as plain dicts, parsed once per test session."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    raw: dict[str, dict[str, Any]] = {}
    for version in ("v1", "v2"):
        with (OPENAPI_DIR / f"{version}.yaml").open("rb") as fh:
            raw[version] = yaml.load(fh, Loader=loader)  # noqa: S506
    return raw


@pytest.fixture(scope="session")
def openapi_specs(raw_specs: dict[str, dict[str, Any]]) -> dict[str, OpenAPI]:
    return {v: OpenAPI.from_dict(d, config=Config(spec_validator_cls=None)) for v, d in raw_specs.items()}


def spec_cost(raw_specs: dict[str, dict[str, Any]], version: str, method: str, template: str) -> int:
    return int(raw_specs[version]["paths"][template][method.lower()]["x-token-cost"])


def spec_path(path: str) -> tuple[str, str]:
    """Map a sandbox URL path onto the spec's server: v2 lives under /api/v2, v1 under /v1."""
    if path.startswith("/api/v2/"):
        return "v2", path
    if path.startswith("/api/v1/"):
        return "v1", path[len("/api") :]
    return "v1", path


def validate_contract(specs: dict[str, OpenAPI], response: httpx.Response, body: Any | None = None) -> None:
    """Raise if the response does not match Pipedrive's documented response schema."""
    request = response.request
    version, path = spec_path(request.url.path)
    mock_request = MockRequest(
        SPEC_SERVER,
        request.method.lower(),
        path,
        args=dict(request.url.params),
        headers={"content-type": request.headers.get("content-type", "application/json")},
    )
    payload = json.dumps(body).encode() if body is not None else response.content
    mock_response = MockResponse(
        payload,
        status_code=response.status_code,
        content_type=response.headers.get("content-type", "application/json").split(";")[0],
    )
    specs[version].validate_response(mock_request, mock_response)
