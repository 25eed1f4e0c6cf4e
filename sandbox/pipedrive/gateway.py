"""What every API request passes through: faults, Bearer auth, scopes, limits, envelopes and errors.

Each request first starts the webhook retries that are due on the sandbox clock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.pipedrive import costs
from sandbox.pipedrive.limits import CLOUDFLARE_403_HTML
from sandbox.pipedrive.state import CompanyData, Grant, SandboxCompany, SandboxState, SandboxUser
from sandbox.pipedrive.webhooks import webhooks_for

ERROR_INFO = "Please check developers.pipedrive.com"
ALWAYS_GRANTED = frozenset({"base"})


class ApiError(Exception):
    """An error answer; `code` is set for v2 validation errors (`ERR_BAD_REQUEST`) and capping 403s."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


def bad_request(message: str) -> ApiError:
    return ApiError(400, message, "ERR_BAD_REQUEST")


def not_found(entity: str) -> ApiError:
    return ApiError(404, f"{entity} not found", "ERR_NOT_FOUND")


@dataclass
class ApiContext:
    request: Request
    state: SandboxState
    grant: Grant
    company: SandboxCompany
    user: SandboxUser
    data: CompanyData
    version: str

    def query(self, name: str) -> str | None:
        return self.request.query_params.get(name)

    def path_int(self, name: str = "id") -> int:
        return int(self.request.path_params[name])

    def path_str(self, name: str = "id") -> str:
        return str(self.request.path_params[name])

    async def json_object(self) -> dict[str, Any]:
        """The request body as an object. v1 also takes form-encoded bodies (values stay strings)."""
        raw = await self.request.body()
        content_type = self.request.headers.get("content-type", "")
        if self.version == "v1" and content_type.startswith("application/x-www-form-urlencoded"):
            return dict(parse_qsl(raw.decode()))
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise bad_request("Request body is not valid JSON") from exc
        if not isinstance(body, dict):
            raise bad_request("Request body must be a JSON object")
        return body

    def shape(self, record: dict[str, Any], nullable: Iterable[str] = ()) -> dict[str, Any]:
        """Drop null values the spec does not allow, unless the sandbox is told to emit them."""
        if self.state.emit_nulls:
            return dict(record)
        keep = set(nullable)
        return {k: v for k, v in record.items() if v is not None or k in keep}


def envelope(data: Any, additional_data: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"success": True, "data": data}
    if additional_data is not None:
        body["additional_data"] = additional_data
    return body


def ok(data: Any, additional_data: dict[str, Any] | None = None, status: int = 200) -> JSONResponse:
    return JSONResponse(envelope(data, additional_data), status_code=status)


def error_response(status: int, message: str, code: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {
        "success": False,
        "error": message,
        "error_info": ERROR_INFO,
        "data": None,
        "additional_data": None,
    }
    if code is not None:
        body["code"] = code
    return JSONResponse(body, status_code=status)


def gateway_error(status: int, message: str) -> JSONResponse:
    body = {"success": False, "error": message, "errorCode": status, "error_info": ERROR_INFO}
    return JSONResponse(body, status_code=status)


Handler = Callable[[ApiContext], Awaitable[Response]]


@dataclass(frozen=True)
class Endpoint:
    version: str
    method: str
    path: str
    handler: Handler
    search: bool = False
    id_type: str = "int"


def _authenticate(state: SandboxState, request: Request) -> Grant | Response:
    header = request.headers.get("authorization")
    if not header:
        return gateway_error(401, "unauthorized access")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return gateway_error(400, "Invalid request: malformed authorization header")
    grant = state.grant_for_access_token(token.strip())
    if grant is None or grant.revoked or grant.expires_at <= state.clock.now():
        return gateway_error(401, "Invalid token: access_token is invalid")
    user = state.users.get(grant.user_id)
    if user is None or not user.active or grant.company_id not in state.companies:
        return gateway_error(401, "Invalid token: access_token is invalid")
    return grant


def build_route(state: SandboxState, endpoint: Endpoint, prefix: str) -> Route:
    op = costs.operation(endpoint.version, endpoint.method, endpoint.path)
    route_path = endpoint.path.replace("{id}", "{id:int}") if endpoint.id_type == "int" else endpoint.path

    async def serve(request: Request) -> Response:
        webhooks_for(state).run_due()
        limiter = state.limiter
        if limiter.faults.latency_ms:
            await asyncio.sleep(limiter.faults.latency_ms / 1000)
        if limiter.take_cloudflare_403():
            return HTMLResponse(CLOUDFLARE_403_HTML, status_code=403)
        forced = limiter.take_forced_5xx()
        if forced is not None:
            return error_response(forced, "Internal server error")
        grant = _authenticate(state, request)
        if isinstance(grant, Response):
            return grant
        if op.scopes and not (set(grant.scopes) | ALWAYS_GRANTED) & set(op.scopes):
            return gateway_error(403, "Scope and URL mismatch")
        company = state.companies[grant.company_id]
        admission = limiter.admit(
            token=grant.access_token,
            company_id=company.id,
            plan=company.plan,
            seats=sum(1 for u in state.company_users(company.id) if u.active),
            cost=op.cost,
            operation=op.key,
            is_search=endpoint.search,
        )
        if not admission.allowed:
            response: Response = gateway_error(429, "Request over limit")
        else:
            ctx = ApiContext(
                request=request,
                state=state,
                grant=grant,
                company=company,
                user=state.users[grant.user_id],
                data=state.company_data(company.id),
                version=endpoint.version,
            )
            try:
                response = await endpoint.handler(ctx)
            except ApiError as exc:
                response = error_response(exc.status, exc.message, exc.code)
        response.headers.update(admission.headers)
        return response

    return Route(prefix + route_path, serve, methods=[endpoint.method.upper()], name=f"{prefix}{op.key}")


def build_routes(state: SandboxState, endpoints: Iterable[Endpoint]) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for endpoint in endpoints:
        prefixes = ("/api/v2",) if endpoint.version == "v2" else ("/api/v1", "/v1")
        routes.extend(build_route(state, endpoint, prefix) for prefix in prefixes)
    return routes
