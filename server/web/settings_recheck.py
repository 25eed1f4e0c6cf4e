"""The settings page's re-check list (admins only): ``GET /settings/recheck`` shows a page of links matching
made that the current rules would not make; ``POST /settings/recheck/keep`` and ``/relink`` answer for one
chat. Like every framed request, each carries Pipedrive's signed token in its header (no cookies), and the
company comes from it, never from the form. Each answer is audited and re-renders the list."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from panels.recheck import RecheckView, render_recheck
from server.domain.bounds import id_from_text
from server.domain.errors import InvalidInput, NotFound, Transient, WaPipeError
from server.domain.match_words import kept_sentence, relinked_sentence, unmatched_relink_sentence
from server.domain.settings_form import FieldError
from server.domain.text import Text
from server.services.link_recheck import keep_link, rematch_link, stale_links
from server.storage.audit import SqlAuditLog
from server.storage.link_recheck import SqlMatchedLinks
from server.storage.sync import SqlSyncStore
from server.storage.sync_index import SqlPhoneIndexStore
from server.web.frame_auth import FrameIdentity
from server.web.install_access import require_installation
from server.web.numbers import framed
from server.web.resources import Resources
from server.web.settings_page import CHOOSE_A_CHAT, require_admin

STATUS = {"chat_not_found": 404, "person_invalid": 400, "link_changed": 409, "chat_busy": 503}


async def _view(
    request: Request,
    company_id: int,
    *,
    after: int = 0,
    notice: str | Text = "",
    error: FieldError | None = None,
) -> RecheckView:
    resources: Resources = request.app.state.resources
    page = await stale_links(
        SqlMatchedLinks(resources.engine), SqlPhoneIndexStore(resources.engine), company_id, after=after
    )
    return RecheckView(page.rows, page.next_after, after, page.index_built, notice, error)


async def _admin(request: Request, identity: FrameIdentity) -> None:
    await require_installation(request, identity)
    await require_admin(request, identity)


@framed
async def recheck_list(request: Request, identity: FrameIdentity) -> Response:
    await _admin(request, identity)
    raw = request.query_params.get("after", "")
    after = id_from_text(raw) if raw else 0
    if after is None:
        raise InvalidInput(Text("The page to show is not a chat id"), reason="after_invalid")
    return HTMLResponse(render_recheck(await _view(request, identity.company.id, after=after)))


async def _chosen(request: Request) -> tuple[int, int]:
    form = await request.form()
    chat_id = id_from_text(str(form.get("chat_id", "")))
    if chat_id is None:
        raise NotFound(CHOOSE_A_CHAT, reason="chat_not_found")
    person_id = id_from_text(str(form.get("person_id", "")))
    if person_id is None:
        raise InvalidInput(
            Text("The form did not say which Person the chat is linked to"), reason="person_invalid"
        )
    return chat_id, person_id


async def _refused(request: Request, company_id: int, error: WaPipeError) -> Response:
    view = await _view(request, company_id, error=FieldError(error.reason, error.text))
    return HTMLResponse(render_recheck(view), status_code=STATUS.get(error.reason, 400))


@framed
async def keep(request: Request, identity: FrameIdentity) -> Response:
    await _admin(request, identity)
    resources: Resources = request.app.state.resources
    company_id = identity.company.id
    try:
        chat_id, person_id = await _chosen(request)
        before, _ = await keep_link(
            SqlSyncStore(resources.engine),
            resources.queue,
            company_id,
            chat_id,
            person_id,
            now=resources.clock.now(),
        )
    except (InvalidInput, NotFound, Transient) as error:
        return await _refused(request, company_id, error)
    await SqlAuditLog(resources.engine).record(
        company_id,
        identity.pipedrive_user_id,
        "chat.keep_link",
        f"chat #{chat_id}",
        {"chat": chat_id, "person": person_id, "rule": before.rule},
    )
    chat = await SqlSyncStore(resources.engine).chat(chat_id)
    number = chat.e164 if chat is not None and chat.e164 else ""
    notice = kept_sentence(number, before.person_name, person_id)
    view = await _view(request, company_id, notice=notice)
    return HTMLResponse(render_recheck(view), headers={"HX-Trigger": "audit-changed"})


@framed
async def relink(request: Request, identity: FrameIdentity) -> Response:
    await _admin(request, identity)
    resources: Resources = request.app.state.resources
    company_id = identity.company.id
    store = SqlSyncStore(resources.engine)
    try:
        chat_id, person_id = await _chosen(request)
        done = await rematch_link(
            store,
            resources.queue,
            SqlPhoneIndexStore(resources.engine),
            company_id,
            chat_id,
            person_id,
            now=resources.clock.now(),
        )
    except (InvalidInput, NotFound, Transient) as error:
        return await _refused(request, company_id, error)
    found = done.found
    await SqlAuditLog(resources.engine).record(
        company_id,
        identity.pipedrive_user_id,
        "chat.rematch",
        f"chat #{chat_id}",
        {
            "chat": chat_id,
            "before": done.before.person_id,
            "rule_before": done.before.rule,
            "after": found.person_id if found is not None else None,
            "rule": found.rule.value if found is not None else "",
        },
    )
    if found is not None:
        notice = relinked_sentence(done.e164, done.match, done.link.person_name, found.person_id)
    else:
        notice = unmatched_relink_sentence(done.e164, await store.settings(company_id))
    view = await _view(request, company_id, notice=notice)
    return HTMLResponse(render_recheck(view), headers={"HX-Trigger": "audit-changed"})
