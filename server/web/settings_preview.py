"""The settings page's matching preview: paste numbers, see which Person each would match and by which
rule. Reads the phone index and searches Pipedrive; writes nothing anywhere."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from panels.settings import PreviewLine, render_preview
from server.domain.errors import WaPipeError
from server.domain.phones import region_of
from server.jobs.sync_crm import PipedriveCrm
from server.services.match_preview import PersonSearch, preview_matches
from server.storage.accounts import SqlAccountStore
from server.storage.sync_index import SqlPhoneIndexStore
from server.web.frame_auth import FrameIdentity
from server.web.install_access import require_installation
from server.web.numbers import framed
from server.web.resources import Resources
from server.web.settings_erase import erase, erase_form
from server.web.settings_page import (
    audit_fragment,
    exclude_chat_action,
    pipeline_slot,
    save_settings,
    settings_page,
)

MAX_TYPED = 4000


async def _crm(resources: Resources, identity: FrameIdentity) -> PersonSearch | None:
    connector = resources.pipedrive.connector
    try:
        try:
            client = await connector.for_user(identity.company.id, identity.pipedrive_user_id)
        except WaPipeError:
            client = await connector.for_company(identity.company.id)
    except WaPipeError:
        return None
    return PipedriveCrm(client)


async def _region(resources: Resources, company_id: int) -> str | None:
    """National numbers are read in the country of the company's first linked number."""
    for account in await SqlAccountStore(resources.engine).for_company(company_id):
        if account.e164:
            return region_of(account.e164)
    return None


@framed
async def preview(request: Request, identity: FrameIdentity) -> Response:
    await require_installation(request, identity)
    resources: Resources = request.app.state.resources
    typed = str((await request.form()).get("numbers", ""))[:MAX_TYPED]
    try:
        rows = await preview_matches(
            typed.splitlines(),
            company_id=identity.company.id,
            index_store=SqlPhoneIndexStore(resources.engine),
            crm=await _crm(resources, identity),
            region=await _region(resources, identity.company.id),
        )
    except WaPipeError as error:
        line = PreviewLine(typed[:64], "", None, "", "", "", error.reason, error.message)
        return HTMLResponse(render_preview([line], typed), status_code=503)
    lines = [
        PreviewLine(r.typed, r.e164 or "", r.person_id, r.person_name, r.rule, r.source, r.reason, r.message)
        for r in rows
    ]
    return HTMLResponse(render_preview(lines, typed))


def routes() -> list[BaseRoute]:
    """The settings page and its actions."""
    return [
        Route("/settings", settings_page, methods=["GET"], name="settings"),
        Route("/settings", save_settings, methods=["POST"], name="settings_save"),
        Route("/settings/pipeline", pipeline_slot, methods=["GET"], name="settings_pipeline"),
        Route("/settings/audit", audit_fragment, methods=["GET"], name="settings_audit"),
        Route("/settings/exclusions", exclude_chat_action, methods=["POST"], name="settings_exclude"),
        Route("/settings/preview", preview, methods=["POST"], name="settings_preview"),
        Route("/settings/erase", erase_form, methods=["GET"], name="settings_erase_form"),
        Route("/settings/erase", erase, methods=["POST"], name="settings_erase"),
    ]
