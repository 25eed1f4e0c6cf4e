"""Installing and uninstalling WaPipe the way Pipedrive apps do: the routes (the use cases are
``server.services.install``).

- ``GET /install``: our own install URL (Developer Hub's "Installation URL"): off to Pipedrive's consent page
  with a signed, expiring ``state``.
- ``GET /oauth/callback``: Pipedrive sends the user back with ``code`` (or ``error=user_denied``). Installs
  started in the Marketplace carry no ``state``; ours must carry a valid one, and only once. The code is
  exchanged, the user identified with ``/users/me``, company and installation stored (tokens encrypted); an
  admin install queues the company's set-up in Pipedrive (job ``setup:<company>``).
- ``DELETE /oauth/callback``: Pipedrive's uninstall notice, authenticated with the app's client credentials
  (HTTP Basic, compared in constant time). The user's tokens are deleted at once.
- ``POST /oauth/callback``: panel-visibility notices; authenticated, acknowledged, ignored.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from panels.errors import ErrorView
from panels.install import (
    InstalledView,
    SetupProgress,
    render_installed,
    render_problem,
    render_setup_progress,
)
from server.domain.bounds import id_from_json, id_from_text
from server.domain.errors import InvalidInput, NotAuthenticated, Permanent, Transient
from server.domain.installations import Installation, StoredTokens
from server.domain.text import Text
from server.jobs.context import CALLBACK_PATH
from server.jobs.setup import SETUP_JOB, setup_job_id
from server.pipedrive.connector import stored_tokens
from server.pipedrive.oauth import STATE_MAX_AGE, StateSigner
from server.services.install import Installer, InstallService
from server.storage.companies import SqlCompanyStore
from server.storage.oauth_states import SqlUsedStates
from server.web.errors import JSON, answer_with
from server.web.language import answer_as
from server.web.resources import Resources
from server.web.session import INSTALL_PATH, complete_signin, signin_state

log = logging.getLogger(__name__)

__all__ = ["CALLBACK_PATH", "INSTALLED_PATH", "INSTALL_PATH"]
INSTALLED_PATH = "/installed"
TICKET_MAX_AGE = 3600
UNINSTALL_BODY_LIMIT = 4096


def _resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


def _signer(resources: Resources) -> StateSigner:
    return StateSigner(resources.settings.secret_key.get_secret_value())


def _tickets(resources: Resources) -> URLSafeTimedSerializer:
    """Signed pointers to an installation, so the installed page needs no cookie."""
    return URLSafeTimedSerializer(resources.settings.secret_key.get_secret_value(), salt="wapipe.installed")


def _install_service(resources: Resources) -> InstallService:
    oauth = resources.pipedrive.oauth

    async def authorise(code: str) -> tuple[Installer, StoredTokens]:
        tokens = await oauth.exchange_code(code)
        me = await oauth.identify(tokens)
        installer = Installer(
            me.id,
            me.company_id,
            me.name,
            me.email,
            me.company_name,
            me.timezone_name,
            me.is_admin,
            me.language,
        )
        return installer, stored_tokens(tokens)

    async def queue_setup(company_id: int) -> object:
        return await resources.queue.enqueue(SETUP_JOB, company_id, job_id=setup_job_id(company_id))

    return InstallService(
        companies=SqlCompanyStore(resources.engine),
        installations=resources.pipedrive.installations,
        company_setup=resources.pipedrive.company_setup,
        used_states=SqlUsedStates(resources.engine),
        authorise=authorise,
        queue_setup=queue_setup,
        state_max_age=STATE_MAX_AGE,
    )


def _problem(status: int, reason: str, message: str | Text, *, retry: bool = True) -> HTMLResponse:
    problem = ErrorView(reason, message, where="install", retry_url=INSTALL_PATH if retry else None)
    return HTMLResponse(render_problem(problem), status_code=status)


async def install(request: Request) -> Response:
    resources = _resources(request)
    state = _signer(resources).issue()
    return RedirectResponse(resources.pipedrive.oauth.authorize_url(state), status_code=302)


async def callback(request: Request) -> Response:
    signin = signin_state(request)  # the chat view's sign-in comes back here too
    if signin is not None:
        return await complete_signin(request, signin)
    try:
        return await _complete_install(request)
    except InvalidInput as error:  # NotAuthenticated among them: a bad, expired or replayed link
        return _problem(400, error.reason, error.text)
    except Transient as error:
        log.warning("install failed for now", extra={"reason": error.reason})
        return _problem(
            503, error.reason, Text("Pipedrive did not answer in time; please install WaPipe again.")
        )
    except Permanent as error:
        log.error("install failed", extra={"reason": error.reason})
        return _problem(502, error.reason, error.text)


async def _complete_install(request: Request) -> Response:
    resources = _resources(request)
    query = request.query_params
    oauth_error = query.get("error")
    if oauth_error == "user_denied":
        return _problem(
            200,
            "user_denied",
            Text("You chose not to allow WaPipe access to Pipedrive, so nothing was installed or stored."),
        )
    if oauth_error:
        raise InvalidInput(
            Text("Pipedrive answered with an error (%(error)s)", error=oauth_error[:64]), reason="oauth_error"
        )
    nonce = _signer(resources).read(query.get("state"))[0] if "state" in query else None  # ours only
    done = await _install_service(resources).install(state_nonce=nonce, code=query.get("code"))
    answer_as(done.installation)  # the installer's Pipedrive language from here on
    if done.awaiting_admin:
        return _problem(200, "admin_required", _awaiting_admin(done.installer))
    url = _after_install_url(resources, done.installation, done.company.name, done.api_domain)
    return RedirectResponse(url, status_code=303)


def _awaiting_admin(installer: Installer) -> Text:
    """What a team member who installed before any admin of their company reads."""
    company = installer.company_name or Text("your Pipedrive company")
    if installer.name:
        return Text(
            "WaPipe is installed for you, %(name)s, but no admin of %(company)s has installed it yet. An "
            'admin must install WaPipe first (it creates the "WhatsApp chat" activity type and fields, and '
            "runs the sync); ask one to open this install link. Your panel works as soon as they have.",
            name=installer.name,
            company=company,
        )
    return Text(
        "WaPipe is installed for you, welcome, but no admin of %(company)s has installed it yet. An admin "
        'must install WaPipe first (it creates the "WhatsApp chat" activity type and fields, and runs the '
        "sync); ask one to open this install link. Your panel works as soon as they have.",
        company=company,
    )


def _after_install_url(
    resources: Resources, installation: Installation, company_name: str, api_domain: str
) -> str:
    """Pipedrive's settings page of the app (production); our installed page (demo and test)."""
    client_id = resources.settings.pipedrive_client_id
    if resources.settings.is_production:
        return f"{api_domain}/settings/marketplace/app/{client_id}/app-settings"
    payload = {"c": installation.company_id, "u": installation.pipedrive_user_id, "n": company_name}
    return f"{INSTALLED_PATH}?ticket={_tickets(resources).dumps(payload)}"


