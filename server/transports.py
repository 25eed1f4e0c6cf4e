"""The WhatsApp transports, built from the settings: a composition-root helper for the web process, the
worker and the demo (the only modules that read settings)."""

from __future__ import annotations

import httpx

from server.domain.whatsapp import WhatsAppTransport
from server.settings import Settings
from server.whatsapp.waha import WahaTransport

# Explicit timeouts for every upstream: connect fast, allow slower reads (media, large lists).
UPSTREAM_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
WAHA_WEBHOOK_PATH = "/webhooks/waha"
CLOUD_WEBHOOK_PATH = "/webhooks/cloud"


def waha_http_client(
    settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=settings.waha_url,
        timeout=UPSTREAM_TIMEOUT,
        transport=transport,
        headers={"User-Agent": "WaPipe", "X-Api-Key": settings.waha_api_key.get_secret_value()},
    )


def build_transports(settings: Settings, waha_http: httpx.AsyncClient) -> dict[str, WhatsAppTransport]:
    waha = WahaTransport(
        waha_http,
        webhook_url=settings.public_url.rstrip("/") + WAHA_WEBHOOK_PATH,
        hmac_key=settings.waha_webhook_hmac_key.get_secret_value(),
    )
    return {"waha": waha}
