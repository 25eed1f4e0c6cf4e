"""The Pipedrive sandbox as one Starlette app: REST API v1 + v2, `/_sandbox` controls, OAuth, host pages."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from sandbox.pipedrive import (
    api_fields,
    api_v1,
    api_v1_files,
    api_v1_filters,
    api_v1_leads,
    api_v1_notes,
    api_v1_persons,
    api_v2_activities,
    api_v2_deals,
    api_v2_organizations,
    api_v2_persons,
    search,
)
from sandbox.pipedrive.control import control_routes
from sandbox.pipedrive.control_lists import list_routes
from sandbox.pipedrive.control_people import people_routes
from sandbox.pipedrive.gateway import Endpoint, build_routes, error_response
from sandbox.pipedrive.host import host_routes
from sandbox.pipedrive.host_lists import list_page_routes
from sandbox.pipedrive.index import index_routes
from sandbox.pipedrive.oauth import oauth_routes
from sandbox.pipedrive.state import SandboxState

ENDPOINTS: list[Endpoint] = [
    *search.ENDPOINTS,
    *api_v2_persons.ENDPOINTS,
    *api_v2_deals.ENDPOINTS,
    *api_v2_organizations.ENDPOINTS,
    *api_v1_filters.ENDPOINTS,
    *api_v2_activities.ENDPOINTS,
    *api_fields.ENDPOINTS,
    *api_v1.ENDPOINTS,
    *api_v1_leads.ENDPOINTS,
    *api_v1_files.ENDPOINTS,
    *api_v1_notes.ENDPOINTS,
    *api_v1_persons.ENDPOINTS,
]


async def _not_found(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith(("/api/", "/v1/")):
        return error_response(404, "Unknown method .")
    return PlainTextResponse("Not Found", status_code=404)


def create_app(state: SandboxState | None = None) -> Starlette:
    """The sandbox app around `state` (a fresh, empty one if not given), kept on `app.state.sandbox`."""
    state = state or SandboxState()
    routes = [
        *build_routes(state, ENDPOINTS),
        *control_routes(state),
        *people_routes(state),
        *list_routes(state),
        *oauth_routes(state),
        *host_routes(state),
        *list_page_routes(state),
        *index_routes(state),
    ]
    app = Starlette(routes=routes, exception_handlers={404: _not_found})
    app.state.sandbox = state
    return app
