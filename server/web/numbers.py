"""The numbers page (``/numbers``): link, watch and unlink the team's WhatsApp numbers, inside Pipedrive.

Only users with WaPipe installed for themselves see or change the numbers (``require_installation``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from panels.errors import ErrorView
from panels.numbers import (
    CloudLinkView,
    NumbersView,
    numbers_view,
    pairing_view,
    render_cloud_link,
    render_numbers_list,
    render_numbers_page,
    render_pairing,
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
from server.services.numbers import NumberLinking, link_cloud_number
from server.storage.accounts import SqlAccountStore
from server.storage.inbox import SqlInboxStore
from server.web.errors import PAGE, answer_with
from server.web.frame_auth import FrameIdentity, frame_identity
from server.web.install_access import require_installation
from server.web.resources import Resources
from server.whatsapp.waha import WahaTransport

log = logging.getLogger(__name__)
Handler = Callable[[Request, FrameIdentity], Awaitable[Response]]


def _linking(resources: Resources) -> NumberLinking:
    transport = resources.transports["waha"]
    assert isinstance(transport, WahaTransport)
    return NumberLinking(
        SqlAccountStore(resources.engine),
        SqlInboxStore(resources.engine),
        transport,
        transport.pairing_qr_image,
        max_pending=resources.settings.max_pending_pairings,
    )


def _phone_url(resources: Resources, session_name: str) -> str | None:
    """Outside production the gateway is the WhatsApp sandbox, whose simulated phone can scan the code."""
    if resources.settings.is_production:
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


@framed
async def pairing(request: Request, identity: FrameIdentity) -> Response:
    await require_installation(request, identity)
    linking = _linking(request.app.state.resources)
    state = await linking.pairing(identity.company.id, _account_id(request))
    phone = _phone_url(request.app.state.resources, state.account.session_name)
    poll = request.app.state.resources.settings.progress_poll
    view = pairing_view(state.account, state.status.value, state.qr_png, state.done, phone, poll_seconds=poll)
    headers = {"HX-Trigger": "numbers-changed"} if state.done else {}
    return HTMLResponse(render_pairing(view), headers=headers)


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
        Route("/numbers/{account_id:id}/unlink", unlink, methods=["POST"], name="numbers_unlink"),
    ]
