"""Ids in paths, and the answer for a path that is no route.

``{name:id}`` matches only the ids WaPipe can hold (``server.domain.bounds``): 1 to 2**31 - 1 in plain
digits. Anything else in its place (a larger number, a sign, a space, another notation) is not a route, and
every path that is not a route gets a 404 named ``not_found`` instead of Starlette's bare "Not Found".
"""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from panels.errors import ErrorView, render_error
from server.domain.bounds import ID_PATTERN, id_from_text


class IdConvertor(Convertor[int]):
    regex = ID_PATTERN

    def convert(self, value: str) -> int:
        found = id_from_text(value)
        assert found is not None, "the route's pattern admits ids only"
        return found

    def to_string(self, value: int) -> str:
        text = str(value)
        if id_from_text(text) is None:
            raise ValueError(f"{value!r} is not an id")
        return text


register_url_convertor("id", IdConvertor())


async def not_found(request: Request, exc: Exception) -> Response:
    """Starlette's 404s (no route matches, no such static file), named like every other refusal."""
    message = "There is nothing at this address: check the link, or open the page again from Pipedrive."
    headers = exc.headers if isinstance(exc, HTTPException) else None
    return HTMLResponse(render_error(ErrorView("not_found", message)), status_code=404, headers=headers)
