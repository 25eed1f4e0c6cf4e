"""Fake Pipedrive pages that embed an app's custom UI iframe and speak the SDK protocol
(``static/host_sdk.js``; ``static/host.js`` for the panel).

Pages: ``/host/person/{id}``, ``/host/deal/{id}`` (a detail view with the app's panel in the sidebar; also
at ``/person/{id}`` and ``/deal/{id}``, where Pipedrive's web app has them) and ``/host/settings`` (the
app-settings surface). ``redirect_to`` with ``contacts`` or ``deals`` and an id opens that record's page,
as Pipedrive does; other views are noted on the page. Query parameters, all optional:

- ``client_id``: which registered OAuth client the app is (default: the first one registered);
- ``panel_url``: the iframe URL (default: the URL configured with `configure_host_app` or
  ``POST /_sandbox/host/apps``; ``settings_url`` for the settings page, else ``panel_url``);
- ``user_id``: who is looking (default: the first admin, else the first user);
- ``theme``: ``light`` (default) or ``dark``;
- ``init_timeout_ms``: the initialize deadline (default 10000, Pipedrive's 10 seconds).

The iframe gets ``id``, ``userId``, ``companyId``, ``token``, ``resource``, ``view``, ``selectedIds`` and
``theme`` like Pipedrive's; ``GET /host/token`` gives the host script a fresh JWT for ``get_signed_token``.
"""

from __future__ import annotations

import uuid
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from sandbox.pipedrive.host_timeline import timeline
from sandbox.pipedrive.jwt_token import sign_extension_token
from sandbox.pipedrive.state import OAuthClient, Record, SandboxState, SandboxUser

PACKAGE_DIR = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=PACKAGE_DIR / "templates")
PANEL_HEIGHTS = (100, 750)
SETTINGS_HEIGHTS = (100, 2000)
DEFAULT_INIT_TIMEOUT_MS = 10_000
PAGE_POLICY = "script-src 'self'; object-src 'none'; base-uri 'none'"


@dataclass
class HostApp:
    """Where an app's iframes live, per OAuth client."""

    panel_url: str | None = None
    settings_url: str | None = None
    modal_url: str | None = None  # the custom modal the list pages' action opens (``host_lists``)


@dataclass
class HostConfig:
    apps: dict[str, HostApp] = field(default_factory=dict)


_CONFIGS: weakref.WeakKeyDictionary[SandboxState, HostConfig] = weakref.WeakKeyDictionary()


def host_config_for(state: SandboxState) -> HostConfig:
    config = _CONFIGS.get(state)
    if config is None:
        config = _CONFIGS[state] = HostConfig()
    return config


def configure_host_app(
    state: SandboxState,
    client_id: str,
    *,
    panel_url: str | None = None,
    settings_url: str | None = None,
    modal_url: str | None = None,
) -> HostApp:
    """Set the default iframe URLs the host pages use for ``client_id``."""
    for url in (panel_url, settings_url, modal_url):
        if url is not None and not is_web_url(url):
            raise ValueError(f"not an absolute http(s) URL: {url!r}")
    app = host_config_for(state).apps.setdefault(client_id, HostApp())
    app.panel_url = panel_url or app.panel_url
    app.settings_url = settings_url or app.settings_url
    app.modal_url = modal_url or app.modal_url
    return app


def is_web_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


class HostPageError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class Viewer:
    client: OAuthClient
    user: SandboxUser


def resolve_viewer(state: SandboxState, request: Request) -> Viewer:
    query = request.query_params
    client_id = query.get("client_id")
    client = state.clients.get(client_id) if client_id else next(iter(state.clients.values()), None)
    if client is None:
        raise HostPageError("No such OAuth client; register one with SandboxState.add_client", 404)
    raw_user = query.get("user_id")
    active = sorted((u for u in state.users.values() if u.active), key=lambda u: u.id)
    if raw_user:
        user = state.users.get(int(raw_user)) if raw_user.isdigit() else None
        if user is None or not user.active:
            raise HostPageError(f"No active user {raw_user}", 404)
    else:
        user = next((u for u in active if u.is_admin), active[0] if active else None)
        if user is None:
            raise HostPageError("The sandbox has no users yet", 404)
    return Viewer(client, user)


