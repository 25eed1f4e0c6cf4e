"""Webhooks in: verify the signature, store the raw delivery under its key, enqueue, answer at once.

- Bad or missing signature: 401 ``bad_signature``. A signed WAHA delivery whose event time (its
  ``X-Webhook-Timestamp``, which every retry keeps) is older than WAHA's retries last
  (``WAPIPE_WAHA_WEBHOOK_HORIZON``) or ahead of now by more than a clock skew: 401 ``stale_webhook`` /
  ``future_webhook``. Nothing is stored either way.
- Signed but malformed: 400 with the reason; the body is kept (state ``rejected``) for inspection.
- A delivery already stored (a redelivery): 200 ``duplicate``; nothing else happens.
- Too large: 413 before the body is read in full.

Every delivery is counted in the process's metrics by transport and outcome (``counted``): ``accepted``,
``duplicate``, ``ignored``, or the reason it was refused; ``error`` when the route failed.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from server.domain.errors import MalformedWebhook, NotAuthenticated, WaPipeError
from server.domain.models import InboundEventState
from server.jobs.inbound import keep_delivery
from server.storage.inbound_events import SqlInboundEventStore
from server.transports import waha_webhook_horizon
from server.web.resources import Resources
from server.whatsapp.cloud_webhook import verify_cloud_signature, verify_subscription
from server.whatsapp.waha_webhook import verify_waha_webhook
from server.whatsapp.webhook_bodies import CLOUD, WAHA, delivery_key, rejected_key

MAX_BODY_BYTES = 1024 * 1024  # webhooks carry media by reference; a megabyte is plenty


Route = Callable[[Request], Awaitable[Response]]


def counted(transport: str) -> Callable[[Route], Route]:
    """The route with each delivery (a POST) counted under ``transport`` by the outcome its answer names."""

    def wrap(route: Route) -> Route:
        @functools.wraps(route)
        async def answer(request: Request) -> Response:
            if request.method != "POST":
                return await route(request)  # the Cloud API's subscription handshake: no delivery
            metrics = request.app.state.resources.metrics
            try:
                response = await route(request)
            except Exception:
                metrics.webhook(transport, "error")
                raise
            metrics.webhook(transport, outcome_of(response))
            return response

        return answer

    return wrap


def outcome_of(response: Response) -> str:
    """What a webhook answer says became of the delivery: its ``status`` (accepted, duplicate, ignored) or
    its refusal's ``error`` reason (this module's answers name one or the other)."""
    try:
        body = json.loads(bytes(response.body))
    except ValueError:
        return "error"
    named = body.get("status") if response.status_code == 200 else body.get("error")
    return named if isinstance(named, str) else "error"


def refuse(status: int, reason: str, message: str) -> JSONResponse:
    return JSONResponse({"error": reason, "message": message}, status_code=status)


async def read_body(request: Request) -> bytes | None:
    declared = request.headers.get("content-length")
    if declared is not None and not (
        declared.isascii() and declared.isdigit() and len(declared) <= 12 and int(declared) <= MAX_BODY_BYTES
    ):
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return None
    return body


async def keep_rejected(
    store: SqlInboundEventStore, transport: str, session_name: str, body: bytes, error: MalformedWebhook
) -> Response:
    """A signed delivery WaPipe cannot read: kept for inspection, answered 400 with the reason."""
    await store.record(
        transport=transport,
        event_key=rejected_key(transport, body),
        session_name=session_name,
        body=body,
        state=InboundEventState.REJECTED,
        reason=error.reason,
        detail=error.message,
    )
    return refuse(400, error.reason, error.message)


async def store_and_queue(
    resources: Resources,
    store: SqlInboundEventStore,
    transport: str,
    event_key: str,
    session_name: str,
    body: bytes,
) -> Response:
    """Store a verified delivery once under its key and queue its processing; a redelivery is a duplicate."""
    is_new = await keep_delivery(
        store,
        resources.queue,
        transport=transport,
        event_key=event_key,
        session_name=session_name,
        body=body,
        received_at=resources.clock.now(),
    )
    if not is_new:
        return JSONResponse({"status": "duplicate"})
    return JSONResponse({"status": "accepted"})


async def _accept(request: Request, transport: str, body: bytes) -> Response:
    resources: Resources = request.app.state.resources
    store = SqlInboundEventStore(resources.engine)
    try:
        key = delivery_key(transport, body)
    except MalformedWebhook as error:
        return await keep_rejected(store, transport, "", body, error)
    return await store_and_queue(resources, store, transport, key.event_key, key.session_name, body)


@counted(WAHA)
async def waha_webhook(request: Request) -> Response:
    body = await read_body(request)
    if body is None:
        return refuse(413, "body_too_large", f"webhook bodies are limited to {MAX_BODY_BYTES} bytes")
    resources: Resources = request.app.state.resources
    try:
        verify_waha_webhook(
            request.headers,
            body,
            hmac_key=resources.settings.waha_webhook_hmac_key.get_secret_value(),
            now=resources.clock.now(),
            horizon=waha_webhook_horizon(resources.settings),
        )
    except NotAuthenticated as error:
        return refuse(401, error.reason, error.message)
    return await _accept(request, WAHA, body)


@counted(CLOUD)
async def cloud_webhook(request: Request) -> Response:
    resources: Resources = request.app.state.resources
    app_secret = resources.settings.cloud_app_secret.get_secret_value()
    if not app_secret:
        return refuse(404, "cloud_not_configured", "the Cloud API is not configured on this WaPipe")
    if request.method == "GET":
        try:
            challenge = verify_subscription(
                request.query_params, verify_token=resources.settings.cloud_verify_token.get_secret_value()
            )
        except WaPipeError as error:
            return refuse(403, error.reason, error.message)
        return PlainTextResponse(challenge)
    body = await read_body(request)
    if body is None:
        return refuse(413, "body_too_large", f"webhook bodies are limited to {MAX_BODY_BYTES} bytes")
    try:
        verify_cloud_signature(request.headers, body, app_secret=app_secret)
    except NotAuthenticated as error:
        return refuse(401, error.reason, error.message)
    return await _accept(request, CLOUD, body)
