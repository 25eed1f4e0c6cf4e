from __future__ import annotations

import socket
from collections.abc import Callable

import psycopg
import pytest
from sqlalchemy.engine import make_url

from server.domain.errors import NotMigrated
from server.settings import Settings
from server.storage.migrate import upgrade
from tests.conftest import POSTGRES_ADMIN_URL
from tests.web.conftest import running_app


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_healthz_is_ok_on_the_embedded_default(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    upgrade(settings.effective_database_url)
    async with running_app(settings) as (_, client):
        response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "queue": "ok"}}
    assert response.headers["cache-control"] == "no-store"


async def test_healthz_is_ok_on_postgresql_and_redis(
    make_settings: Callable[..., Settings], postgres_url: str, redis_url: str
) -> None:
    settings = make_settings(database_url=postgres_url, redis_url=redis_url)
    upgrade(postgres_url)
    async with running_app(settings) as (app, client):
        response = await client.get("/healthz")
        assert app.state.resources.queue_backend == "arq on Redis"
    assert response.status_code == 200, response.text


async def test_healthz_names_the_unreachable_queue(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(redis_url=f"redis://127.0.0.1:{_closed_port()}/0")
    upgrade(settings.effective_database_url)
    async with running_app(settings) as (_, client):
        response = await client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["queue"]
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["queue"].startswith("unreachable")


async def test_healthz_names_the_unreachable_database(
    make_settings: Callable[..., Settings], postgres_url: str
) -> None:
    settings = make_settings(database_url=postgres_url)
    upgrade(postgres_url)
    async with running_app(settings) as (_, client):
        assert (await client.get("/healthz")).status_code == 200
        name = make_url(postgres_url).database
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')  # the database goes away under us
        response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["database"]
    assert response.json()["checks"]["queue"] == "ok"


async def test_the_app_refuses_an_unmigrated_database(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    with pytest.raises(NotMigrated, match="Run `wapipe migrate`"):
        async with running_app(settings):
            pass


async def test_status_page_and_fragment(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    upgrade(settings.effective_database_url)
    async with running_app(settings) as (_, client):
        page = await client.get("/")
        fragment = await client.get("/status", headers={"HX-Request": "true"})
    assert page.status_code == 200
    assert '<script src="/static/vendor/htmx.min.js"' in page.text
    assert 'id="status"' in page.text and "All systems working" in page.text
    assert fragment.text.lstrip().startswith('<section id="status"')
    assert "<html" not in fragment.text


def csp_directives(policy: str) -> dict[str, list[str]]:
    """A Content-Security-Policy header as {directive: [source, ...]}, in the order the header gives them."""
    directives: dict[str, list[str]] = {}
    for part in policy.split(";"):
        if not part.strip():
            continue
        name, *sources = part.split()
        assert name.lower() not in directives, f"{name} appears twice; browsers ignore the second"
        directives[name.lower()] = sources
    return directives


EXPECTED_POLICY = {
    "default-src": ["'self'"],
    # Scripts only from the static files: not 'self', which would also allow attachments' addresses.
    "script-src": ["https://wapipe.example.com/static/"],
    "img-src": ["'self'", "data:"],
    "media-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    # These are pages of their own: nobody may frame them (Pipedrive's iframe pages: test_framing.py).
    "frame-ancestors": ["'none'"],
}


async def test_every_response_carries_the_security_headers(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(
        pipedrive_oauth_url="http://127.0.0.1:8100", public_url="https://wapipe.example.com"
    )
    upgrade(settings.effective_database_url)
    async with running_app(settings) as (_, client):
        for path in ("/", "/healthz", "/static/css/wapipe.css", "/nope"):
            response = await client.get(path)
            assert response.headers["x-content-type-options"] == "nosniff", path
            assert csp_directives(response.headers["content-security-policy"]) == EXPECTED_POLICY, path
            assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin", path


async def test_only_pipedrive_may_frame_our_pages(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(pipedrive_oauth_url="http://127.0.0.1:8100")
    upgrade(settings.effective_database_url)
    async with running_app(settings) as (_, client):
        policy = (await client.get("/panel")).headers["content-security-policy"]
    assert csp_directives(policy)["frame-ancestors"] == ["https://*.pipedrive.com", "http://127.0.0.1:8100"]


def test_production_allows_no_sandbox_framing() -> None:
    from server.settings import Settings as RealSettings
    from server.web.app import frame_ancestors

    production = RealSettings(
        secret_key="k" * 40,
        encryption_keys="0" * 43 + "=",
        pipedrive_client_id="abc",
        pipedrive_client_secret="s" * 40,
        pipedrive_jwt_secret="j" * 40,
        waha_api_key="w" * 32,
        waha_webhook_hmac_key="h" * 32,
        pipedrive_oauth_url="http://127.0.0.1:8100",
    )
    assert frame_ancestors(production) == ["https://*.pipedrive.com"]
