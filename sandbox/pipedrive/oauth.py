"""The sandbox's OAuth server: authorize (an Allow/Deny page), token, revoke, and an uninstall control.

Errors use Pipedrive's messages and status codes (all 400 on ``/oauth/token``). The error body's exact
shape is not documented; the sandbox answers ``{"success": false, "error": <oauth code>, "message": <text>}``.

Unlike the real server, the uninstall ``DELETE`` is also delivered to loopback URLs: that is the point of
having it here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeGuard
from urllib.parse import urlencode, urlsplit

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from sandbox.pipedrive.outbound import outbound_client
from sandbox.pipedrive.state import Grant, OAuthClient, SandboxState, SandboxUser

CODE_TTL = timedelta(minutes=5)
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")

ERR_NOT_FORM = f"Invalid request: content must be {FORM_CONTENT_TYPE}"
ERR_NO_CREDENTIALS = "Invalid client: cannot retrieve client credentials"
ERR_BAD_CLIENT = "Invalid client: client is invalid"
ERR_NO_GRANT_TYPE = "Missing parameter: grant_type"
ERR_GRANT_TYPE = "Unsupported grant type: grant_type is invalid"
ERR_CODE_INVALID = "Invalid grant: authorization_code is invalid"
ERR_CODE_EXPIRED = "Invalid grant: authorization_code has expired"
ERR_REFRESH_INVALID = "Invalid grant: refresh_token is invalid"
ERR_API_TOKEN_INVALID = "Invalid grant: api_token is invalid"  # noqa: S105 (an error message)
ERR_REDIRECT_MISSING = "Invalid request: redirect_uri is not a valid URI"
ERR_REDIRECT_MISMATCH = "Invalid request: redirect_uri is invalid"


class OAuthError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def response(self) -> JSONResponse:
        body = {"success": False, "error": self.code, "message": self.message}
        return JSONResponse(body, status_code=self.status)


@dataclass
class AuthorizationCode:
    code: str
    client_id: str
    redirect_uri: str
    company_id: int
    user_id: int
    expires_at: datetime
    used: bool = False


@dataclass
class UninstallDelivery:
    """One uninstall notification: what was sent and how the app answered (``status_code``)."""

    url: str
    body: dict[str, Any]
    status_code: int | None = None
    error: str | None = None


@dataclass
class OAuthServer:
    """Per-state OAuth data that `SandboxState` does not hold: codes, uninstall outcomes, the HTTP client.

    Set ``http`` to inject the client used for uninstall notifications (tests: ``httpx.ASGITransport``).
    """

    state: SandboxState
    http: httpx.AsyncClient | None = None
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    uninstalls: list[UninstallDelivery] = field(default_factory=list)

    def forget(self) -> None:
        """Forget the codes handed out and the uninstall notices sent (the HTTP client stays)."""
        self.codes.clear()
        self.uninstalls.clear()

    def issue_code(self, client: OAuthClient, redirect_uri: str, user: SandboxUser) -> str:
        seq = self.state.next_id("authorization_code")
        digest = hashlib.sha256(f"{seq}:{client.client_id}:{user.id}".encode()).hexdigest()
        code = f"{user.company_id}.{user.id}.{digest}"
        expires_at = self.state.clock.now() + CODE_TTL
        self.codes[code] = AuthorizationCode(
            code, client.client_id, redirect_uri, user.company_id, user.id, expires_at
        )
        return code

    def redeem_code(self, client: OAuthClient, code: str, redirect_uri: str) -> AuthorizationCode:
        found = self.codes.get(code)
        if found is None or found.used or found.client_id != client.client_id:
            raise OAuthError("invalid_grant", ERR_CODE_INVALID)
        if found.redirect_uri != redirect_uri:
            raise OAuthError("invalid_grant", ERR_CODE_INVALID)
        if self.state.clock.now() >= found.expires_at:
            raise OAuthError("invalid_grant", ERR_CODE_EXPIRED)
        found.used = True
        return found

    async def uninstall(self, client: OAuthClient, company_id: int, user_id: int) -> UninstallDelivery:
        """Revoke the user's grants, then tell the app with ``DELETE <redirect_uri>`` (Basic auth)."""
        self.state.revoke_user(client.client_id, company_id, user_id)
        body: dict[str, Any] = {
            "client_id": client.client_id,
            "company_id": company_id,
            "user_id": user_id,
            "timestamp": self.state.rfc3339(),
        }
        delivery = UninstallDelivery(client.redirect_uri, body)
        auth = httpx.BasicAuth(client.client_id, client.client_secret)
        try:
            if self.http is not None:
                response = await self.http.request("DELETE", client.redirect_uri, json=body, auth=auth)
            else:
                async with outbound_client(10.0) as http:
                    response = await http.request("DELETE", client.redirect_uri, json=body, auth=auth)
            delivery.status_code = response.status_code
        except httpx.HTTPError as error:
            delivery.error = f"{type(error).__name__}: {error}"
        self.uninstalls.append(delivery)
        return delivery