async def _ticket_installation(request: Request) -> tuple[Installation, str]:
    """The installation the ticket points at, and its company's name."""
    resources = _resources(request)
    expired = Text("This page has expired; open WaPipe from Pipedrive")
    try:
        payload = _tickets(resources).loads(request.query_params.get("ticket", ""), max_age=TICKET_MAX_AGE)
        company_id, user_id, company_name = int(payload["c"]), int(payload["u"]), str(payload["n"])
    except (BadSignature, KeyError, TypeError, ValueError) as error:
        raise NotAuthenticated(expired, reason="invalid_ticket") from error
    installation = await resources.pipedrive.installations.get(company_id, user_id)
    if installation is None:
        raise NotAuthenticated(expired, reason="invalid_ticket")
    answer_as(installation)  # the installer's Pipedrive language
    return installation, company_name


def _polls(request: Request) -> int:
    """How often the page asked already (it gives up after a while); ``InvalidInput`` unless a count."""
    polls = request.query_params.get("polls", "0")
    if not (polls.isascii() and polls.isdigit() and len(polls) <= 6):
        raise InvalidInput(
            Text("The page's count of its polls is not a number; open it again"), reason="invalid_polls"
        )
    return int(polls)


async def _progress(request: Request, installation: Installation, polls: int) -> SetupProgress:
    resources = _resources(request)
    state = await resources.pipedrive.company_setup.state(installation.company_id)
    ticket = request.query_params.get("ticket", "")
    return SetupProgress(
        complete=state is not None and state.complete,
        status_url=f"{INSTALLED_PATH}/setup?ticket={ticket}",
        polls=polls,
        poll_seconds=resources.settings.progress_poll,
    )