def extension_src(base_url: str, params: dict[str, str]) -> str:
    return base_url + ("&" if urlsplit(base_url).query else "?") + urlencode(params)


def _items(value: Any) -> str:
    if isinstance(value, list):
        parts = [str(v.get("value", "")) if isinstance(v, dict) else str(v) for v in value]
        return ", ".join(p for p in parts if p)
    return "" if value is None else str(value)


def person_fields(state: SandboxState, record: Record) -> list[tuple[str, str]]:
    owner = state.users.get(record.get("owner_id") or 0)
    return [
        ("Phone", _items(record.get("phones", record.get("phone")))),
        ("Email", _items(record.get("emails", record.get("email")))),
        ("Organization", _items(record.get("org_id"))),
        ("Owner", owner.name if owner else _items(record.get("owner_id"))),
    ]


def deal_fields(state: SandboxState, company_id: int, record: Record) -> list[tuple[str, str]]:
    data = state.data.get(company_id)
    person = data.persons.get(record.get("person_id") or 0) if data else None
    stage = data.stages.get(record.get("stage_id") or 0) if data else None
    amount = record.get("value")
    shown = f"{amount:,.2f}".removesuffix(".00") if isinstance(amount, int | float) and amount else ""
    value = " ".join(p for p in (shown, _items(record.get("currency")) if shown else "") if p)
    return [
        ("Value", value),
        ("Status", _items(record.get("status"))),
        ("Stage", _items(stage.get("name")) if stage else _items(record.get("stage_id"))),
        ("Person", _items(person.get("name")) if person else _items(record.get("person_id"))),
    ]


def _page(state: SandboxState, request: Request, *, resource: str | None, entity_id: int | None) -> Response:
    try:
        viewer = resolve_viewer(state, request)
    except HostPageError as error:
        return _error(request, error)
    query = request.query_params
    app = host_config_for(state).apps.get(viewer.client.client_id, HostApp())
    default_url = app.panel_url if resource else (app.settings_url or app.panel_url)
    base_url = query.get("panel_url") or default_url
    if not base_url or not is_web_url(base_url):
        return _error(request, HostPageError("Give ?panel_url= (an absolute http(s) URL) or configure one"))
    theme = "dark" if query.get("theme") == "dark" else "light"
    timeout = query.get("init_timeout_ms", "")
    init_timeout_ms = int(timeout) if timeout.isdigit() else DEFAULT_INIT_TIMEOUT_MS
    identifier = str(uuid.uuid4())
    params = {"id": identifier, "userId": str(viewer.user.id), "companyId": str(viewer.user.company_id)}
    params["token"] = sign_extension_token(state, viewer.client, viewer.user)
    if resource is not None and entity_id is not None:
        params.update(resource=resource, view="details", selectedIds=str(entity_id))
    else:
        params["view"] = "settings"
    params["theme"] = theme
    company = state.companies.get(viewer.user.company_id)
    data = state.data.get(viewer.user.company_id)
    record: Record | None = None
    fields: list[tuple[str, str]] = []
    if data is not None and resource == "person" and entity_id is not None:
        record = data.persons.get(entity_id)
        fields = person_fields(state, record) if record else []
    elif data is not None and resource == "deal" and entity_id is not None:
        record = data.deals.get(entity_id)
        fields = deal_fields(state, viewer.user.company_id, record) if record else []
    shown = None
    if data is not None and record is not None and resource is not None and entity_id is not None:
        names = {u.id: u.name for u in state.company_users(viewer.user.company_id)}
        shown = timeline(data, names, resource, entity_id, record)
    title_key = "title" if resource == "deal" else "name"
    heights = PANEL_HEIGHTS if resource else SETTINGS_HEIGHTS
    context = {
        "resource": resource,
        "entity_id": entity_id,
        "title": _items(record.get(title_key)) if record else None,
        "fields": [(label, value) for label, value in fields if value],
        "timeline": shown,
        "viewer_query": urlencode({"user_id": str(viewer.user.id)}),
        "client": viewer.client,
        "user": viewer.user,
        "company": company,
        "users": sorted(state.users.values(), key=lambda u: u.id),
        "theme": theme,
        "identifier": identifier,
        "iframe_src": extension_src(base_url, params),
        "min_height": heights[0],
        "max_height": heights[1],
        "init_timeout_ms": init_timeout_ms,
        "init_timeout_label": f"{init_timeout_ms / 1000:g}",
        "token_url": "/host/token?"
        + urlencode({"client_id": viewer.client.client_id, "user_id": str(viewer.user.id)}),
        "kept_params": [(k, v) for k, v in query.items() if k != "user_id"],
    }
    template = "host_detail.html" if resource else "host_settings.html"
    response = TEMPLATES.TemplateResponse(request, template, context)
    # Notes are cleaned before they are shown; should anything slip through, no script runs but the host's.
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    return response


