"""The numbers page (``/numbers``): link, watch and unlink the team's WhatsApp numbers, inside Pipedrive.

Only users with WaPipe installed for themselves see or change the numbers (``require_installation``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from panels.errors import ErrorView
from panels.numbers import (
    CloudLinkView,
    NumbersView,
    PairingCodeView,
    code_status_text,
    numbers_view,
    pairing_view,
    render_cloud_link,
    render_numbers_list,
    render_numbers_page,
    render_pairing,
    render_pairing_code,
    render_pairing_qr,
    render_pairing_status,
)
from server.domain.errors import (
    ConfigurationError,
    InvalidInput,
    Permanent,
    Transient,
    Unauthorized,
)
from server.domain.team import member_names
from server.domain.text import Text
from server.jobs.inbound import catch_up_job_id
from server.services.numbers import NotYours, NumberLinking, link_cloud_number
from server.storage.accounts import SqlAccountStore
from server.storage.inbox import SqlInboxStore
from server.transports import web_transport
from server.web.errors import PAGE, answer_with
from server.web.frame_auth import FrameIdentity, frame_identity
from server.web.install_access import require_installation
from server.web.resources import Resources
from server.whatsapp.embedded import EmbeddedTransport
from server.whatsapp.waha import WahaTransport

log = logging.getLogger(__name__)
Handler = Callable[[Request, FrameIdentity], Awaitable[Response]]


def _linking(resources: Resources) -> NumberLinking:
    transport = web_transport(resources.transports)
    assert isinstance(transport, WahaTransport | EmbeddedTransport)

    async def catch_up(account_id: int) -> None:  # the phone's chats, as after a reconnection
        await resources.queue.enqueue("catch_up_account", account_id, job_id=catch_up_job_id(account_id))

    return NumberLinking(
        SqlAccountStore(resources.engine),
        SqlInboxStore(resources.engine),
        transport,
        transport.pairing_qr_image,
        max_pending=resources.settings.max_pending_pairings,
        on_connected=catch_up,
    )


def _phone_url(resources: Resources, session_name: str) -> str | None:
    """Outside production the gateway is the WhatsApp sandbox, whose simulated phone can scan the code."""
    if resources.settings.is_production or "waha" not in resources.transports:
        return None
    return f"{resources.settings.waha_url.rstrip('/')}/_sim/phone/{session_name}"


def framed(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Verify the Pipedrive token, then run the handler; a named failure becomes the error partial
    (``server.web.errors``)."""

    async def endpoint(request: Request) -> Response:
        answer_with(request, PAGE)
        identity = await frame_identity(request)
        return await handler(request, identity)

    return endpoint


def _account_id(request: Request) -> int:
    return int(request.path_params["account_id"])


async def _view(request: Request, identity: FrameIdentity) -> NumbersView:
    """The company's numbers, each owner named as the company's installations know them."""
    resources: Resources = request.app.state.resources
    accounts = await SqlAccountStore(resources.engine).for_company(identity.company.id)
    installations = await resources.pipedrive.installations.for_company(identity.company.id)
    return numbers_view(accounts, identity.pipedrive_user_id, member_names(installations))


async def _list(request: Request, identity: FrameIdentity) -> str:
    return render_numbers_list(await _view(request, identity))


@framed
async def numbers_page(request: Request, identity: FrameIdentity) -> Response:
    await require_installation(request, identity)
    resources: Resources = request.app.state.resources
    view = await _view(request, identity)
    problem = await _gateway_problem(resources)
    return HTMLResponse(
        render_numbers_page(view, cloud="cloud" in resources.transports, gateway_problem=problem)
    )


async def _gateway_problem(resources: Resources) -> ErrorView | None:
    """Why no number can be linked through WAHA as it runs now; ``None`` when it can, or when WAHA cannot
    be reached this moment (linking says so when it is tried)."""
    transport = resources.transports.get("waha")
    if transport is None:
        return None
    try:
        await transport.check_ready()
    except ConfigurationError as error:
        return ErrorView(error.reason, error.text)
    except (Transient, Permanent) as error:
        log.warning("WAHA's version could not be read", extra={"reason": error.reason})
    return None


@framed
async def numbers_list(request: Request, identity: FrameIdentity) -> Response:
    await require_installation(request, identity)
    return HTMLResponse(await _list(request, identity))


@framed
async def start_linking(request: Request, identity: FrameIdentity) -> Response:
    await require_installation(request, identity)
    linking = _linking(request.app.state.resources)
    account = await linking.start(identity.company.id, identity.pipedrive_user_id)
    pairing = await linking.pairing(identity.company.id, account.id)
    phone = _phone_url(request.app.state.resources, account.session_name)
    poll = request.app.state.resources.settings.progress_poll
    view = pairing_view(
        pairing.account, pairing.status.value, pairing.qr_png, pairing.done, phone, poll_seconds=poll
    )
    return HTMLResponse(render_pairing(view), headers={"HX-Trigger": "numbers-changed"})


PARTS = ("", "qr", "status")  # the whole pairing view, or the part that asks again (QR or code view)
DONE_REPLACES_ALL = {"HX-Trigger": "numbers-changed", "HX-Retarget": "#pairing", "HX-Reswap": "outerHTML"}