async def installed(request: Request) -> Response:
    try:
        installation, company_name = await _ticket_installation(request)
        polls = _polls(request)
    except InvalidInput as error:  # an expired ticket (NotAuthenticated) too
        return _problem(400, error.reason, error.text, retry=False)
    resources = _resources(request)
    settings_url = None
    if not resources.settings.is_production:  # the Pipedrive sandbox's page hosting our settings
        settings_url = f"{resources.settings.pipedrive_oauth_url.rstrip('/')}/host/settings?" + (
            f"client_id={resources.settings.pipedrive_client_id}&user_id={installation.pipedrive_user_id}"
        )
    view = InstalledView(
        company_name=company_name,
        user_name=installation.name,
        is_admin=installation.is_admin,
        setup=await _progress(request, installation, polls),
        settings_url=settings_url,
    )
    return HTMLResponse(render_installed(view))


async def setup_status(request: Request) -> Response:
    try:
        installation, _ = await _ticket_installation(request)
        polls = _polls(request)
    except InvalidInput as error:  # an expired ticket (NotAuthenticated) too
        return _problem(400, error.reason, error.text, retry=False)
    return HTMLResponse(render_setup_progress(await _progress(request, installation, polls)))


# uninstall ---------------------------------------------------------------------------------------------


def _client_authenticated(request: Request, resources: Resources) -> bool:
    """The Basic credentials equal the app's client id and secret (constant-time, both always compared)."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    given_id, _, given_secret = decoded.partition(b":")
    expected_id = resources.settings.pipedrive_client_id.encode()
    expected_secret = resources.settings.pipedrive_client_secret.get_secret_value().encode()
    id_ok = hmac.compare_digest(given_id, expected_id)
    secret_ok = hmac.compare_digest(given_secret, expected_secret)
    return scheme.lower() == "basic" and bool(expected_secret) and id_ok and secret_ok


def _check_client(request: Request, resources: Resources) -> None:
    if not _client_authenticated(request, resources):
        raise NotAuthenticated(
            "Basic auth with the app's client credentials", reason="bad_client_credentials"
        )


def _pipedrive_id(value: Any) -> int | None:
    """A JSON integer or its plain digits, 1 to ``MAX_ID``; ``None`` for anything else."""
    return id_from_text(value) if isinstance(value, str) else id_from_json(value)


def parse_uninstall(raw: bytes, client_id: str) -> tuple[int, int]:
    """``(company_id, user_id)`` from the uninstall body; ``InvalidInput`` with a named reason otherwise."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidInput("the body is not JSON", reason="invalid_json") from error
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object", reason="invalid_body")
    if body.get("client_id") != client_id:
        raise InvalidInput("client_id is missing or not this app's", reason="client_id_mismatch")
    company_id = _pipedrive_id(body.get("company_id"))
    if company_id is None:
        raise InvalidInput("company_id must be a positive integer", reason="invalid_company_id")
    user_id = _pipedrive_id(body.get("user_id"))
    if user_id is None:
        raise InvalidInput("user_id must be a positive integer", reason="invalid_user_id")
    timestamp = body.get("timestamp")
    if (
        isinstance(timestamp, bool)
        or not isinstance(timestamp, str | int | float)
        or not str(timestamp).strip()
    ):
        raise InvalidInput("timestamp is missing", reason="invalid_timestamp")
    return company_id, user_id


async def uninstall(request: Request) -> Response:
    answer_with(request, JSON)
    resources = _resources(request)
    _check_client(request, resources)
    raw = await request.body()
    if len(raw) > UNINSTALL_BODY_LIMIT:
        return JSONResponse(
            {"error": "body_too_large", "message": f"at most {UNINSTALL_BODY_LIMIT} bytes"}, status_code=413
        )
    company_id, user_id = parse_uninstall(raw, resources.settings.pipedrive_client_id)
    await _install_service(resources).uninstall(company_id, user_id)
    return JSONResponse({"status": "ok"})


async def visibility_notice(request: Request) -> Response:
    answer_with(request, JSON)
    _check_client(request, _resources(request))
    return JSONResponse({"status": "ignored"})


def routes() -> list[BaseRoute]:
    """The install flow's pages and Pipedrive's app notices."""
    return [
        Route(INSTALL_PATH, install, methods=["GET"], name="install"),
        Route(CALLBACK_PATH, callback, methods=["GET"], name="oauth_callback"),
        Route(CALLBACK_PATH, uninstall, methods=["DELETE"], name="oauth_uninstall"),
        Route(CALLBACK_PATH, visibility_notice, methods=["POST"], name="oauth_notice"),
        Route(INSTALLED_PATH, installed, methods=["GET"], name="installed"),
        Route(f"{INSTALLED_PATH}/setup", setup_status, methods=["GET"], name="installed_setup"),
    ]
