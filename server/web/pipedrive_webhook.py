"""``POST /webhooks/pipedrive``: Pipedrive's deliveries about Persons (payload version 2.0).

Pipedrive sends the HTTP Basic credentials WaPipe gave when it created the webhook: user ``wapipe``, the
password derived for the company named in ``meta.company_id`` (``domain.person_events.webhook_password``).
They are checked first: missing, wrong, or for a company WaPipe has no installation of: 401
(``missing_credentials`` / ``bad_credentials``) and nothing is stored. Then:

- a delivery about anything but a Person: 200 ``ignored`` (not stored);
- a Person delivery that is malformed: 400 with the reason, the body kept (state ``rejected``);
- a delivery already stored (a retry carries the same ``meta.id``): 200 ``duplicate``;
- otherwise stored and queued (``process_inbound_event``): 200 ``accepted``. Any 2xx ends Pipedrive's
  retries.

Each delivery is counted by its outcome, as the WhatsApp webhooks' are (``server.web.webhooks.counted``).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.domain.errors import MalformedWebhook
from server.domain.person_events import (
    WEBHOOK_USER,
    company_of,
    entity_of,
    parse_person_event,
    webhook_password,
)
from server.jobs.person_events import PIPEDRIVE, pipedrive_event_key
from server.storage.companies import SqlCompanyStore
from server.storage.inbound_events import SqlInboundEventStore
from server.web.resources import Resources
from server.web.webhooks import MAX_BODY_BYTES, counted, keep_rejected, read_body, refuse, store_and_queue

log = logging.getLogger(__name__)


def _unauthorized(reason: str, message: str) -> Response:
    response = refuse(401, reason, message)
    response.headers["WWW-Authenticate"] = 'Basic realm="wapipe"'
    return response


def _basic(request: Request) -> tuple[bytes, bytes] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, colon, password = decoded.partition(b":")
    return (user, password) if colon else None


async def _known_company(resources: Resources, pipedrive_company_id: int) -> bool:
    company = await SqlCompanyStore(resources.engine).get(pipedrive_company_id)
    if company is None:
        return False
    installations = await resources.pipedrive.installations.for_company(company.id)
    return any(installation.is_active for installation in installations)


@counted(PIPEDRIVE)
async def pipedrive_webhook(request: Request) -> Response:
    resources: Resources = request.app.state.resources
    credentials = _basic(request)
    if credentials is None:
        return _unauthorized(
            "missing_credentials", "Pipedrive webhooks must carry WaPipe's Basic credentials"
        )
    body = await read_body(request)
    if body is None:
        return refuse(413, "body_too_large", f"webhook bodies are limited to {MAX_BODY_BYTES} bytes")
    company_id = company_of(body)
    expected = webhook_password(resources.settings.secret_key.get_secret_value(), company_id or 0)
    user_ok = hmac.compare_digest(credentials[0], WEBHOOK_USER.encode())
    password_ok = hmac.compare_digest(credentials[1], expected.encode())
    known = company_id is not None and await _known_company(resources, company_id)
    if not (user_ok and password_ok and known):
        return _unauthorized("bad_credentials", "The credentials are not those WaPipe gave this company")
    store = SqlInboundEventStore(resources.engine)
    try:
        if entity_of(body) != "person":
            return JSONResponse({"status": "ignored"})
        event = parse_person_event(body)
    except MalformedWebhook as error:
        return await keep_rejected(store, PIPEDRIVE, str(company_id), body, error)
    event_key = pipedrive_event_key(event.company_id, event.delivery_id)
    return await store_and_queue(resources, store, PIPEDRIVE, event_key, str(event.company_id), body)
