"""WhatsApp-approved templates in the web process: the service wired from the app's resources, the settings
page's section (``GET /settings/cloud-templates``: each approved template of the company's Cloud API
number and what fills its variables; ``POST``: an admin saves one template's mapping), and the template a
send from the panel or the chat view carries (``chosen_template``).

The approved templates are read from the Graph API with the Cloud transport's client and token, for the
WhatsApp Business Account ``WAPIPE_CLOUD_BUSINESS_ACCOUNT_ID`` names, and kept per number for five minutes
per process (``TemplateCache``). Like every framed request, each carries Pipedrive's signed token; the
company comes from it, never from the form. Saving is audited (``cloud_template.map``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from panels.cloud_templates import (
    CloudTemplatesView,
    render_cloud_template_row,
    render_cloud_templates,
    rows_of,
    template_row,
)
from server.domain.cloud_templates import STANDARD_FIELDS, TemplateSend, split_key
from server.domain.errors import InvalidInput, WaPipeError
from server.domain.models import Account
from server.domain.settings_form import FieldError
from server.domain.text import Text
from server.domain.whatsapp import SessionStatus
from server.services.cloud_templates import CLOUD, CloudTemplates, TemplateCache
from server.storage.accounts import SqlAccountStore
from server.storage.audit import SqlAuditLog
from server.storage.cloud_templates import SqlTemplateMappings
from server.web.frame_auth import FrameIdentity
from server.web.install_access import require_installation
from server.web.numbers import framed
from server.web.resources import Resources
from server.web.settings_page import is_admin, require_admin
from server.whatsapp.cloud import CloudTransport
from server.whatsapp.cloud_templates import CloudTemplateReader

Values = Mapping[str, Mapping[str, str]]
MAX_VARIABLES = 100  # more fields than any template has: a form with more is not ours


def template_cache(request: Request) -> TemplateCache:
    cache: TemplateCache | None = getattr(request.app.state, "cloud_templates", None)
    if cache is None:
        cache = request.app.state.cloud_templates = TemplateCache()
    return cache


def cloud_templates(request: Request) -> CloudTemplates:
    """The service over this process's Cloud transport (no reader when the Cloud API is not configured)."""
    resources: Resources = request.app.state.resources
    transport = resources.transports.get(CLOUD)
    reader = None
    if isinstance(transport, CloudTransport):
        reader = CloudTemplateReader(
            transport.http,
            access_token=transport.access_token,
            business_account_id=resources.settings.cloud_business_account_id,
            graph_url=transport.graph_url,
        )
    return CloudTemplates(
        reader,
        SqlTemplateMappings(resources.engine),
        resources.clock,
        template_cache(request),
        SqlAuditLog(resources.engine),
    )


def cloud_number(accounts: Sequence[Account]) -> Account | None:
    """The company's Cloud API number whose templates the settings show: a connected one first."""
    cloud = [a for a in accounts if a.transport == CLOUD]
    connected = [a for a in cloud if a.status == SessionStatus.CONNECTED.value]
    return next(iter(connected or cloud), None)


def contact_values(person_name: str, sender_name: str, deal_title: str = "") -> dict[str, dict[str, str]]:
    """The values a template is filled with when nothing richer was read (placeholder keys as in
    ``server.domain.templates``)."""
    first, _, last = person_name.strip().partition(" ")
    me_first = sender_name.strip().partition(" ")[0]
    return {
        "person": {"name": person_name.strip(), "first_name": first, "last_name": last.strip()},
        "deal": {"title": deal_title.strip()} if deal_title.strip() else {},
        "me": {"name": sender_name.strip(), "first_name": me_first},
    }


async def chosen_template(
    request: Request, company_id: int, account_id: int | None, key: str, values: Values
) -> TemplateSend | None:
    """The approved template a send form chose (its ``cloud_template`` field, ``name:language``), filled
    for this contact; ``None`` when the form chose none (free text). Named refusals from the service."""
    if not key.strip():
        return None
    resources: Resources = request.app.state.resources
    account = (
        None if account_id is None else await SqlAccountStore(resources.engine).get(company_id, account_id)
    )
    if account is None:
        raise InvalidInput(Text("Choose the WhatsApp number to send from"), reason="unknown_from_number")
    return await cloud_templates(request).for_send(company_id, account, key.strip(), values)


def known_fields() -> Mapping[str, Iterable[str]]:
    return STANDARD_FIELDS


async def _view(request: Request, identity: FrameIdentity) -> CloudTemplatesView:
    resources: Resources = request.app.state.resources
    accounts = await SqlAccountStore(resources.engine).for_company(identity.company.id)
    account = cloud_number(accounts)
    can_edit = await is_admin(request, identity)
    if account is None:
        return CloudTemplatesView("no_cloud_number", can_edit=can_edit)
    try:
        pairs = await cloud_templates(request).mappings(identity.company.id, account)
    except WaPipeError as error:
        problem = FieldError(error.reason, error.text)
        return CloudTemplatesView(
            "unavailable", can_edit=can_edit, number=account.e164 or "", problem=problem
        )
    return CloudTemplatesView("list", rows_of(pairs), can_edit, account.e164 or "")


@framed
async def cloud_templates_section(request: Request, identity: FrameIdentity) -> Response:
    await require_installation(request, identity)
    return HTMLResponse(render_cloud_templates(await _view(request, identity)))


@framed
async def save_cloud_template(request: Request, identity: FrameIdentity) -> Response:
    """One template's mapping: saved and shown again, or re-shown as typed with the refusal's reason."""
    await require_installation(request, identity)
    await require_admin(request, identity)
    resources: Resources = request.app.state.resources
    form = await request.form()
    key = str(form.get("template", ""))
    typed = {
        name.removeprefix("var:"): str(value)
        for name, value in list(form.multi_items())[:MAX_VARIABLES]
        if name.startswith("var:")
    }
    split_key(key)
    account = cloud_number(await SqlAccountStore(resources.engine).for_company(identity.company.id))
    if account is None:
        raise InvalidInput(
            Text("No WhatsApp Business (Cloud API) number is linked in this company"),
            reason="no_cloud_number",
        )
    service = cloud_templates(request)
    template = await service.template(account, key)
    try:
        saved = await service.save_mapping(
            identity.company.id, identity.pipedrive_user_id, account, key, typed, known_fields()
        )
    except InvalidInput as error:
        row = template_row(template, None, typed=typed, error=FieldError(error.reason, error.text))
        return HTMLResponse(render_cloud_template_row(row, True), status_code=400)
    row = template_row(template, saved, saved=True)
    return HTMLResponse(render_cloud_template_row(row, True), headers={"HX-Trigger": "audit-changed"})


def routes() -> list[BaseRoute]:
    return [
        Route("/settings/cloud-templates", cloud_templates_section, methods=["GET"], name="cloud_templates"),
        Route(
            "/settings/cloud-templates", save_cloud_template, methods=["POST"], name="cloud_templates_save"
        ),
    ]
