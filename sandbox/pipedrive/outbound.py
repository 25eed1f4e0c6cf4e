"""The sandbox's own outgoing requests (webhook deliveries, uninstall notices), each on a client of its own,
as Pipedrive's senders make them. The clients share one TLS context: building one parses the whole CA
bundle, tens of milliseconds of CPU a delivery would otherwise pay."""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def outbound_client(timeout: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=timeout, verify=_tls_context())
