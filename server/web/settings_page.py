"""The app settings page (``/settings``, Pipedrive's custom UI for app settings): import frequency, new
Persons, the action on a new chat and its pipeline, groups, exclusions, a matching preview, the team and
its numbers, open problems and the audit log. Only admins change anything; the server refuses others.
A user without an installation of their own sees only how to install WaPipe, nothing of the company."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from panels.numbers import numbers_view
from panels.settings import (
    AuditRow,
    ChatOption,
    ImportSchedule,
    PipelineOption,
    ProblemRow,
    SettingsFormView,
    SettingsPageView,
    audit_row,
    chat_option,
    render_audit,
    render_chats,
    render_pipeline_slot,
    render_settings_form,
    render_settings_install,
    render_settings_page,
    stored_words,
    team_row,
)
from server.domain.bounds import id_from_text
from server.domain.errors import NotFound, WaPipeError
from server.domain.settings_form import FieldError, SettingsInput, changes, check_settings
from server.domain.team import member_names
from server.domain.text import Text
from server.services.numbers import NotYours
from server.services.sync.flush import next_import, queue_due_chats
from server.services.sync.links import exclude_chat
from server.storage.accounts import SqlAccountStore
from server.storage.audit import SqlAuditLog
from server.storage.chat_history import SqlChatHistory
from server.storage.company_settings import SqlCompanySettingsStore
from server.storage.heartbeats import SqlHeartbeatStore
from server.storage.sync import SqlSyncStore
from server.web.frame_auth import FrameIdentity
from server.web.install_access import install_refusal, require_installation
from server.web.numbers import framed
from server.web.oauth import INSTALL_PATH
from server.web.resources import Resources
from server.web.settings_team import invite_url, team_members

log = logging.getLogger(__name__)
AUDIT_SHOWN = 20
CHOOSE_A_CHAT = Text("Choose one of this company's chats")


def _resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


async def is_admin(request: Request, identity: FrameIdentity) -> bool:
    """An admin with an active installation of this company: the only one who may change settings."""
    installation = await _resources(request).pipedrive.installations.get(
        identity.company.id, identity.pipedrive_user_id
    )
    return installation is not None and installation.is_admin and installation.is_active


async def require_admin(request: Request, identity: FrameIdentity) -> None:
    if not await is_admin(request, identity):
        raise NotYours(
            Text("Only a Pipedrive admin who installed WaPipe can change its settings"), reason="admin_only"
        )


async def pipelines(request: Request, identity: FrameIdentity) -> tuple[PipelineOption, ...] | None:
    """The company's pipelines through the user's installation (the admin's when the user has none)."""
    connector = _resources(request).pipedrive.connector
    try:
        try:
            client = await connector.for_user(identity.company.id, identity.pipedrive_user_id)
        except WaPipeError:
            client = await connector.for_company(identity.company.id)
        found = await client.deals.pipelines()
    except WaPipeError as error:
        log.info("pipelines unavailable", extra={"reason": error.reason, "company": identity.company.id})
        return None
    return tuple(
        PipelineOption(p.id, p.name) for p in sorted(found, key=lambda p: p.order_nr) if not p.is_deleted
    )


async def audit_rows(request: Request, company_id: int) -> tuple[AuditRow, ...]:
    """The recent entries, each naming its Pipedrive user as the company's installations know them."""
    resources = _resources(request)
    entries = await SqlAuditLog(resources.engine).recent(company_id, AUDIT_SHOWN)
    installations = await resources.pipedrive.installations.for_company(company_id)
    names = {i.pipedrive_user_id: i.name or i.email for i in installations}
    return tuple(
        audit_row(
            e.actor_user_id, names.get(e.actor_user_id, ""), e.action, e.subject, e.details, e.created_at
        )
        for e in entries
    )


async def chat_options(request: Request, company_id: int) -> tuple[ChatOption, ...]:
    chats = await SqlChatHistory(_resources(request).engine).chats(company_id)
    return tuple(
        chat_option(c.id, c.display_name, c.e164, c.is_group, c.excluded, c.person_name) for c in chats
    )


async def _form(
    request: Request,
    identity: FrameIdentity,
    typed: SettingsInput | None = None,
    errors: dict[str, FieldError] | None = None,
    *,
    saved: bool = False,
) -> SettingsFormView:
    if typed is None:
        typed = SettingsInput.from_values(
            await SqlCompanySettingsStore(_resources(request).engine).get(identity.company.id)
        )
    return SettingsFormView(
        typed,
        await pipelines(request, identity),
        await is_admin(request, identity),
        errors or {},
        saved,
        schedule=await import_schedule(request, identity.company.id),
    )


async def import_schedule(request: Request, company_id: int) -> ImportSchedule:
    resources = _resources(request)
    found = await next_import(SqlSyncStore(resources.engine), company_id, now=resources.clock.now())
    return ImportSchedule(found.batched, found.waiting_chats, found.at)


@framed
async def settings_page(request: Request, identity: FrameIdentity) -> Response:
    refusal = await install_refusal(request, identity)
    if refusal is not None:
        page = render_settings_install(refusal.reason, refusal.text, INSTALL_PATH)
        return HTMLResponse(page, status_code=403)
    resources = _resources(request)
    company_id = identity.company.id
    form = await _form(request, identity)
    installations = await resources.pipedrive.installations.for_company(company_id)
    members, roster_read = await team_members(request, identity)
    accounts = await SqlAccountStore(resources.engine).for_company(company_id)
    problems = runners = None
    if form.can_edit:  # an admin with an active installation
        found = await SqlSyncStore(resources.engine).open_problems(company_id)
        problems = tuple(ProblemRow(p.chat_id, p.reason, stored_words(p.detail)) for p in found)
        runners = tuple(sorted((await SqlHeartbeatStore(resources.engine).last_seen()).items()))
    view = SettingsPageView(
        form=form,
        team=tuple(team_row(member) for member in members),
        numbers=numbers_view(accounts, identity.pipedrive_user_id, member_names(installations)),
        chats=await chat_options(request, company_id),
        problems=problems,
        audit=await audit_rows(request, company_id),
        install_url=INSTALL_PATH,
        invite_url=invite_url(request),
        roster_read=roster_read,
        is_admin=form.can_edit,
        runners=runners,
    )
    return HTMLResponse(render_settings_page(view))


@framed
async def save_settings(request: Request, identity: FrameIdentity) -> Response:
    await require_admin(request, identity)
    resources = _resources(request)
    raw = {key: str(value) for key, value in (await request.form()).items()}
    typed = SettingsInput.from_form(raw)
    known = await pipelines(request, identity)
    checked = check_settings(typed, None if known is None else {p.id for p in known})
    if checked.values is None:
        schedule = await import_schedule(request, identity.company.id)
        view = SettingsFormView(typed, known, True, checked.errors, schedule=schedule)
        return HTMLResponse(render_settings_form(view), status_code=400)
    company_id = identity.company.id
    store = SqlCompanySettingsStore(resources.engine)
    before = await store.get(company_id)
    await store.save(company_id, checked.values)
    changed = changes(before, checked.values)
    if changed:
        await SqlAuditLog(resources.engine).record(
            identity.company.id, identity.pipedrive_user_id, "settings.update", "settings", changed
        )
    flushed = 0
    if "import_frequency" in changed:  # what the new period makes due (real time: all) is written now
        flushed = await queue_due_chats(
            SqlSyncStore(resources.engine), resources.queue, now=resources.clock.now(), company_id=company_id
        )
    view = SettingsFormView(
        SettingsInput.from_values(checked.values),
        known,
        True,
        saved=True,
        flushed=flushed,
        schedule=await import_schedule(request, company_id),
    )
    return HTMLResponse(render_settings_form(view), headers={"HX-Trigger": "audit-changed"})


@framed
async def pipeline_slot(request: Request, identity: FrameIdentity) -> Response:
    """The pipeline choice, shown only while "Create a deal" is the chosen action."""
    await require_installation(request, identity)
    typed = SettingsInput(
        new_chat_action=request.query_params.get("new_chat_action", ""),
        pipeline_id=request.query_params.get("pipeline_id", ""),
    )
    return HTMLResponse(render_pipeline_slot(await _form(request, identity, typed)))


@framed
async def audit_fragment(request: Request, identity: FrameIdentity) -> Response:
    await require_installation(request, identity)
    return HTMLResponse(render_audit(await audit_rows(request, identity.company.id)))


@framed
async def exclude_chat_action(request: Request, identity: FrameIdentity) -> Response:
    await require_admin(request, identity)
    resources = _resources(request)
    form = await request.form()
    raw_id, excluded = str(form.get("chat_id", "")), str(form.get("excluded", "1")) == "1"
    company_id = identity.company.id
    chat_id = id_from_text(raw_id)
    chat = await SqlChatHistory(resources.engine).chat(company_id, chat_id) if chat_id is not None else None
    if chat is None:
        error = FieldError("chat_not_found", CHOOSE_A_CHAT)
        return HTMLResponse(
            render_chats(await chat_options(request, company_id), True, error), status_code=404
        )
    try:
        await exclude_chat(
            SqlSyncStore(resources.engine),
            resources.queue,
            company_id,
            chat.id,
            excluded,
            now=resources.clock.now(),
        )
    except NotFound:
        error = FieldError("chat_not_found", CHOOSE_A_CHAT)
        return HTMLResponse(
            render_chats(await chat_options(request, company_id), True, error), status_code=404
        )
    action = "chat.exclude" if excluded else "chat.include"
    subject = str(  # the audit log keeps English
        chat_option(chat.id, chat.display_name, chat.e164, chat.is_group, excluded, chat.person_name).label
    )
    await SqlAuditLog(resources.engine).record(
        company_id, identity.pipedrive_user_id, action, subject, {"chat_id": chat.id, "number": chat.e164}
    )
    return HTMLResponse(
        render_chats(await chat_options(request, company_id), True), headers={"HX-Trigger": "audit-changed"}
    )


def routes() -> list[BaseRoute]:
    """The settings page and its actions (the preview, re-check and erase parts in modules of their own)."""
    from server.web.settings_erase import erase, erase_form
    from server.web.settings_preview import preview
    from server.web.settings_recheck import keep, recheck_list, relink

    return [
        Route("/settings", settings_page, methods=["GET"], name="settings"),
        Route("/settings", save_settings, methods=["POST"], name="settings_save"),
        Route("/settings/pipeline", pipeline_slot, methods=["GET"], name="settings_pipeline"),
        Route("/settings/audit", audit_fragment, methods=["GET"], name="settings_audit"),
        Route("/settings/exclusions", exclude_chat_action, methods=["POST"], name="settings_exclude"),
        Route("/settings/preview", preview, methods=["POST"], name="settings_preview"),
        Route("/settings/recheck", recheck_list, methods=["GET"], name="settings_recheck"),
        Route("/settings/recheck/keep", keep, methods=["POST"], name="settings_recheck_keep"),
        Route("/settings/recheck/relink", relink, methods=["POST"], name="settings_recheck_relink"),
        Route("/settings/erase", erase_form, methods=["GET"], name="settings_erase_form"),
        Route("/settings/erase", erase, methods=["POST"], name="settings_erase"),
    ]
