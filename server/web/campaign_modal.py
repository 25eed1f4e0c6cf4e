"""The campaign modal (``/campaigns/modal``), opened from a Pipedrive Person or Deal list's "Send WhatsApp
campaign" action with the records the user selected (``resource``, ``selectedIds``), or with the saved
filter the list showed (``filter={"filter_id": N}``), or with neither to choose one of the company's saved
filters.

Steps, each verified with the Pipedrive token like every page Pipedrive frames: the page (the selection
read back, or the filters), ``POST /campaigns/modal/source`` (the campaign created as a draft from the
selection or the chosen filter; the compose form, whose template choice is
``server.web.campaign_templates``), ``POST /campaigns/{id}/preview`` (what the first
recipients get, who is skipped and why; refusals by field), ``POST /campaigns/{id}/start`` (after
Pipedrive's confirmation naming how many will be sent; the progress page). A refusal keeps the form as
typed and shows beside it, named (``data-reason``). Only users with WaPipe installed for themselves use it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from panels.campaign_compose import (
    ComposeInput,
    ComposeView,
    ModalView,
    PreviewView,
    SourceView,
    number_choices,
    preview_view,
    render_compose,
    render_modal,
    render_preview,
    render_source,
    source_label,
)
from panels.campaigns import render_progress_page
from panels.i18n import translate
from server.domain.bounds import id_from_text
from server.domain.campaigns import Campaign, CampaignSource, Pacing
from server.domain.errors import InvalidInput, NotFound, WaPipeError
from server.domain.models import Account
from server.domain.ports.recipients import ListKind
from server.domain.settings_form import FieldError
from server.domain.stop_words import opt_out_line
from server.domain.text import Text
from server.storage.accounts import SqlAccountStore
from server.storage.message_templates import SqlTemplateStore
from server.web.campaign_form import CheckedCompose, check_compose
from server.web.campaign_service import campaign_progress_view, campaign_service, resources_of
from server.web.campaign_templates import template_choices
from server.web.frame_auth import FrameIdentity
from server.web.install_access import require_installation
from server.web.numbers import framed

log = logging.getLogger(__name__)
MAX_SELECTED = 10_000  # Pipedrive's list selection; a bigger one is a saved filter's job
PREVIEW_ROWS = 10


def list_kind(raw: str) -> ListKind:
    """Pipedrive's ``resource``: ``person`` or ``deal`` (a Person list when it says nothing)."""
    if raw in ("", "person"):
        return ListKind.PERSON
    if raw == "deal":
        return ListKind.DEAL
    raise InvalidInput(Text("Open this from a Person or Deal list in Pipedrive"), reason="unknown_list")


def shown_filter(raw: str) -> int | None:
    """The saved filter the list showed when nothing was ticked (``filter={"filter_id": N}``), if any."""
    try:
        value = json.loads(raw) if raw else None
    except ValueError:
        value = None
    found = value.get("filter_id") if isinstance(value, dict) else None
    return id_from_text(str(found)) if isinstance(found, int | str) else None


def selected_ids(raw: str) -> tuple[int, ...]:
    """``selectedIds`` as Pipedrive passes it ("1,2,3"), each id once, in order; anything else refused."""
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    ids = [id_from_text(part) for part in parts]
    if any(found is None for found in ids) or len(ids) > MAX_SELECTED:
        raise InvalidInput(Text("The selection Pipedrive passed cannot be read"), reason="invalid_selection")
    return tuple(dict.fromkeys(found for found in ids if found is not None))


async def _stop_word(request: Request, identity: FrameIdentity) -> str:
    words = await campaign_service(request).stop_words(identity.company.id)
    return words[0] if words else "STOP"


async def compose_view(
    request: Request, identity: FrameIdentity, campaign: Campaign, typed: ComposeInput | None = None
) -> ComposeView:
    accounts = await SqlAccountStore(resources_of(request).engine).for_company(identity.company.id)
    numbers = number_choices(accounts)
    if typed is None:
        own = [n.id for n in numbers if _owner(accounts, n.id) == identity.pipedrive_user_id]
        typed = ComposeInput.defaults(Pacing(), own[:1] or [n.id for n in numbers][:1])
    source = campaign.source
    return ComposeView(
        campaign_id=campaign.id,
        source=source_label(source.kind, source.ids, source.filter_name),
        typed=typed,
        numbers=numbers,
        template_choices=await template_choices(request, identity, typed),
        opt_out_text=translate(opt_out_line(await _stop_word(request, identity))),
    )


def _owner(accounts: Sequence[Account], account_id: int) -> int | None:
    return next((a.owner_user_id for a in accounts if a.id == account_id), None)


@framed
async def modal(request: Request, identity: FrameIdentity) -> Response:
    await require_installation(request, identity)
    query = request.query_params
    kind = list_kind(query.get("resource", ""))
    ids = selected_ids(query.get("selectedIds", ""))
    try:
        filters = await campaign_service(request).filters(identity.company.id, kind)
    except WaPipeError as error:  # a selection still works without them; a shown filter cannot
        if not ids:
            raise
        log.info("saved filters unavailable", extra={"reason": error.reason, "company": identity.company.id})
        filters = []
    shown = None if ids else shown_filter(query.get("filter", ""))
    chosen = next((f for f in filters if f.id == shown), None)
    source = SourceView(kind.value, ",".join(map(str, ids)), len(ids), tuple(filters), chosen=chosen)
    return HTMLResponse(render_modal(ModalView(kind.value, source=source)))


