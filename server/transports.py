"""The WhatsApp transports and the upstream HTTP clients, built from the settings: a composition-root helper
for the web process, the worker and the demo (the only modules that read settings)."""

from __future__ import annotations

import functools
import ssl
from collections.abc import Mapping
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from server.crypto import SecretBox
from server.domain.clock import Clock
from server.domain.ports.whatsapp import WhatsAppTransport
from server.settings import Settings, WhatsAppWeb
from server.storage.embedded_sessions import SqlEmbeddedSessions
from server.whatsapp.cloud import CloudTransport
from server.whatsapp.embedded import EmbeddedTransport, LiveSessions
from server.whatsapp.embedded_bodies import EMBEDDED
from server.whatsapp.embedded_remote import SessionRelay
from server.whatsapp.waha import WahaTransport
from server.whatsapp.waha_webhook import DEFAULT_HORIZON

# Explicit timeouts for every upstream: connect fast, allow slower reads (media, large lists).
UPSTREAM_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
WAHA_WEBHOOK_PATH = "/webhooks/waha"
CLOUD_WEBHOOK_PATH = "/webhooks/cloud"
USER_AGENT = {"User-Agent": "WaPipe"}


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context (httpx's own: its CA bundle, ``SSL_CERT_FILE``) for every upstream client of the
    process: building one parses the whole bundle, tens of milliseconds of CPU each new client would pay."""
    return httpx.create_ssl_context()


def upstream_http_client(*, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """A client for an upstream reached by full URLs: Pipedrive's API and OAuth server (each company's own
    base URL), Meta's Graph API."""
    return httpx.AsyncClient(
        timeout=UPSTREAM_TIMEOUT, transport=transport, headers=USER_AGENT, verify=tls_context()
    )


def waha_webhook_horizon(settings: Settings) -> timedelta:
    """How old a signed WAHA delivery's event may be: ``WAPIPE_WAHA_WEBHOOK_HORIZON`` or, unset, the span
    of the retries WaPipe asks WAHA for."""
    if settings.waha_webhook_horizon is None:
        return DEFAULT_HORIZON
    return timedelta(seconds=settings.waha_webhook_horizon)


def waha_http_client(
    settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=settings.waha_url,
        timeout=UPSTREAM_TIMEOUT,
        transport=transport,
        headers={**USER_AGENT, "X-Api-Key": settings.waha_api_key.get_secret_value()},
        verify=tls_context(),
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
    return upstream_http_client(transport=transport)


def embedded_transport(
    settings: Settings, engine: AsyncEngine, clock: Clock, relay: SessionRelay | None = None
) -> EmbeddedTransport:
    """The embedded WhatsApp Web transport of this process (its live sessions start empty); ``relay``
    reaches the sessions other workers run (with Redis)."""
    box = SecretBox.from_setting(settings.encryption_keys.get_secret_value())
    return EmbeddedTransport(SqlEmbeddedSessions(engine, box, clock), LiveSessions(), clock, relay=relay)


def web_transport(transports: Mapping[str, WhatsAppTransport]) -> WhatsAppTransport:
    """The transport WhatsApp Web numbers are linked through: embedded or WAHA (``WAPIPE_WHATSAPP``)."""
    return transports.get(EMBEDDED) or transports["waha"]


def build_transports(
    settings: Settings,
    waha_http: httpx.AsyncClient,
    cloud_http: httpx.AsyncClient | None = None,
    *,
    embedded: EmbeddedTransport | None = None,
) -> dict[str, WhatsAppTransport]:
    """WhatsApp Web through WAHA, or through ``embedded`` when ``WAPIPE_WHATSAPP=embedded`` (the caller
    builds it with ``embedded_transport``); the Cloud API too when it is configured (``cloud_http`` from
    ``cloud_http_client``)."""
    transports: dict[str, WhatsAppTransport] = {}
    if settings.whatsapp is WhatsAppWeb.EMBEDDED:
        if embedded is None:
            raise ValueError("WAPIPE_WHATSAPP=embedded needs the embedded transport")
        transports[EMBEDDED] = embedded
    else:
        transports["waha"] = WahaTransport(
            waha_http,
            webhook_url=settings.public_url.rstrip("/") + WAHA_WEBHOOK_PATH,
            hmac_key=settings.waha_webhook_hmac_key.get_secret_value(),
            webhook_horizon=waha_webhook_horizon(settings),
        )
    if cloud_http is not None and cloud_configured(settings):
        transports["cloud"] = CloudTransport(
            cloud_http,
            access_token=settings.cloud_access_token.get_secret_value(),
            app_secret=settings.cloud_app_secret.get_secret_value(),
            verify_token=settings.cloud_verify_token.get_secret_value(),
            business_account_id=settings.cloud_business_account_id,
        )
    return transports
