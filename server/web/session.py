"""Signing in to the chat view, which opens in a top-level window (never inside Pipedrive's iframes).

``GET /signin?next=/chats/5`` sends the user to Pipedrive's consent page with a signed ``state`` that
carries where to go back to (a local path only) and a digest of a nonce the browser keeps in a short-lived
cookie (HttpOnly, SameSite=Lax, Secure in production, sent only to the OAuth callback). Pipedrive returns
to the OAuth callback, which hands sign-in states to ``complete_signin``: the state must come back to the
browser that started it and only once; the code is exchanged, the user identified with ``/users/me``,
and a session cookie set only for a user with an active installation of WaPipe. The cookie is signed,
HttpOnly, SameSite=Lax, Secure in production and scoped to the chat view's paths (``/chats``), so no
iframe route ever sees it; it carries the installation's session epoch, which every uninstall moves on,
and every chat-view request reads the installation again (``signed_in_user``). Forms carry CSRF tokens
bound to the signed-in user.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from panels.chat import render_chat_problem
from panels.i18n import language, supported, use_language
from server.domain.errors import NeedsReauth, NotAuthenticated, NotInstalled, WaPipeError
from server.domain.installations import Installation, InstallationStatus
from server.domain.text import Text
from server.jobs.context import CALLBACK_PATH
from server.pipedrive.oauth import STATE_MAX_AGE, StateSigner
from server.storage.companies import SqlCompanyStore
from server.storage.oauth_states import SqlUsedStates
from server.web.language import answer_as
from server.web.resources import Resources

log = logging.getLogger(__name__)

COOKIE = "wapipe_session"
COOKIE_PATH = "/chats"
SESSION_SECONDS = 12 * 3600
SIGNIN_PATH = "/signin"
SIGNIN_PURPOSE = "signin"
NONCE_COOKIE = "wapipe_signin"  # the browser's half of a sign-in in progress
INSTALL_PATH = "/install"
_LOCAL_NEXT = re.compile(r"/chats/[0-9]{1,12}")
INVALID_TOKEN = Text("The form's security token is not valid; reload the page")


@dataclass(frozen=True, slots=True)
class SessionUser:
    company_id: int
    user_id: int
    name: str
    epoch: int = 0  # the installation's session epoch when the session began


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
        return SessionUser(int(data["c"]), int(data["u"]), str(data.get("n", "")), int(data["e"]))
    except (BadSignature, KeyError, TypeError, ValueError):
        return None


async def access_refusal(
    resources: Resources, company_id: int | None, installation: Installation | None
) -> WaPipeError | None:
    """Why this user may not use the chat view now (``None``: they may): only an active installation of
    their own lets them in. A colleague of an installed company without one is told to install WaPipe for
    themselves (each user installs once, no admin needed); in a company no admin has installed (or whose
    last installation was uninstalled) an admin must install it first."""
    if installation is not None and installation.status is InstallationStatus.ACTIVE:
        return None
    if installation is not None and installation.status is InstallationStatus.NEEDS_REAUTH:
        return NeedsReauth(
            Text(
                "Pipedrive no longer accepts WaPipe's authorisation for you: install WaPipe again (the link "
                "below), then open the chat again."
            )
        )
    installations = resources.pipedrive.installations
    if company_id is None or await installations.admin_installation(company_id) is None:
        return NotInstalled(
            Text(
                "WaPipe is not installed in your Pipedrive company, or it was uninstalled. A Pipedrive admin "
                "must install it before chats can be opened here."
            ),
            reason="company_not_installed",
        )
    return NotInstalled(
        Text(
            "WaPipe is installed in your Pipedrive company, but not for you: each team member installs it "
            "once, for themselves. Install it for yourself with the link below, then open the chat again."
        ),
        reason="install_required",
    )


async def signed_in_user(request: Request) -> SessionUser:
    """The session's user while their installation is active and is the one the session began with.

    ``NotAuthenticated`` when there is no valid session (``signin_required``) or WaPipe was uninstalled
    and installed again since it began (``session_ended``); the refusals of ``access_refusal`` when the
    user's installation is gone or no longer accepted.
    """
    user = current_user(request)
    if user is None:
        raise NotAuthenticated(Text("Sign in with Pipedrive to open this chat."), reason="signin_required")
    resources = _resources(request)
    installation = await resources.pipedrive.installations.get(user.company_id, user.user_id)
    answer_as(installation)  # the user's Pipedrive language
    refusal = await access_refusal(resources, user.company_id, installation)
    if refusal is not None:
        raise refusal
    assert installation is not None
    if installation.session_epoch != user.epoch:
        raise NotAuthenticated(
            Text("WaPipe was uninstalled for you since you signed in; sign in again."), reason="session_ended"
        )
    return user


def _install_link(refusal: WaPipeError) -> str | None:
    """The install link, for the refusals the user fixes by installing WaPipe themselves."""
    return INSTALL_PATH if refusal.reason in ("install_required", "needs_reauth") else None


async def chat_view_user(request: Request, *, page: bool = False) -> SessionUser | Response:
    """The signed-in user, or the answer for a visitor who is not (any more): the page sends them to sign
    in, its parts answer 401; a user whose installation is gone is refused and loses the cookie."""
    try:
        return await signed_in_user(request)
    except NotAuthenticated as error:
        if page:
            return signin_redirect(request.url.path)
        return problem(401, error.reason, error.text)
    except WaPipeError as error:
        return refused_session(error)


def refused_session(error: WaPipeError) -> HTMLResponse:
    """The page for a session whose user may no longer use the chat view; the cookie goes with it."""
    response = problem(403, error.reason, error.text, install_url=_install_link(error))
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response


def signin_redirect(path: str) -> RedirectResponse:
    return RedirectResponse(f"{SIGNIN_PATH}?{urlencode({'next': path})}", status_code=303)


def _browser_digest(nonce: str) -> str:
    """What the state carries of the browser's nonce: the URL never shows the nonce itself."""
    return hashlib.sha256(nonce.encode()).hexdigest()