def _error(request: Request, error: HostPageError) -> Response:
    return TEMPLATES.TemplateResponse(
        request, "host_error.html", {"message": error.message}, status_code=error.status
    )


def host_routes(state: SandboxState) -> list[BaseRoute]:
    """Host pages, the token endpoint, ``host.js`` and the ``/_sandbox/host/apps`` control."""

    async def person(request: Request) -> Response:
        return _page(state, request, resource="person", entity_id=request.path_params["entity_id"])

    async def deal(request: Request) -> Response:
        return _page(state, request, resource="deal", entity_id=request.path_params["entity_id"])

    async def settings(request: Request) -> Response:
        return _page(state, request, resource=None, entity_id=None)

    async def download(request: Request) -> Response:
        """A file of the viewer's company, as Pipedrive's Files tab downloads it."""
        try:
            viewer = resolve_viewer(state, request)
        except HostPageError as error:
            return _error(request, error)
        data = state.data.get(viewer.user.company_id)
        stored = data.files.get(request.path_params["file_id"]) if data else None
        if stored is None or not stored.record["active_flag"]:
            return _error(request, HostPageError("This file is not in the sandbox (or was deleted)", 404))
        name = str(stored.record["name"])
        disposition = f"attachment; filename*=UTF-8''{quote(name, safe='')}"
        headers = {"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"}
        return Response(stored.content, media_type="application/octet-stream", headers=headers)

    async def token(request: Request) -> Response:
        try:
            viewer = resolve_viewer(state, request)
        except HostPageError as error:
            return JSONResponse({"error": error.message}, status_code=error.status)
        signed = sign_extension_token(state, viewer.client, viewer.user)
        return JSONResponse({"token": signed}, headers={"Cache-Control": "no-store"})

    async def apps(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "body must be JSON"}, status_code=400)
        if not isinstance(body, dict) or str(body.get("client_id", "")) not in state.clients:
            return JSONResponse({"error": "unknown client_id"}, status_code=404)
        try:
            app = configure_host_app(
                state,
                str(body["client_id"]),
                panel_url=body.get("panel_url"),
                settings_url=body.get("settings_url"),
                modal_url=body.get("modal_url"),
            )
        except (ValueError, AttributeError, TypeError) as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        urls = {"panel_url": app.panel_url, "settings_url": app.settings_url}
        return JSONResponse(urls | ({"modal_url": app.modal_url} if app.modal_url else {}))

    return [
        Route("/host/person/{entity_id:int}", person, methods=["GET"]),
        Route("/host/deal/{entity_id:int}", deal, methods=["GET"]),
        # Where Pipedrive's web app shows a record (``https://<company>.pipedrive.com/person/5``): the links
        # apps build, and where ``redirect_to`` takes the user.
        Route("/person/{entity_id:int}", person, methods=["GET"]),
        Route("/deal/{entity_id:int}", deal, methods=["GET"]),
        Route("/host/settings", settings, methods=["GET"]),
        Route("/host/files/{file_id:int}/download", download, methods=["GET"]),
        Route("/host/token", token, methods=["GET"]),
        Route("/_sandbox/host/apps", apps, methods=["POST"]),
        Mount("/host/static", app=StaticFiles(directory=PACKAGE_DIR / "static"), name="host-static"),
    ]
