"""The WhatsApp transports, built from the settings: a composition-root helper for the web process, the
worker and the demo (the only modules that read settings)."""

from __future__ import annotations

import httpx

from server.domain.whatsapp import WhatsAppTransport
from server.settings import Settings
from server.whatsapp.cloud import CloudTransport
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


def cloud_configured(settings: Settings) -> bool:
    """The Cloud API needs its access token (to call the Graph API) and app secret (to trust webhooks)."""
    return bool(
        settings.cloud_access_token.get_secret_value() and settings.cloud_app_secret.get_secret_value()
    )


def cloud_http_client(
    settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient | None:
    """A client for Meta's Graph API when the Cloud API is configured, else ``None``."""
    if not cloud_configured(settings):
        return None
    return httpx.AsyncClient(timeout=UPSTREAM_TIMEOUT, transport=transport, headers={"User-Agent": "WaPipe"})


def build_transports(
    settings: Settings, waha_http: httpx.AsyncClient, cloud_http: httpx.AsyncClient | None = None
) -> dict[str, WhatsAppTransport]:
    """WAHA always; the Cloud API too when it is configured (``cloud_http`` from ``cloud_http_client``)."""
    waha = WahaTransport(
        waha_http,
        webhook_url=settings.public_url.rstrip("/") + WAHA_WEBHOOK_PATH,
        hmac_key=settings.waha_webhook_hmac_key.get_secret_value(),
    )
    transports: dict[str, WhatsAppTransport] = {"waha": waha}
    if cloud_http is not None and cloud_configured(settings):
        transports["cloud"] = CloudTransport(
            cloud_http,
            access_token=settings.cloud_access_token.get_secret_value(),
            app_secret=settings.cloud_app_secret.get_secret_value(),
            verify_token=settings.cloud_verify_token.get_secret_value(),
        )
    return transports