@framed
async def pairing(request: Request, identity: FrameIdentity) -> Response:
    """Where linking stands: the whole view, or (``part``) only what the page asks for again."""
    await require_installation(request, identity)
    part = request.query_params.get("part", "")
    if part not in PARTS:
        raise InvalidInput(
            Text("%(part)s is not a part of the pairing view", part=repr(part[:20])), reason="invalid_part"
        )
    resources: Resources = request.app.state.resources
    state = await _linking(resources).pairing(
        identity.company.id, _account_id(request), with_qr=part != "status"
    )
    phone = _phone_url(resources, state.account.session_name)
    poll = resources.settings.progress_poll
    view = pairing_view(state.account, state.status.value, state.qr_png, state.done, phone, poll_seconds=poll)
    if state.done:  # a part's poll replaces the whole view with the linked number
        headers = DONE_REPLACES_ALL if part else {"HX-Trigger": "numbers-changed"}
        return HTMLResponse(render_pairing(view), headers=headers)
    if part == "qr":
        return HTMLResponse(render_pairing_qr(view))
    if part == "status":
        code = PairingCodeView(state.account.id, "", None, code_status_text(state.status.value), poll)
        return HTMLResponse(render_pairing_status(code))
    return HTMLResponse(render_pairing(view))


@framed
async def pairing_code(request: Request, identity: FrameIdentity) -> Response:
    """The code to type on the phone instead of scanning; a refusal shows the QR view again with the form
    open, what was typed kept and the reason named."""
    await require_installation(request, identity)
    resources: Resources = request.app.state.resources
    linking = _linking(resources)
    typed = str((await request.form()).get("phone") or "").strip()
    poll = resources.settings.progress_poll
    try:
        asked = await linking.pairing_code(
            identity.company.id, identity.pipedrive_user_id, _account_id(request), typed
        )
    except InvalidInput as error:
        if isinstance(error, NotYours) or error.reason == "not_pairing":
            raise
        state = await linking.pairing(identity.company.id, _account_id(request))
        phone = _phone_url(resources, state.account.session_name)
        view = pairing_view(
            state.account, state.status.value, state.qr_png, state.done, phone, poll_seconds=poll
        )
        refused = replace(view, typed_phone=typed[:40], phone_error=ErrorView(error.reason, error.text))
        return HTMLResponse(render_pairing(refused), status_code=400)
    label = code_status_text("needs_pairing")
    view_code = PairingCodeView(asked.account.id, asked.e164, asked.code, label, poll)
    return HTMLResponse(render_pairing_code(view_code))


@framed
async def unlink(request: Request, identity: FrameIdentity) -> Response:
    await require_installation(request, identity)
    linking = _linking(request.app.state.resources)
    await linking.unlink(identity.company.id, identity.pipedrive_user_id, _account_id(request))
    return HTMLResponse(await _list(request, identity))


@framed
async def link_cloud(request: Request, identity: FrameIdentity) -> Response:
    """Link a Cloud API number by its phone number id; a refusal shows the form again, the id kept."""
    await require_installation(request, identity)
    resources: Resources = request.app.state.resources
    transport = resources.transports.get("cloud")
    if transport is None:
        raise InvalidInput(
            Text(
                "The Cloud API is not configured on this server: set WAPIPE_CLOUD_ACCESS_TOKEN and "
                "WAPIPE_CLOUD_APP_SECRET, or link a number by QR code"
            ),
            reason="cloud_not_configured",
        )
    typed = str((await request.form()).get("phone_number_id") or "").strip()
    try:
        account = await link_cloud_number(
            SqlAccountStore(resources.engine),
            SqlInboxStore(resources.engine),
            transport,
            company_id=identity.company.id,
            user_id=identity.pipedrive_user_id,
            phone_number_id=typed,
        )
    except InvalidInput as error:
        view = CloudLinkView(typed[:64], ErrorView(error.reason, error.text))
        return HTMLResponse(render_cloud_link(view), status_code=400)
    except Unauthorized as error:
        message = Text("Meta refused WaPipe's Cloud API access token: renew WAPIPE_CLOUD_ACCESS_TOKEN")
        view = CloudLinkView(typed[:64], ErrorView("cloud_token_refused", message))
        log.warning("cloud api refused the token", extra={"reason": error.reason})
        return HTMLResponse(render_cloud_link(view), status_code=400)
    view = CloudLinkView("", linked=account.e164 or typed)
    return HTMLResponse(render_cloud_link(view), headers={"HX-Trigger": "numbers-changed"})


def routes() -> list[BaseRoute]:
    """The numbers page and its actions."""
    return [
        Route("/numbers", numbers_page, methods=["GET"], name="numbers_page"),
        Route("/numbers", start_linking, methods=["POST"], name="numbers_link"),
        Route("/numbers/list", numbers_list, methods=["GET"], name="numbers_list"),
        Route("/numbers/cloud", link_cloud, methods=["POST"], name="numbers_link_cloud"),
        Route("/numbers/{account_id:id}/pairing", pairing, methods=["GET"], name="numbers_pairing"),
        Route(
            "/numbers/{account_id:id}/pairing-code",
            pairing_code,
            methods=["POST"],
            name="numbers_pairing_code",
        ),
        Route("/numbers/{account_id:id}/unlink", unlink, methods=["POST"], name="numbers_unlink"),
    ]