@framed
async def create_from_source(request: Request, identity: FrameIdentity) -> Response:
    """The draft campaign from the selection or the chosen filter; its compose form."""
    await require_installation(request, identity)
    form = await request.form()
    kind = list_kind(str(form.get("resource", "")))
    service = campaign_service(request)
    raw_filter = str(form.get("filter_id", "")).strip()
    try:
        if raw_filter:
            filter_id = id_from_text(raw_filter)
            found = await service.filters(identity.company.id, kind)
            chosen = next((f for f in found if f.id == filter_id), None)
            if chosen is None:
                raise NotFound(
                    Text("That saved filter is not in Pipedrive any more"), reason="unknown_filter"
                )
            source = CampaignSource(kind, filter_id=chosen.id, filter_name=chosen.name)
        else:
            source = CampaignSource(kind, ids=selected_ids(str(form.get("selectedIds", ""))))
        name = source.filter_name  # a selection's campaign is named by its number ("Campaign 7")
        campaign = await service.create(identity.company.id, identity.pipedrive_user_id, source, name)
    except (InvalidInput, NotFound) as refused:
        filters = await service.filters(identity.company.id, kind)
        error = FieldError(refused.reason, refused.text)
        view = SourceView(kind.value, "", 0, tuple(filters), error=error)
        return HTMLResponse(render_source(view), status_code=404 if isinstance(refused, NotFound) else 400)
    return HTMLResponse(render_compose(await compose_view(request, identity, campaign)))


async def _checked(request: Request, identity: FrameIdentity) -> tuple[ComposeInput, CheckedCompose]:
    form = await request.form()
    raw = {key: str(value) for key, value in form.items()}
    typed = ComposeInput.from_form(raw, [str(value) for value in form.getlist("account_ids")])
    accounts = await SqlAccountStore(resources_of(request).engine).for_company(identity.company.id)
    visible = await SqlTemplateStore(resources_of(request).engine).visible(
        identity.company.id, identity.pipedrive_user_id
    )
    checked = check_compose(
        typed,
        numbers={n.id for n in number_choices(accounts)},
        templates={t.id: t.attachment for t in visible},
        timezone=identity.company.timezone,
        stop_word=await _stop_word(request, identity),
    )
    return typed, checked


def field_of(reason: str) -> str:
    """The form field a refusal of the campaign service is about."""
    if reason in ("no_from_number", "unknown_from_number", "template_needs_cloud_number"):
        return "account_ids"
    if reason in ("unknown_template", "unmapped_template_variable"):
        return "template_id"
    if reason in ("campaign_not_draft", "campaign_ended", "too_many_recipients"):
        return "campaign"
    return "text"


def _refused(campaign_id: int, errors: tuple[tuple[str, FieldError], ...]) -> HTMLResponse:
    return HTMLResponse(
        render_preview(PreviewView(campaign_id, errors=errors)),
        status_code=400,
        headers={"HX-Retarget": "#preview", "HX-Reswap": "innerHTML"},
    )


@framed
async def preview(request: Request, identity: FrameIdentity) -> Response:
    await require_installation(request, identity)
    campaign_id = int(request.path_params["campaign_id"])
    _, checked = await _checked(request, identity)
    if checked.compose is None:
        await campaign_service(request).progress(identity.company.id, campaign_id, recent=0)  # 404 first
        return _refused(campaign_id, checked.errors)
    try:
        found = await campaign_service(request).preview(
            identity.company.id, identity.pipedrive_user_id, campaign_id, checked.compose, show=PREVIEW_ROWS
        )
    except InvalidInput as refused:
        return _refused(campaign_id, ((field_of(refused.reason), FieldError(refused.reason, refused.text)),))
    attachment = checked.compose.attachment
    shown = preview_view(campaign_id, found, attachment.name if attachment is not None else "")
    return HTMLResponse(render_preview(shown))


@framed
async def start(request: Request, identity: FrameIdentity) -> Response:
    await require_installation(request, identity)
    campaign_id = int(request.path_params["campaign_id"])
    _, checked = await _checked(request, identity)
    if checked.compose is None or checked.pacing is None:
        await campaign_service(request).progress(identity.company.id, campaign_id, recent=0)  # 404 first
        return _refused(campaign_id, checked.errors)
    try:
        await campaign_service(request).start(
            identity.company.id, identity.pipedrive_user_id, campaign_id, checked.compose, checked.pacing
        )
    except InvalidInput as refused:
        return _refused(campaign_id, ((field_of(refused.reason), FieldError(refused.reason, refused.text)),))
    view = await campaign_progress_view(request, identity, campaign_id)
    return HTMLResponse(
        render_progress_page(view, whole_page=False), headers={"HX-Trigger": "campaign-started"}
    )
