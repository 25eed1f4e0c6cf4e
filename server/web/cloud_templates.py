"""WhatsApp-approved templates in the web process: the service wired from the app's resources, the settings
page's section (``GET /settings/cloud-templates``: each approved template of the company's Cloud API
number and what fills its variables; ``POST``: an admin saves one template's mapping), the picker's
"WhatsApp-approved templates" group and what choosing one shows (``cloud_group``, ``picked_cloud``), and the
template a send from the panel or the chat view carries (``chosen_template``).

Values come from Pipedrive as the mapping needs them (``server.web.template_fields``): only the objects
the mapped placeholders name are read. Choosing a template puts its filled body in the message box and
its key in the form's ``cloud_template`` field; the body cannot be edited (Meta sends what it approved),
so Send sends the template and the inbox shows that body.

The approved templates are read from the Graph API with the Cloud transport's client and token, for the
WhatsApp Business Account ``WAPIPE_CLOUD_BUSINESS_ACCOUNT_ID`` names, and kept per number for five minutes
per process (``TemplateCache``). Like every framed request, each carries Pipedrive's signed token; the
company comes from it, never from the form. Saving is audited (``cloud_template.map``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

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
from panels.template_picker import PickedView, PickerChoice, PickerGroup
from server.domain.cloud_templates import TemplateSend, split_key
from server.domain.errors import InvalidInput, WaPipeError
from server.domain.models import Account
from server.domain.settings_form import FieldError
from server.domain.text import Text
from server.domain.whatsapp import MAX_TEXT_LENGTH, SessionStatus
from server.pipedrive.client import PipedriveClient
from server.services.cloud_templates import CLOUD, CloudTemplates, TemplateCache, require_cloud
from server.storage.accounts import SqlAccountStore
from server.storage.audit import SqlAuditLog
from server.storage.chat_history import ChatRow
from server.storage.cloud_templates import SqlTemplateMappings
from server.storage.companies import SqlCompanyStore
from server.web.frame_auth import FrameIdentity
from server.web.install_access import require_installation
from server.web.numbers import framed
from server.web.resources import Resources
from server.web.session import SessionUser
from server.web.settings_page import is_admin, require_admin
from server.web.template_fields import known_for, template_values
from server.whatsapp.cloud_templates import reader_for

log = logging.getLogger(__name__)
Values = Mapping[str, Mapping[str, str]]
CLOUD_CHOICE = "cloud"  # a picker choice's source: "cloud:order_update:en_US"
MAX_VARIABLES = 100  # more fields than any template has: a form with more is not ours


def template_cache(request: Request) -> TemplateCache:
    cache: TemplateCache | None = getattr(request.app.state, "cloud_templates", None)
    if cache is None:
        cache = request.app.state.cloud_templates = TemplateCache()
    return cache


def cloud_templates(request: Request) -> CloudTemplates:
    """The service over this process's Cloud transport (no reader when the Cloud API is not configured)."""
    resources: Resources = request.app.state.resources
    return CloudTemplates(
        reader_for(resources.transports.get(CLOUD)),
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


async def mapped_values(
    request: Request,
    identity: FrameIdentity,
    client: PipedriveClient,
    account: Account,
    key: str,
    *,
    person_id: int | None,
    deal_id: int | None,
) -> Values:
    """What the mapping of ``key`` needs from Pipedrive for this Person, Deal and sender."""
    resources: Resources = request.app.state.resources
    mapping = await SqlTemplateMappings(resources.engine).get(identity.company.id, key.strip()) or {}
    text = " ".join("{{" + placeholder + "}}" for placeholder in mapping.values())
    return await template_values(
        request, identity, client, text, person_id=person_id, deal_id=deal_id, sender_phone=account.e164 or ""
    )


async def chosen_template(
    request: Request,
    identity: FrameIdentity,
    client: PipedriveClient,
    account_id: int | None,
    key: str,
    *,
    person_id: int | None,
    deal_id: int | None,
) -> TemplateSend | None:
    """The approved template a send form chose (its ``cloud_template`` field, ``name:language``), filled
    for this contact; ``None`` when the form chose none (free text). Named refusals from the service."""
    if not key.strip():
        return None
    resources: Resources = request.app.state.resources
    company_id = identity.company.id
    account = (
        None if account_id is None else await SqlAccountStore(resources.engine).get(company_id, account_id)
    )
    if account is None:
        raise InvalidInput(Text("Choose the WhatsApp number to send from"), reason="unknown_from_number")
    require_cloud(account)
    split_key(key.strip())
    values = await mapped_values(
        request, identity, client, account, key, person_id=person_id, deal_id=deal_id
    )
    return await cloud_templates(request).for_send(company_id, account, key.strip(), values)


async def reply_template(request: Request, user: SessionUser, chat: ChatRow, key: str) -> TemplateSend | None:
    """``chosen_template`` for the chat view's reply: the chat's number and Person, the signed-in user."""
    if not key.strip():
        return None
    resources: Resources = request.app.state.resources
    company = await SqlCompanyStore(resources.engine).by_id(user.company_id)
    if company is None:
        raise InvalidInput(Text("Choose the WhatsApp number to send from"), reason="unknown_from_number")
    client = await resources.pipedrive.connector.for_user(user.company_id, user.user_id)
    identity = FrameIdentity(company, user.user_id)
    return await chosen_template(
        request, identity, client, chat.account_id, key, person_id=chat.person_id, deal_id=None
    )


async def cloud_group(
    request: Request, identity: FrameIdentity, account_id: int | None
) -> PickerGroup | None:
    """The picker's "WhatsApp-approved templates" group when the From number is a Cloud API number; none
    otherwise, or when Meta's list cannot be read now (the picker still offers the saved templates)."""
    resources: Resources = request.app.state.resources
    if account_id is None:
        return None
    account = await SqlAccountStore(resources.engine).get(identity.company.id, account_id)
    if account is None or account.transport != CLOUD:
        return None
    try:
        choices = await cloud_templates(request).approved_for_picker(identity.company.id, account, {})
    except WaPipeError as error:
        log.info("approved templates unavailable", extra={"reason": error.reason})
        return None
    return PickerGroup(
        CLOUD_CHOICE,
        Text("WhatsApp-approved templates"),
        tuple(
            PickerChoice(
                f"{CLOUD_CHOICE}:{c.key}",
                c.name,
                c.language if c.mapped else Text("%(language)s, not set up yet", language=c.language),
            )
            for c in choices
        ),
    )


async def picked_cloud(
    request: Request,
    identity: FrameIdentity,
    client: PipedriveClient,
    account_id: int | None,
    value: str,
    *,
    person_id: int | None,
    deal_id: int | None,
    text_slot: str,
) -> PickedView:
    """What choosing an approved template shows: its body filled for this contact in the message box (not
    to edit: the template is sent as approved) and its key in the form; or why it cannot be sent."""
    key = value.removeprefix(f"{CLOUD_CHOICE}:")
    try:
        sent = await chosen_template(
            request, identity, client, account_id, key, person_id=person_id, deal_id=deal_id
        )
    except InvalidInput as error:
        return PickedView("", "none", notice=error.text, notice_reason=error.reason)
    assert sent is not None
    return PickedView(
        sent.body,
        text_slot,
        notice=Text("WhatsApp sends this approved template as it is: changes to the text are not sent"),
        notice_reason="cloud_template_chosen",
        cloud_template=key,
        max_text=MAX_TEXT_LENGTH,
    )


def is_cloud_choice(value: str) -> bool:
    return value.startswith(f"{CLOUD_CHOICE}:")


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
        known = await known_for(
            request, identity, " ".join("{{" + v.strip("{} ") + "}}" for v in typed.values())
        )
        saved = await service.save_mapping(
            identity.company.id, identity.pipedrive_user_id, account, key, typed, known
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
