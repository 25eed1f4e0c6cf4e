"""The Starlette application factory: the web process's composition root."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from server.domain.errors import WaPipeError
from server.jobs.person_events import PIPEDRIVE_WEBHOOK_PATH
from server.settings import Settings
from server.transports import CLOUD_WEBHOOK_PATH, WAHA_WEBHOOK_PATH
from server.web import (
    campaigns,
    chat_view,
    cloud_templates,
    contact_cards,
    health,
    metrics,
    numbers,
    oauth,
    panel,
    pipedrive_webhook,
    settings_page,
    settings_templates,
    template_picker,
    webhooks,
)
from server.web.errors import wapipe_error
from server.web.framing import FramingMiddleware
from server.web.language import LanguageMiddleware
from server.web.paths import not_found
from server.web.resources import Upstreams, open_resources
from server.web.security_headers import (
    PIPEDRIVE_FRAME_ANCESTORS,
    SecurityHeadersMiddleware,
    origin_of,
    static_scripts,
)

STATIC_DIR = Path(__file__).resolve().parents[2] / "static"


def frame_ancestors(settings: Settings) -> list[str]:
    """Pipedrive frames our panels; outside production so does the local Pipedrive sandbox."""
    allowed = list(PIPEDRIVE_FRAME_ANCESTORS)
    sandbox = origin_of(settings.pipedrive_oauth_url)
    if not settings.is_production and sandbox and sandbox not in allowed:
        allowed.append(sandbox)
    return allowed


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
        Route("/healthz/workers", health.workers_healthz, methods=["GET"], name="healthz_workers"),
        Route("/metrics", metrics.metrics, methods=["GET"], name="metrics"),
        Route(WAHA_WEBHOOK_PATH, webhooks.waha_webhook, methods=["POST"], name="waha_webhook"),
        Route(CLOUD_WEBHOOK_PATH, webhooks.cloud_webhook, methods=["GET", "POST"], name="cloud_webhook"),
        Route(
            PIPEDRIVE_WEBHOOK_PATH,
            pipedrive_webhook.pipedrive_webhook,
            methods=["POST"],
            name="pipedrive_webhook",
        ),
        *numbers.routes(),
        *template_picker.routes(),
        *panel.routes(),
        *settings_page.routes(),
        *campaigns.routes(),
        *settings_templates.routes(),
        *cloud_templates.routes(),
        *chat_view.routes(),
        *contact_cards.routes(),
        *oauth.routes(),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    handlers = {404: not_found, WaPipeError: wapipe_error}  # the one error boundary: server.web.errors
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers=handlers)
    app.add_middleware(
        SecurityHeadersMiddleware,
        frame_ancestors=frame_ancestors(settings),
        script_sources=static_scripts(settings.public_url),
    )
    app.add_middleware(LanguageMiddleware)  # the browser's language until the user's is known
    app.add_middleware(FramingMiddleware)  # outermost: pages of their own are not framed at all
    return app
