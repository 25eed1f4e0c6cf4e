"""The Starlette application factory: the web process's composition root."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from server.settings import Settings
from server.transports import CLOUD_WEBHOOK_PATH, WAHA_WEBHOOK_PATH
from server.web import health, webhooks
from server.web.resources import Upstreams, open_resources
from server.web.security_headers import SecurityHeadersMiddleware

STATIC_DIR = Path(__file__).resolve().parents[2] / "static"


def create_app(settings: Settings, upstreams: Upstreams | None = None) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_resources(settings, upstreams or Upstreams()) as resources:
            app.state.resources = resources
            yield

    routes = [
        Route("/", health.status_page, methods=["GET"], name="status_page"),
        Route("/status", health.status_fragment, methods=["GET"], name="status_fragment"),
        Route("/healthz", health.healthz, methods=["GET"], name="healthz"),
        Route(WAHA_WEBHOOK_PATH, webhooks.waha_webhook, methods=["POST"], name="waha_webhook"),
        Route(CLOUD_WEBHOOK_PATH, webhooks.cloud_webhook, methods=["GET", "POST"], name="cloud_webhook"),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(SecurityHeadersMiddleware)
    return app