_SERVERS: weakref.WeakKeyDictionary[SandboxState, OAuthServer] = weakref.WeakKeyDictionary()


def oauth_server_for(state: SandboxState) -> OAuthServer:
    """The one `OAuthServer` of this state (created on first use)."""
    server = _SERVERS.get(state)
    if server is None:
        server = _SERVERS[state] = OAuthServer(state)
    return server


def granted_scopes(client: OAuthClient) -> list[str]:
    return [*client.scopes, "base"] if "base" not in client.scopes else list(client.scopes)


def with_query(url: str, params: dict[str, str]) -> str:
    return url + ("&" if urlsplit(url).query else "?") + urlencode(params)


def _is_absolute_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


# authorize ---------------------------------------------------------------------------------------------


def _error_page(request: Request, message: str, status: int = 400) -> Response:
    return TEMPLATES.TemplateResponse(request, "oauth_error.html", {"message": message}, status_code=status)


def _installable_users(state: SandboxState) -> list[SandboxUser]:
    return sorted((u for u in state.users.values() if u.active), key=lambda u: u.id)


def _default_user(users: list[SandboxUser], wanted: str | None) -> SandboxUser | None:
    if wanted and wanted.isdigit():
        match = next((u for u in users if u.id == int(wanted)), None)
        if match is not None:
            return match
    return next((u for u in users if u.is_admin), users[0] if users else None)


def _checked_client(state: SandboxState, client_id: str | None, redirect_uri: str | None) -> OAuthClient:
    client = state.clients.get(client_id or "")
    if client is None:
        raise OAuthError("invalid_client", ERR_BAD_CLIENT)
    if not redirect_uri or not _is_absolute_url(redirect_uri):
        raise OAuthError("invalid_request", ERR_REDIRECT_MISSING)
    if redirect_uri != client.redirect_uri:
        raise OAuthError("invalid_request", ERR_REDIRECT_MISMATCH)
    return client


def authorize_endpoints(server: OAuthServer) -> list[BaseRoute]:
    state = server.state

    async def show(request: Request) -> Response:
        query = request.query_params
        try:
            client = _checked_client(state, query.get("client_id"), query.get("redirect_uri"))
        except OAuthError as error:
            return _error_page(request, error.message)
        users = _installable_users(state)
        selected = _default_user(users, query.get("user_id"))
        if selected is None:
            return _error_page(request, "App cannot be installed for requested company", 400)
        context = {
            "client": client,
            "scopes": granted_scopes(client),
            "redirect_uri": client.redirect_uri,
            "oauth_state": query.get("state"),
            "users": users,
            "companies": state.companies,
            "selected_id": selected.id,
        }
        return TEMPLATES.TemplateResponse(request, "oauth_authorize.html", context)

    async def decide(request: Request) -> Response:
        form = await request.form()
        values = {key: value for key, value in form.items() if isinstance(value, str)}
        try:
            client = _checked_client(state, values.get("client_id"), values.get("redirect_uri"))
        except OAuthError as error:
            return _error_page(request, error.message)
        extra = {"state": values["state"]} if values.get("state") else {}
        if values.get("decision") != "allow":
            return RedirectResponse(with_query(client.redirect_uri, {"error": "user_denied", **extra}), 302)
        raw_user = values.get("user_id", "")
        user = state.users.get(int(raw_user)) if raw_user.isdigit() else None
        if user is None or not user.active:
            return _error_page(request, "App cannot be installed for requested company")
        code = server.issue_code(client, client.redirect_uri, user)
        return RedirectResponse(with_query(client.redirect_uri, {"code": code, **extra}), 302)

    return [
        Route("/oauth/authorize", show, methods=["GET"]),
        Route("/oauth/authorize", decide, methods=["POST"]),
    ]


# token and revoke ----------------------------------------------------------------------------------------


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


