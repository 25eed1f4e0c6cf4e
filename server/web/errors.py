"""The web's one error boundary: a ``WaPipeError`` that leaves a route becomes its status and its answer.

Each route family says how its failures read (``answer_with``) before it runs: the numbers and settings
pages answer with the error partial, the panel with the whole panel page on its first load and the notice
alone for its htmx requests (swapped into ``notice_slot`` when one is named, so a form keeps what the user
typed), and Pipedrive's app notices with JSON. A route with nothing to say answers with the error partial.
Routes catch an error themselves only to show it inside something they re-render (a form, a list).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from panels.errors import ErrorView, render_error
from panels.panel import render_panel_error
from server.domain.errors import (
    BudgetExhausted,
    ConfigurationError,
    InvalidInput,
    NeedsReauth,
    NotAuthenticated,
    NotFound,
    NotInstalled,
    NumberNotOnWhatsApp,
    Transient,
    WaPipeError,
)
from server.services.numbers import NotYours, TooManyPending

log = logging.getLogger(__name__)
ANSWER_KEY = "wapipe.error_answer"
BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="wapipe"'}


@dataclass(frozen=True, slots=True)
class Answer:
    """How a route family's failures read: ``where`` names the surface ("page", "panel"); ``whole_panel``
    renders the panel page around the notice; ``json`` answers ``{"error", "message"}`` instead."""

    where: str = "page"
    whole_panel: bool = False
    notice_slot: str | None = None
    json: bool = False


PAGE = Answer()
JSON = Answer(json=True)


def answer_with(request: Request, answer: Answer) -> None:
    """Say how a failure of this request reads; call before anything that may raise."""
    request.scope[ANSWER_KEY] = answer


def error_status(error: WaPipeError) -> int:
    """The HTTP status of a named failure, the same on every route."""
    if isinstance(error, NotAuthenticated):
        return 401
    if isinstance(error, NotYours | NotInstalled | NeedsReauth):
        return 403
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, TooManyPending | BudgetExhausted):
        return 429
    if isinstance(error, InvalidInput | NumberNotOnWhatsApp):
        return 400
    if isinstance(error, Transient | ConfigurationError):
        return 503
    return 502


def _log(request: Request, error: WaPipeError, status: int) -> None:
    if isinstance(error, ConfigurationError):
        log.error("misconfigured", extra={"reason": error.reason, "detail": error.message})
    elif status >= 500:
        log.warning("upstream unavailable", extra={"reason": error.reason, "path": request.url.path})


async def wapipe_error(request: Request, exc: Exception) -> Response:
    """The exception handler for ``WaPipeError``: its status, and its answer as the route family said."""
    assert isinstance(exc, WaPipeError), "registered for WaPipeError only"
    status = error_status(exc)
    _log(request, exc, status)
    answer = request.scope.get(ANSWER_KEY, PAGE)
    if answer.json:
        headers = BASIC_CHALLENGE if status == 401 else None
        named = {"error": exc.reason, "message": exc.message}
        return JSONResponse(named, status_code=status, headers=headers)
    view = ErrorView(exc.reason, exc.text, where=answer.where)
    body = render_panel_error(view) if answer.whole_panel else render_error(view)
    slot = answer.notice_slot
    headers = {"HX-Retarget": f"#{slot}", "HX-Reswap": "innerHTML"} if slot else None
    return HTMLResponse(body, status_code=status, headers=headers)
