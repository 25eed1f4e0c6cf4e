"""The campaign pages inside Pipedrive: the list (``/campaigns``, with the company's stop words), a
campaign's progress (``/campaigns/{id}``, its live part ``/campaigns/{id}/progress``), pause, resume and
cancel, and the result per recipient as CSV (``/campaigns/{id}/results.csv``).

Each request is verified with the Pipedrive token like every page Pipedrive frames; only users with WaPipe
installed for themselves see anything, and only admins change the stop words. A campaign of another
company is ``unknown_campaign`` (404) everywhere. Asked by htmx (moving between the pages inside one
frame), a page answers with its content alone; opened as the frame's page, with the whole page.

The CSV is safe to open in a spreadsheet: a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return is prefixed with ``'`` so it is read as text, never as a formula.
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from panels.campaigns import (
    ListView,
    StopWordsView,
    render_list,
    render_progress,
    render_progress_page,
    render_stop_words,
    summary_view,
)
from server.domain.errors import InvalidInput
from server.domain.settings_form import FieldError
from server.web.campaign_service import campaign_progress_view, campaign_service
from server.web.frame_auth import FrameIdentity
from server.web.install_access import require_installation
from server.web.numbers import framed
from server.web.settings_page import is_admin, require_admin

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_STOP_WORDS_TEXT = 4000


def _whole_page(request: Request) -> bool:
    return request.headers.get("hx-request") != "true"


def _campaign_id(request: Request) -> int:
    return int(request.path_params["campaign_id"])


def safe_cell(value: str) -> str:
    """A cell a spreadsheet reads as text: one that would start a formula gets a leading ``'``."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def safe_csv(text: str) -> str:
    """The service's CSV with every cell made safe (``safe_cell``); rows and quoting kept."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in csv.reader(io.StringIO(text)):
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()


async def _stop_words_view(request: Request, identity: FrameIdentity) -> StopWordsView:
    words = await campaign_service(request).stop_words(identity.company.id)
    return StopWordsView("\n".join(words), await is_admin(request, identity))


@framed
async def campaign_list(request: Request, identity: FrameIdentity) -> Response:
    await require_installation(request, identity)
    summaries = await campaign_service(request).list(identity.company.id)
    view = ListView(
        campaigns=tuple(summary_view(s) for s in summaries),
        stop_words=await _stop_words_view(request, identity),
    )
    return HTMLResponse(render_list(view, whole_page=_whole_page(request)))


@framed
async def campaign_page(request: Request, identity: FrameIdentity) -> Response:
    await require_installation(request, identity)
    view = await campaign_progress_view(request, identity, _campaign_id(request))
    return HTMLResponse(render_progress_page(view, whole_page=_whole_page(request)))


@framed
async def progress_fragment(request: Request, identity: FrameIdentity) -> Response:
    await require_installation(request, identity)
    return HTMLResponse(
        render_progress(await campaign_progress_view(request, identity, _campaign_id(request)))
    )


async def _act(request: Request, identity: FrameIdentity, action: str) -> Response:
    await require_installation(request, identity)
    campaign_id = _campaign_id(request)
    service = campaign_service(request)
    step = {"pause": service.pause, "resume": service.resume, "cancel": service.cancel}[action]
    try:
        await step(identity.company.id, identity.pipedrive_user_id, campaign_id)
    except InvalidInput as refused:  # it changed meanwhile (finished, paused elsewhere): say so, as it is now
        view = await campaign_progress_view(request, identity, campaign_id)
        notice = FieldError(refused.reason, refused.text)
        return HTMLResponse(render_progress(replace(view, notice=notice)), status_code=409)
    return HTMLResponse(render_progress(await campaign_progress_view(request, identity, campaign_id)))


@framed
async def pause(request: Request, identity: FrameIdentity) -> Response:
    return await _act(request, identity, "pause")


@framed
async def resume(request: Request, identity: FrameIdentity) -> Response:
    return await _act(request, identity, "resume")


@framed
async def cancel(request: Request, identity: FrameIdentity) -> Response:
    return await _act(request, identity, "cancel")


@framed
async def results_csv(request: Request, identity: FrameIdentity) -> Response:
    await require_installation(request, identity)
    campaign_id = _campaign_id(request)
    text = await campaign_service(request).results_csv(identity.company.id, campaign_id)
    name = f"campaign-{campaign_id}-results.csv"
    return Response(
        "\ufeff" + safe_csv(text),  # the mark tells spreadsheets the file is UTF-8 (names in any script)
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@framed
async def save_stop_words(request: Request, identity: FrameIdentity) -> Response:
    await require_admin(request, identity)
    typed = str((await request.form()).get("words", ""))[:MAX_STOP_WORDS_TEXT]
    try:
        saved = await campaign_service(request).set_stop_words(
            identity.company.id, identity.pipedrive_user_id, typed.splitlines()
        )
    except InvalidInput as refused:
        view = StopWordsView(typed, True, FieldError(refused.reason, refused.text))
        return HTMLResponse(render_stop_words(view), status_code=400)
    return HTMLResponse(render_stop_words(StopWordsView("\n".join(saved), True, saved=True)))


def routes() -> list[BaseRoute]:
    from server.web.campaign_modal import create_from_source, modal, preview, start
    from server.web.campaign_templates import template_text, templates

    return [
        Route("/campaigns", campaign_list, methods=["GET"], name="campaigns"),
        Route("/campaigns/modal", modal, methods=["GET"], name="campaign_modal"),
        Route("/campaigns/modal/source", create_from_source, methods=["POST"], name="campaign_source"),
        Route("/campaigns/stop-words", save_stop_words, methods=["POST"], name="campaign_stop_words"),
        Route("/campaigns/template", template_text, methods=["GET"], name="campaign_template"),
        Route("/campaigns/templates", templates, methods=["GET"], name="campaign_templates"),
        Route("/campaigns/{campaign_id:id}", campaign_page, methods=["GET"], name="campaign"),
        Route(
            "/campaigns/{campaign_id:id}/progress",
            progress_fragment,
            methods=["GET"],
            name="campaign_progress",
        ),
        Route("/campaigns/{campaign_id:id}/preview", preview, methods=["POST"], name="campaign_preview"),
        Route("/campaigns/{campaign_id:id}/start", start, methods=["POST"], name="campaign_start"),
        Route("/campaigns/{campaign_id:id}/pause", pause, methods=["POST"], name="campaign_pause"),
        Route("/campaigns/{campaign_id:id}/resume", resume, methods=["POST"], name="campaign_resume"),
        Route("/campaigns/{campaign_id:id}/cancel", cancel, methods=["POST"], name="campaign_cancel"),
        Route(
            "/campaigns/{campaign_id:id}/results.csv", results_csv, methods=["GET"], name="campaign_results"
        ),
    ]
