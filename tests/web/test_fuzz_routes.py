"""Every public route, fuzzed: random paths parameters, query strings, headers and bodies, with and without
a valid Pipedrive token, never produce a 500. Routes are read from the app, so new ones are covered too."""

from __future__ import annotations

import re
import string
import time
from collections.abc import AsyncIterator, Callable

import httpx
import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.routing import Route

from server.settings import Settings
from server.storage.migrate import upgrade
from tests.web.conftest import running_app

SKIP_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture
async def app_client(
    make_settings: Callable[..., Settings],
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient, Settings]]:
    # Upstreams point at closed ports: pages that need Pipedrive or WAHA must fail with a named error.
    settings = make_settings(
        waha_url="http://127.0.0.1:9",
        pipedrive_oauth_url="http://127.0.0.1:9",
        pipedrive_api_url="http://127.0.0.1:9",
    )
    upgrade(settings.effective_database_url)
    async with running_app(settings) as (app, client):
        yield app, client, settings


def routes(app: Starlette) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        if isinstance(route, Route) and route.methods:
            for method in sorted(route.methods - SKIP_METHODS):
                found.append((method, route.path))
    return found


def valid_token(settings: Settings, company: int, user: int) -> str:
    now = int(time.time())
    claims = {"userId": user, "companyId": company, "iat": now, "exp": now + 300}
    return jwt.encode(claims, settings.pipedrive_jwt_secret.get_secret_value(), algorithm="HS256")


path_values = st.one_of(
    st.integers(min_value=-5, max_value=10**12).map(str),
    st.text(alphabet=string.ascii_letters + string.digits + "-_.~%", min_size=1, max_size=20),
)
text = st.text(max_size=200)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.data(),
    query=st.dictionaries(
        st.sampled_from(
            [
                "token",
                "id",
                "resource",
                "selectedIds",
                "theme",
                "next",
                "state",
                "code",
                "page",
                "before",
                "q",
                "error",
            ]
        ),
        text,
        max_size=4,
    ),
    body=st.one_of(
        st.binary(max_size=500),
        st.dictionaries(st.text(max_size=15), text, max_size=6).map(
            lambda d: "&".join(f"{k}={v}" for k, v in d.items()).encode()
        ),
    ),
    signed=st.booleans(),
    company=st.integers(min_value=1, max_value=3),
)
async def test_no_route_answers_500(
    app_client: tuple[Starlette, httpx.AsyncClient, Settings],
    data: st.DataObject,
    query: dict[str, str],
    body: bytes,
    signed: bool,
    company: int,
) -> None:
    app, client, settings = app_client
    method, template = data.draw(st.sampled_from(routes(app)))
    path = re.sub(r"\{[^}]+\}", lambda _: data.draw(path_values).replace("/", "_") or "x", template)
    headers = {
        "content-type": data.draw(
            st.sampled_from(["application/x-www-form-urlencoded", "application/json", "text/plain"])
        )
    }
    if signed:
        headers["x-pipedrive-token"] = valid_token(settings, company, data.draw(st.integers(1, 3)))
    response = await client.request(
        method, path, params=query, content=body if method != "GET" else None, headers=headers
    )
    assert response.status_code != 500, f"{method} {path} → 500"
    assert response.status_code < 500 or response.status_code in (502, 503, 504), (
        f"{method} {path} → {response.status_code}"
    )