async def signin(request: Request) -> Response:
    resources = _resources(request)
    nonce = secrets.token_urlsafe(32)
    state = _states(resources).issue(
        {
            "purpose": SIGNIN_PURPOSE,
            "next": safe_next(request.query_params.get("next")),
            "browser": _browser_digest(nonce),
        }
    )
    response = RedirectResponse(resources.pipedrive.oauth.authorize_url(state), status_code=302)
    response.set_cookie(
        NONCE_COOKIE,
        nonce,
        max_age=STATE_MAX_AGE,
        path=CALLBACK_PATH,
        httponly=True,
        secure=resources.settings.is_production,
        samesite="lax",
    )
    return response


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


NOT_YOURS = Text("This chat is not in your Pipedrive company, or it does not exist.")


def not_your_chat() -> HTMLResponse:
    """A chat of another company, or none at all: one answer for both, so a guessed id learns nothing."""
    return problem(403, "forbidden", NOT_YOURS)


def problem(
    status: int,
    reason: str,
    message: str | Text,
    *,
    retry_url: str | None = None,
    install_url: str | None = None,
) -> HTMLResponse:
    return HTMLResponse(render_chat_problem(reason, message, retry_url, install_url), status_code=status)


def _same_browser(request: Request, data: dict[str, str]) -> bool:
    """The callback reached the browser that started the sign-in: its nonce cookie matches the state."""
    nonce = request.cookies.get(NONCE_COOKIE, "")
    expected = data.get("browser", "")
    return bool(nonce and expected) and hmac.compare_digest(_browser_digest(nonce), expected)


async def complete_signin(request: Request, data: dict[str, str]) -> Response:
    """The callback of a sign-in; whatever it answers, the browser's nonce is spent."""
    response = await _complete_signin(request, data)
    response.delete_cookie(
        NONCE_COOKIE,
        path=CALLBACK_PATH,
        httponly=True,
        secure=_resources(request).settings.is_production,
        samesite="lax",
    )
    return response


async def _complete_signin(request: Request, data: dict[str, str]) -> Response:
    resources = _resources(request)
    target = safe_next(data.get("next"))
    retry = f"{SIGNIN_PATH}?{urlencode({'next': target})}"
    if not _same_browser(request, data):
        log.info("sign-in refused", extra={"reason": "signin_browser_mismatch"})
        return problem(
            403,
            "signin_browser_mismatch",
            Text("This sign-in was not started in this browser, or it took too long. Sign in again here."),
            retry_url=retry,
        )
    if not await SqlUsedStates(resources.engine).claim(data["browser"], max_age=STATE_MAX_AGE):
        return problem(
            403,
            "state_replayed",
            Text("This sign-in was already completed once; sign in again."),
            retry_url=retry,
        )
    if request.query_params.get("error"):
        return problem(
            403,
            "signin_denied",
            Text("You did not allow the sign-in, so the chat stays closed."),
            retry_url=retry,
        )
    code = request.query_params.get("code")
    if not code:
        return problem(
            400, "missing_code", Text("Pipedrive sent no authorisation code; sign in again."), retry_url=retry
        )
    try:
        tokens = await resources.pipedrive.oauth.exchange_code(code)
        me = await resources.pipedrive.oauth.identify(tokens)
    except WaPipeError as error:
        log.info("sign-in failed", extra={"reason": error.reason})
        return problem(
            400, error.reason, Text("Pipedrive did not confirm who you are; sign in again."), retry_url=retry
        )
    company = await SqlCompanyStore(resources.engine).get(me.company_id)
    installation = None
    if company is not None:
        installation = await resources.pipedrive.installations.get(company.id, me.id)
    use_language(supported(me.language) or language())  # who signs in said which language they read
    refusal = await access_refusal(resources, None if company is None else company.id, installation)
    if refusal is not None:
        log.info("sign-in refused", extra={"reason": refusal.reason, "pipedrive_user": me.id})
        return problem(403, refusal.reason, refusal.text, install_url=_install_link(refusal))
    assert installation is not None  # access_refusal lets only an active installation through
    value = _sessions(resources).dumps(
        {"c": installation.company_id, "u": me.id, "n": me.name[:100], "e": installation.session_epoch}
    )
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
    log.info("signed in", extra={"company": installation.company_id, "pipedrive_user": me.id})
    return response


def csrf_token(request: Request, user: SessionUser) -> str:
    return str(_csrf(_resources(request)).dumps({"c": user.company_id, "u": user.user_id}))


def check_csrf(request: Request, user: SessionUser, token: str | None) -> None:
    """``NotAuthenticated`` named ``csrf_missing`` or ``csrf_invalid``."""
    if not token:
        raise NotAuthenticated(
            Text("The form carried no security token; reload the page"), reason="csrf_missing"
        )
    try:
        data = _csrf(_resources(request)).loads(token, max_age=SESSION_SECONDS)
    except BadSignature as error:
        raise NotAuthenticated(INVALID_TOKEN, reason="csrf_invalid") from error
    if not isinstance(data, dict) or data.get("c") != user.company_id or data.get("u") != user.user_id:
        raise NotAuthenticated(INVALID_TOKEN, reason="csrf_invalid")
