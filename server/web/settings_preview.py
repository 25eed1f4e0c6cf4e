"""The settings page's matching preview: paste numbers, see which Person each would match and by which
rule. Reads the phone index and searches Pipedrive; writes nothing anywhere."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from panels.settings import PreviewLine, render_preview
from server.domain.errors import WaPipeError
from server.domain.phone_numbers import region_of
from server.domain.ports.pipedrive import PersonSearch
from server.domain.sync import NewChatAction, SyncSettings
from server.pipedrive.sync_adapter import PipedriveCrm
from server.services.match_preview import preview_matches
from server.storage.accounts import SqlAccountStore
from server.storage.sync import SqlSyncStore
from server.storage.sync_index import SqlPhoneIndexStore
from server.web.frame_auth import FrameIdentity
from server.web.install_access import require_installation
from server.web.numbers import framed
from server.web.resources import Resources
from server.web.settings_page import pipelines

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


async def _pipeline_name(request: Request, identity: FrameIdentity, settings: SyncSettings) -> str | None:
    """The name of the pipeline new Deals go into, when new chats create Deals and Pipedrive answers."""
    if settings.new_chat_action is not NewChatAction.DEAL:
        return None
    found = await pipelines(request, identity)
    if not found:
        return None
    chosen = [p for p in found if p.id == settings.pipeline_id] if settings.pipeline_id else found[:1]
    return chosen[0].name if chosen else None


@framed
async def preview(request: Request, identity: FrameIdentity) -> Response:
    await require_installation(request, identity)
    resources: Resources = request.app.state.resources
    typed = str((await request.form()).get("numbers", ""))[:MAX_TYPED]
    try:
        settings = await SqlSyncStore(resources.engine).settings(identity.company.id)
        rows = await preview_matches(
            typed.splitlines(),
            company_id=identity.company.id,
            index_store=SqlPhoneIndexStore(resources.engine),
            crm=await _crm(resources, identity),
            region=await _region(resources, identity.company.id),
            settings=settings,
            pipeline=await _pipeline_name(request, identity, settings),
        )
    except WaPipeError as error:
        line = PreviewLine(typed[:64], "", None, "", "", "", error.reason, error.text)
        return HTMLResponse(render_preview([line], typed), status_code=503)
    lines = [
        PreviewLine(
            r.typed,
            r.e164 or "",
            r.person_id,
            r.person_name,
            r.rule,
            r.source,
            r.reason,
            r.message,
            r.sentence,
            r.others,
            r.more_others,
        )
        for r in rows
    ]
    return HTMLResponse(render_preview(lines, typed))
