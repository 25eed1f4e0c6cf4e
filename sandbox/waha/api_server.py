"""WAHA's server endpoints (`GET /api/server/version`, the older `GET /api/version`) and the simulator's
switch of the server's version, engine and tier (`/_sim/server`, see `sandbox.waha.engines`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.waha.gateway import endpoint, json_body
from sandbox.waha.state import SandboxState


async def version(request: Request, waha: SandboxState) -> Response:
    return JSONResponse(waha.server.json())


async def switch(request: Request, waha: SandboxState) -> Response:
    if request.method == "POST":
        waha.server.switch(await json_body(request))
    return JSONResponse(waha.server.json())


routes = [
    Route("/api/server/version", endpoint(version), methods=["GET"]),
    Route("/api/version", endpoint(version), methods=["GET"]),
    Route("/_sim/server", endpoint(switch, auth=False), methods=["GET", "POST"]),
]
