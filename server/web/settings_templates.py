"""The message templates page (``/settings/templates``, linked from the settings page): list, make, edit and
delete templates, with the placeholder help.

Same access as the settings page: Pipedrive's signed token on every request, and an installation of the
user's own. Admins manage the company's templates, every user their own; a non-admin touching a company
template is refused by name (``company_templates_admin_only``). A template naming a field Pipedrive does
not have is refused when saved, naming the field (``unknown_template_field``); an attachment is a file
in Pipedrive's Files, read once when saved for its name (``attachment_missing`` when there is none).
Every change is audited (``template.create`` / ``template.update`` / ``template.delete``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from panels.message_templates import (
    TemplateFormView,
    TemplatesPageView,
    edit_form,
    field_groups,
    render_template_form,
    render_templates_page,
    render_templates_section,
    template_rows,
)
from panels.settings import render_settings_install
from server.domain.bounds import id_from_text
from server.domain.errors import InvalidInput, NotFound
from server.domain.message_templates import (
    MessageTemplate,
    TemplateAttachment,
    TemplateDraft,
    TemplateScope,
    check_draft,
)
from server.domain.text import Text
from server.services.numbers import NotYours
from server.storage.audit import SqlAuditLog
from server.storage.message_templates import TEMPLATE_NOT_FOUND, SqlTemplateStore
from server.web.frame_auth import FrameIdentity
from server.web.install_access import install_refusal, require_installation
from server.web.numbers import framed
from server.web.oauth import INSTALL_PATH
from server.web.resources import Resources
from server.web.settings_page import is_admin
from server.web.template_fields import client_for, help_fields, known_for

ADMINS_ONLY = Text("Only a Pipedrive admin who installed WaPipe can change the company's templates")


def _store(request: Request) -> SqlTemplateStore:
    resources: Resources = request.app.state.resources
    return SqlTemplateStore(resources.engine)


async def _page(
    request: Request, identity: FrameIdentity, form: TemplateFormView | None = None
) -> TemplatesPageView:
    admin = await is_admin(request, identity)
    found = await _store(request).visible(identity.company.id, identity.pipedrive_user_id)
    return TemplatesPageView(
        rows=template_rows(found, identity.pipedrive_user_id, admin),
        form=form or TemplateFormView(can_choose_company=admin),
        fields=field_groups(await help_fields(request, identity)),
        is_admin=admin,
    )


@framed
async def templates_page(request: Request, identity: FrameIdentity) -> Response:
    refusal = await install_refusal(request, identity)
    if refusal is not None:
        return HTMLResponse(render_settings_install(refusal.reason, refusal.text, INSTALL_PATH), 403)
    return HTMLResponse(render_templates_page(await _page(request, identity)))


async def _may_change(request: Request, identity: FrameIdentity, scope: TemplateScope) -> None:
    if scope is TemplateScope.company and not await is_admin(request, identity):
        raise NotYours(ADMINS_ONLY, reason="company_templates_admin_only")


async def _editable(request: Request, identity: FrameIdentity, raw_id: str) -> MessageTemplate:
    template_id = id_from_text(raw_id)
    if template_id is None:
        raise NotFound(TEMPLATE_NOT_FOUND, reason="template_not_found")
    found = await _store(request).get(identity.company.id, identity.pipedrive_user_id, template_id)
    await _may_change(request, identity, found.scope)
    return found


@framed
async def template_form(request: Request, identity: FrameIdentity) -> Response:
    """The form alone: empty for a new template, or filled to edit one (``?id=``)."""
    await require_installation(request, identity)
    admin = await is_admin(request, identity)
    fields = field_groups(await help_fields(request, identity))
    raw_id = request.query_params.get("id")
    if not raw_id:
        return HTMLResponse(render_template_form(TemplateFormView(can_choose_company=admin), fields))
    found = await _editable(request, identity, raw_id)
    return HTMLResponse(render_template_form(edit_form(found, admin), fields))


async def _attachment(
    request: Request, identity: FrameIdentity, file_id: int | None
) -> TemplateAttachment | None:
    if file_id is None:
        return None
    client = await client_for(request, identity)
    try:
        stored = await client.files.get(file_id)
    except NotFound as error:
        missing = Text("Pipedrive has no file %(file)s; copy the id from the file's link", file=file_id)
        raise NotFound(missing, reason="attachment_missing") from error
    return TemplateAttachment(file_id, stored.name)


@framed
async def save_template(request: Request, identity: FrameIdentity) -> Response:
    await require_installation(request, identity)
    form = {key: str(value) for key, value in (await request.form()).items()}
    admin = await is_admin(request, identity)
    raw_id = form.get("id", "")
    scope = TemplateScope.company if form.get("scope") == "company" else TemplateScope.personal
    typed = TemplateFormView(
        template_id=id_from_text(raw_id),
        scope=scope.value,
        name=form.get("name", ""),
        text=form.get("text", ""),
        file_id=form.get("file_id", "").strip(),
        can_choose_company=admin,
    )
    store, company_id, user_id = _store(request), identity.company.id, identity.pipedrive_user_id
    try:
        existing = await _editable(request, identity, raw_id) if raw_id else None
        if existing is not None:
            scope = existing.scope
        await _may_change(request, identity, scope)
        file_id = id_from_text(typed.file_id) if typed.file_id else None
        if typed.file_id and file_id is None:
            raise InvalidInput(
                Text("A file id is a whole number, as in the file's link"), reason="attachment_missing"
            )
        draft = TemplateDraft(scope, typed.name, typed.text, file_id)
        draft = check_draft(draft, await known_for(request, identity, draft.text))
        attachment = await _attachment(request, identity, file_id)
        if existing is None:
            saved = await store.create(company_id, user_id, draft, attachment)
            action = "template.create"
        else:
            saved = await store.update(company_id, user_id, existing.id, draft, attachment)
            action = "template.update"
    except (InvalidInput, NotFound) as error:
        refused = TemplateFormView(
            typed.template_id,
            scope.value,
            typed.name,
            typed.text,
            typed.file_id,
            admin,
            error.reason,
            error.text,
        )
        status = 403 if isinstance(error, NotYours) else 404 if isinstance(error, NotFound) else 400
        return HTMLResponse(render_templates_section(await _page(request, identity, refused)), status)
    await _audit(request, identity, action, saved)
    done = TemplateFormView(can_choose_company=admin, saved=True)
    return HTMLResponse(render_templates_section(await _page(request, identity, done)))


@framed
async def delete_template(request: Request, identity: FrameIdentity) -> Response:
    await require_installation(request, identity)
    form = await request.form()
    found = await _editable(request, identity, str(form.get("id", "")))
    await _store(request).delete(identity.company.id, identity.pipedrive_user_id, found.id)
    await _audit(request, identity, "template.delete", found)
    return HTMLResponse(render_templates_section(await _page(request, identity)))


async def _audit(request: Request, identity: FrameIdentity, action: str, template: MessageTemplate) -> None:
    resources: Resources = request.app.state.resources
    details = {"id": template.id, "scope": template.scope.value}
    await SqlAuditLog(resources.engine).record(
        identity.company.id, identity.pipedrive_user_id, action, template.name, details
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/settings/templates", templates_page, methods=["GET"], name="settings_templates"),
        Route("/settings/templates", save_template, methods=["POST"], name="settings_templates_save"),
        Route("/settings/templates/form", template_form, methods=["GET"], name="settings_templates_form"),
        Route(
            "/settings/templates/delete", delete_template, methods=["POST"], name="settings_templates_delete"
        ),
    ]