async def _form_and_client(state: SandboxState, request: Request) -> tuple[dict[str, str], OAuthClient]:
    """The form body and the authenticated client, or the OAuth error the real server gives."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_CONTENT_TYPE:
        raise OAuthError("invalid_request", ERR_NOT_FORM)
    form = await request.form()
    values = {key: value for key, value in form.items() if isinstance(value, str)}
    credentials = _basic_credentials(request.headers.get("authorization", ""))
    if credentials is None and values.get("client_id") and values.get("client_secret"):
        credentials = (values["client_id"], values["client_secret"])
    if credentials is None:
        raise OAuthError("invalid_client", ERR_NO_CREDENTIALS)
    client = state.clients.get(credentials[0])
    if client is None or client.client_secret != credentials[1]:
        raise OAuthError("invalid_client", ERR_BAD_CLIENT)
    return values, client


def token_response(state: SandboxState, grant: Grant) -> JSONResponse:
    expires_in = int((grant.expires_at - state.clock.now()).total_seconds())
    return JSONResponse(
        {
            "access_token": grant.access_token,
            "token_type": "Bearer",
            "refresh_token": grant.refresh_token,
            "scope": ",".join(grant.scopes),
            "expires_in": expires_in,
            "api_domain": state.api_domain(grant.company_id),
        },
        headers={"Cache-Control": "no-store"},
    )


def token_endpoints(server: OAuthServer) -> list[BaseRoute]:
    state = server.state

    def exchange_code(client: OAuthClient, values: dict[str, str]) -> Grant:
        redirect_uri = values.get("redirect_uri", "")
        if not redirect_uri or not _is_absolute_url(redirect_uri):
            raise OAuthError("invalid_request", ERR_REDIRECT_MISSING)
        if redirect_uri != client.redirect_uri:
            raise OAuthError("invalid_request", ERR_REDIRECT_MISMATCH)
        code = server.redeem_code(client, values.get("code", ""), redirect_uri)
        return state.issue_grant(client.client_id, code.company_id, code.user_id, granted_scopes(client))

    def refresh(client: OAuthClient, values: dict[str, str]) -> Grant:
        grant = state.grant_for_refresh_token(values.get("refresh_token", ""))
        if grant is None or grant.revoked or grant.client_id != client.client_id:
            raise OAuthError("invalid_grant", ERR_REFRESH_INVALID)
        return state.rotate_grant(grant)

    async def token(request: Request) -> Response:
        try:
            values, client = await _form_and_client(state, request)
            grant_type = values.get("grant_type")
            if not grant_type:
                raise OAuthError("invalid_request", ERR_NO_GRANT_TYPE)
            if grant_type == "authorization_code":
                grant = exchange_code(client, values)
            elif grant_type == "refresh_token":
                grant = refresh(client, values)
            elif grant_type == "exchange_api_token":
                raise OAuthError("invalid_grant", ERR_API_TOKEN_INVALID)
            else:
                raise OAuthError("unsupported_grant_type", ERR_GRANT_TYPE)
        except OAuthError as error:
            return error.response()
        return token_response(state, grant)

    async def revoke(request: Request) -> Response:
        """RFC 7009: 200 whether or not the token was found; a refresh token uninstalls the app."""
        try:
            values, client = await _form_and_client(state, request)
        except OAuthError as error:
            return error.response()
        token_value = values.get("token", "")
        mine = [g for g in state.grants if g.client_id == client.client_id]
        by_refresh = next((g for g in mine if g.refresh_token == token_value), None)
        by_access = next((g for g in mine if g.access_token == token_value), None)
        if values.get("token_type_hint") == "access_token" and by_access is not None:
            by_refresh = None
        if by_refresh is not None:
            state.revoke_user(client.client_id, by_refresh.company_id, by_refresh.user_id)
        elif by_access is not None:
            by_access.expires_at = min(by_access.expires_at, state.clock.now())
        return Response(status_code=200)

    return [
        Route("/oauth/token", token, methods=["POST"]),
        Route("/oauth/revoke", revoke, methods=["POST"]),
    ]


# uninstall control -------------------------------------------------------------------------------------


def control_endpoints(server: OAuthServer) -> list[BaseRoute]:
    state = server.state

    async def uninstall(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "body must be JSON"}, status_code=400)
        if not isinstance(body, dict):
            return JSONResponse({"error": "body must be a JSON object"}, status_code=400)
        client = state.clients.get(str(body.get("client_id", "")))
        company_id, user_id = body.get("company_id"), body.get("user_id")
        if client is None:
            return JSONResponse({"error": "unknown client_id"}, status_code=404)
        if not _is_id(company_id) or not _is_id(user_id):
            return JSONResponse({"error": "company_id and user_id must be integers"}, status_code=400)
        delivery = await server.uninstall(client, company_id, user_id)
        return JSONResponse(_delivery_json(delivery))

    async def deliveries(request: Request) -> Response:
        return JSONResponse([_delivery_json(d) for d in server.uninstalls])

    return [
        Route("/_sandbox/oauth/uninstall", uninstall, methods=["POST"]),
        Route("/_sandbox/oauth/uninstalls", deliveries, methods=["GET"]),
    ]


def _is_id(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _delivery_json(delivery: UninstallDelivery) -> dict[str, Any]:
    return {
        "url": delivery.url,
        "body": delivery.body,
        "status_code": delivery.status_code,
        "error": delivery.error,
    }


def oauth_routes(state: SandboxState) -> list[BaseRoute]:
    """Routes of the OAuth server (``/oauth/*``) and its uninstall control (``/_sandbox/oauth/*``)."""
    server = oauth_server_for(state)
    return [*authorize_endpoints(server), *token_endpoints(server), *control_endpoints(server)]
