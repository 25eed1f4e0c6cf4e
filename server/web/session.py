"""Signing in to the chat view, which opens in a top-level window (never inside Pipedrive's iframes).

``GET /signin?next=/chats/5`` sends the user to Pipedrive's consent page with a signed ``state`` that
carries where to go back to (a local path only). Pipedrive returns to the OAuth callback, which hands
sign-in states to ``complete_signin``: the code is exchanged, the user identified with ``/users/me``,
and a session cookie set. The cookie is signed, HttpOnly, SameSite=Lax, Secure in production and scoped
to the chat view's paths (``/chats``), so no iframe route ever sees it. Forms carry CSRF tokens bound to
the signed-in user.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from panels.chat import render_chat_problem
from server.domain.errors import NotAuthenticated, WaPipeError
from server.pipedrive.oauth import StateSigner
from server.storage.companies import SqlCompanyStore
from server.web.resources import Resources

log = logging.getLogger(__name__)

COOKIE = "wapipe_session"
COOKIE_PATH = "/chats"
SESSION_SECONDS = 12 * 3600
SIGNIN_PATH = "/signin"
SIGNIN_PURPOSE = "signin"
_LOCAL_NEXT = re.compile(r"/chats/[0-9]{1,12}")


@dataclass(frozen=True, slots=True)
class SessionUser:
    company_id: int
    user_id: int
    name: str


def _resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


def _secret(resources: Resources) -> str:
    return resources.settings.secret_key.get_secret_value()


def _sessions(resources: Resources) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_secret(resources), salt="wapipe.session")


def _csrf(resources: Resources) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_secret(resources), salt="wapipe.csrf")


def _states(resources: Resources) -> StateSigner:
    return StateSigner(_secret(resources), salt="wapipe.signin.state")


def safe_next(value: str | None) -> str:
    """Only our own chat view paths: never another host, scheme or a protocol-relative URL."""
    return value if value and _LOCAL_NEXT.fullmatch(value) else "/"


def current_user(request: Request) -> SessionUser | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data = _sessions(_resources(request)).loads(raw, max_age=SESSION_SECONDS)
        return SessionUser(int(data["c"]), int(data["u"]), str(data.get("n", "")))
    except (BadSignature, KeyError, TypeError, ValueError):
        return None


def signin_redirect(path: str) -> RedirectResponse:
    return RedirectResponse(f"{SIGNIN_PATH}?{urlencode({'next': path})}", status_code=303)


async def signin(request: Request) -> Response:
    resources = _resources(request)
    state = _states(resources).issue(
        {"purpose": SIGNIN_PURPOSE, "next": safe_next(request.query_params.get("next"))}
    )
    return RedirectResponse(resources.pipedrive.oauth.authorize_url(state), status_code=302)


def signin_state(request: Request) -> dict[str, str] | None:
    """The sign-in data when the callback's ``state`` is a valid sign-in state; ``None`` otherwise (an
    install, which the install flow handles as before)."""
    state = request.query_params.get("state")
    if not state:
        return None
    try:
        data = _states(_resources(request)).verify(state)
    except NotAuthenticated:
        return None
    return data if data.get("purpose") == SIGNIN_PURPOSE else None


def problem(status: int, reason: str, message: str, *, retry_url: str | None = None) -> HTMLResponse:
    return HTMLResponse(render_chat_problem(reason, message, retry_url), status_code=status)


async def complete_signin(request: Request, data: dict[str, str]) -> Response:
    resources = _resources(request)
    target = safe_next(data.get("next"))
    retry = f"{SIGNIN_PATH}?{urlencode({'next': target})}"
    if request.query_params.get("error"):
        return problem(
            403, "signin_denied", "You did not allow the sign-in, so the chat stays closed.", retry_url=retry
        )
    code = request.query_params.get("code")
    if not code:
        return problem(
            400, "missing_code", "Pipedrive sent no authorisation code; sign in again.", retry_url=retry
        )
    try:
        tokens = await resources.pipedrive.oauth.exchange_code(code)
        me = await resources.pipedrive.oauth.identify(tokens)
    except WaPipeError as error:
        log.info("sign-in failed", extra={"reason": error.reason})
        return problem(
            400, error.reason, "Pipedrive did not confirm who you are; sign in again.", retry_url=retry
        )
    company = await SqlCompanyStore(resources.engine).get(me.company_id)
    if company is None:
        return problem(403, "company_not_installed", "WaPipe is not installed in your Pipedrive company.")
    value = _sessions(resources).dumps({"c": company.id, "u": me.id, "n": me.name[:100]})
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        value,
        max_age=SESSION_SECONDS,
        path=COOKIE_PATH,
        httponly=True,
        secure=resources.settings.is_production,
        samesite="lax",
    )
    log.info("signed in", extra={"company": company.id, "pipedrive_user": me.id})
    return response


def csrf_token(request: Request, user: SessionUser) -> str:
    return str(_csrf(_resources(request)).dumps({"c": user.company_id, "u": user.user_id}))


def check_csrf(request: Request, user: SessionUser, token: str | None) -> None:
    """``NotAuthenticated`` named ``csrf_missing`` or ``csrf_invalid``."""
    if not token:
        raise NotAuthenticated("The form carried no security token; reload the page", reason="csrf_missing")
    try:
        data = _csrf(_resources(request)).loads(token, max_age=SESSION_SECONDS)
    except BadSignature as error:
        raise NotAuthenticated(
            "The form's security token is not valid; reload the page", reason="csrf_invalid"
        ) from error
    if not isinstance(data, dict) or data.get("c") != user.company_id or data.get("u") != user.user_id:
        raise NotAuthenticated(
            "The form's security token is not valid; reload the page", reason="csrf_invalid"
        )
