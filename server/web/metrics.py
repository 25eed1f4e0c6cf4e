"""``GET /metrics``: this web process's counts and the state every process reads alike, in Prometheus's
text format, for the operator's Prometheus only: the bearer token ``WAPIPE_METRICS_TOKEN`` is required
(``server.metrics.access``: 404 ``metrics_not_configured`` without one set, 401 ``metrics_token_required``
without the header, 403 ``bad_metrics_token`` for another). Workers serve the same on their own listener
(``WAPIPE_METRICS_PORT``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.metrics.access import refusal
from server.metrics.exposition import CONTENT_TYPE, scrape
from server.web.resources import Resources

NO_STORE = {"Cache-Control": "no-store"}


async def metrics(request: Request) -> Response:
    resources: Resources = request.app.state.resources
    refused = refusal(
        resources.settings.metrics_token.get_secret_value(), request.headers.get("authorization")
    )
    if refused is not None:
        headers = dict(NO_STORE)
        if refused.status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="wapipe-metrics"'
        return JSONResponse(
            {"error": refused.reason, "message": refused.message}, status_code=refused.status, headers=headers
        )
    body = await scrape(resources.metrics, resources.state)
    return Response(body, media_type=CONTENT_TYPE, headers=NO_STORE)
