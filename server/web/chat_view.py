"""The chat view (``/chats/{id}``, the "WhatsApp chat link" field's target), opened in a top-level window.

Signed-in users of the chat's own Pipedrive company only, while their installation of WaPipe is active
(``server.web.session``, checked on every request); anyone else gets a 403 page that shows nothing of the
chat. The history pages newest first, and the page polls for messages stored since (a reply sent from
here, the contact's answer) and for the messages it shows that changed since its last poll (an edit, a
deletion, a reaction, a tick: ``storage.revisions`` numbers each change), which come back as out-of-band
swaps of their bubbles; attachments come from the media store through a company-scoped route; the
reply box sends through the outbox, with a CSRF token.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from panels.chat import (
    ChatPageView,
    HistoryPage,
    MessageView,
    ReplyForm,
    message_views,
    render_chat_page,
    render_history,
    render_reply,
)
from server.domain.bounds import id_from_text
from server.domain.errors import InvalidInput, NotAuthenticated, NotFound, WaPipeError
from server.domain.file_names import clean_file_name
from server.domain.message_changes import reaction_badges
from server.domain.message_kinds import kind_view
from server.domain.text import Text
from server.services.send import SendRequest, SendService
from server.storage.accounts import SqlAccountStore
from server.storage.audit import SqlAuditLog
from server.storage.chat_history import ChatRow, HistoryMessage, SqlChatHistory
from server.storage.cloud_templates import SqlContactWindow
from server.storage.message_changes import earlier_versions
from server.storage.outbox import SqlOutboxStore
from server.storage.reactions import Reactions, reactions_of
from server.web.chat_new import new_chat, new_chat_form
from server.web.chat_upload import MAX_UPLOAD_BYTES, check_upload
from server.web.cloud_templates import reply_template
from server.web.media_response import media_response
from server.web.resources import Resources
from server.web.session import (
    SessionUser,
    chat_view_user,
    check_csrf,
    csrf_token,
    not_your_chat,
    problem,
)

log = logging.getLogger(__name__)
PAGE_SIZE = 50
CHANGED_LIMIT = 200  # changed bubbles one poll brings back; the rest come with the next


def _resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


def _int(request: Request, name: str) -> int:
    return int(request.path_params[name])


async def _chat(request: Request, user: SessionUser) -> ChatRow | None:
    return await SqlChatHistory(_resources(request).engine).chat(user.company_id, _int(request, "chat_id"))


def _views(
    chat_id: int, rows: list[HistoryMessage], reactions: Mapping[int, Reactions]
) -> tuple[MessageView, ...]:
    return message_views(
        [
            MessageView(
                m.id,
                m.from_me,
                m.sender_name,
                m.text,
                m.sent_at,
                m.status,
                m.media_kind,
                m.media_mime,
                m.media_filename,
                m.media_state,
                f"/chats/{chat_id}/media/{m.id}",
                kind_view(m.details),
                edited=m.edited,
                deleted=m.deleted,
                quote=m.quote or "",
                reactions=reaction_badges(reactions.get(m.id, ())),
                earlier=earlier_versions(m.edit_history),
            )
            for m in rows
        ]
    )


def _newer_url(chat_id: int, shown: tuple[MessageView, ...], after: int, seen: int) -> str:
    """Where the page asks for messages stored after the newest one it has, and for those changed after
    the chat's revision ``seen``."""
    return f"/chats/{chat_id}/messages?after={max((m.id for m in shown), default=after)}&seen={seen}"


async def _history(request: Request, chat: ChatRow, before: int | None) -> HistoryPage:
    chat_id = chat.id
    rows = await SqlChatHistory(_resources(request).engine).page(
        chat_id, before_id=before, limit=PAGE_SIZE + 1
    )
    more, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE]
    views = _views(chat_id, rows, await reactions_of(_resources(request).engine, [m.id for m in rows]))
    older = f"/chats/{chat_id}/messages?before={views[0].id}" if more and views else None
    newer = _newer_url(chat_id, views, 0, chat.revision) if before is None else None
    return HistoryPage(chat_id, views, older, newer, _resources(request).settings.conversation_poll)


def _reply(request: Request, user: SessionUser, chat: ChatRow, **extra: object) -> ReplyForm:
    return ReplyForm(
        chat.id,
        csrf_token(request, user),
        secrets.token_urlsafe(18),
        can_reply=not chat.is_group and chat.e164 is not None,
        max_upload_mb=MAX_UPLOAD_BYTES // (1024 * 1024),
        **extra,  # type: ignore[arg-type]
    )


async def chat_page(request: Request) -> Response:
    user = await chat_view_user(request, page=True)
    if isinstance(user, Response):
        return user
    chat = await _chat(request, user)
    if chat is None:
        return not_your_chat()
    view = ChatPageView(
        chat_id=chat.id,
        # a group by its subject, a contact by their Person's name where the chat is linked
        title=(chat.display_name if chat.is_group else chat.person_name or chat.display_name)
        or chat.e164
        or Text("WhatsApp chat"),
        number=chat.e164 or "",
        account_number=chat.account_e164,
        person_name=chat.person_name,
        user_name=user.name,
        history=await _history(request, chat, None),
        reply=_reply(request, user, chat),
        new_chat=new_chat_form(
            request,
            user,
            await SqlAccountStore(_resources(request).engine).for_company(user.company_id),
            chat.account_id,
        ),
    )
    return HTMLResponse(render_chat_page(view), headers={"Cache-Control": "no-store"})


def _id_param(request: Request, name: str, *, zero: bool = False) -> int | None:
    """A message id from the query (``zero``: 0 too, before every message, what the poll of a page that
    shows none asks after); ``None`` when absent; ``InvalidInput`` when it is no id."""
    raw = request.query_params.get(name, "")
    found = 0 if zero and raw == "0" else id_from_text(raw)
    if raw and found is None:
        raise InvalidInput(f"{name} must be a message id", reason="invalid_request")
    return found


def _seen_param(request: Request) -> int | None:
    """The chat revision the page has seen (0: none yet); ``None`` when absent; ``InvalidInput`` when it is
    no revision."""
    raw = request.query_params.get("seen")
    if raw is None:
        return None
    found = 0 if raw == "0" else id_from_text(raw)
    if found is None:
        raise InvalidInput("seen must be a change number (0 or more)", reason="invalid_seen")
    return found


async def _changed(
    request: Request, chat: ChatRow, seen: int, after: int, from_id: int | None
) -> tuple[tuple[MessageView, ...], int]:
    """The shown messages changed after revision ``seen`` and the revision the page has seen next."""
    engine = _resources(request).engine
    if seen >= chat.revision:  # nothing changed since (a number from the future is taken back to now)
        return (), chat.revision
    rows = await SqlChatHistory(engine).changed(
        chat.id, seen=seen, upto_id=after, from_id=from_id, limit=CHANGED_LIMIT
    )
    reached = chat.revision
    if len(rows) == CHANGED_LIMIT and rows[0].revision != rows[-1].revision:
        reached = rows[-1].revision - 1  # the last change may have more messages: it comes again whole
    return _views(chat.id, rows, await reactions_of(engine, [m.id for m in rows])), reached


async def more_messages(request: Request) -> Response:
    """A page of older messages (``before``), or those stored after ``after`` (204 while there are none)
    with, when the page names the revision it has ``seen``, its messages changed since (from the first it
    shows, ``from``), as out-of-band swaps."""
    user = await chat_view_user(request)
    if isinstance(user, Response):
        return user
    chat = await _chat(request, user)
    if chat is None:
        return not_your_chat()
    try:
        after, before = _id_param(request, "after", zero=True), _id_param(request, "before")
        seen, from_id = _seen_param(request), _id_param(request, "from")
    except InvalidInput as error:
        return problem(400, error.reason, error.message)
    if after is None:
        return HTMLResponse(render_history(await _history(request, chat, before)))
    rows = await SqlChatHistory(_resources(request).engine).newer(chat.id, after_id=after, limit=PAGE_SIZE)
    changed, reached = (
        await _changed(request, chat, seen, after, from_id) if seen is not None else ((), chat.revision)
    )
    if not rows and not changed and (seen is None or reached == seen):
        return Response(status_code=204)
    views = _views(chat.id, rows, await reactions_of(_resources(request).engine, [m.id for m in rows]))
    poll = _resources(request).settings.conversation_poll
    newer = _newer_url(chat.id, views, after, reached)
    page = HistoryPage(chat.id, views, None, newer, poll, changed, polled=True)
    return HTMLResponse(render_history(page))


async def media(request: Request) -> Response:
    user = await chat_view_user(request)
    if isinstance(user, Response):
        return user
    chat = await _chat(request, user)
    if chat is None:
        return not_your_chat()
    found = await SqlChatHistory(_resources(request).engine).media_file(
        user.company_id, chat.id, _int(request, "message_id")
    )
    if found is None:
        return problem(404, "not_found", Text("This attachment is not stored."))
    path, mime, name = found
    try:
        file = await _resources(request).media.open(path)
    except NotFound:
        return problem(404, "not_found", Text("This attachment is no longer stored."))
    return await media_response(file, mime, name, download="download" in request.query_params)


async def _attachment(
    request: Request, user: SessionUser, chat: ChatRow, upload: UploadFile
) -> tuple[int, str]:
    """Upload the file to the chat's Person in Pipedrive, so the outbox sends it like any Pipedrive file."""
    data = await upload.read(MAX_UPLOAD_BYTES + 1)
    mime = check_upload(data, upload.content_type or "")
    if chat.person_id is None:
        raise InvalidInput(
            Text("This chat is not linked to a Person yet, so attachments cannot be sent from here"),
            reason="attachment_needs_person",
        )
    name = clean_file_name(upload.filename)
    client = await _resources(request).pipedrive.connector.for_user(user.company_id, user.user_id)
    stored = await client.files.upload(data, filename=name, mime_type=mime, person_id=chat.person_id)
    return stored.id, name


async def reply(request: Request) -> Response:
    user = await chat_view_user(request)
    if isinstance(user, Response):
        return user
    chat = await _chat(request, user)
    if chat is None:
        return not_your_chat()
    length = request.headers.get("content-length", "")
    if length.isascii() and length.isdigit() and int(length[:20]) > MAX_UPLOAD_BYTES + 64 * 1024:
        too_big = _reply(
            request,
            user,
            chat,
            error_reason="attachment_too_large",
            error_message=Text("Attachments are limited to %(mb)s MB", mb=MAX_UPLOAD_BYTES // (1024 * 1024)),
        )
        return HTMLResponse(render_reply(too_big), status_code=413)
    async with request.form(max_files=1, max_fields=10) as form:
        try:
            check_csrf(request, user, str(form.get("csrf_token") or ""))
        except NotAuthenticated as error:
            return problem(403, error.reason, error.text)
        text = str(form.get("text") or "")[:5000]
        upload = form.get("file")
        try:
            if not chat.e164 or chat.is_group:
                raise InvalidInput(
                    Text("Replies to group chats are sent from the phone"), reason="group_reply"
                )
            file_id, file_name = None, ""
            if isinstance(upload, UploadFile) and upload.filename:
                file_id, file_name = await _attachment(request, user, chat, upload)
            resources = _resources(request)
            template = await reply_template(request, user, chat, str(form.get("cloud_template") or ""))
            service = SendService(
                SqlAccountStore(resources.engine),
                SqlOutboxStore(resources.engine),
                resources.queue,
                SqlAuditLog(resources.engine),
                window=SqlContactWindow(resources.engine),
                clock=resources.clock,
            )
            await service.request(
                user.company_id,
                user.user_id,
                SendRequest(
                    client_ref=str(form.get("client_ref") or ""),
                    account_id=chat.account_id,
                    to=chat.e164,
                    text=text,
                    file_id=file_id,
                    file_name=file_name,
                    person_id=chat.person_id,
                    template=template,
                ),
            )
        except (InvalidInput, NotFound) as error:
            status = 413 if error.reason == "attachment_too_large" else 400
            typed = _reply(
                request, user, chat, text=text, error_reason=error.reason, error_message=error.text
            )
            return HTMLResponse(render_reply(typed), status_code=status)
        except WaPipeError as error:
            log.warning("reply failed", extra={"reason": error.reason})
            typed = _reply(
                request, user, chat, text=text, error_reason=error.reason, error_message=error.text
            )
            return HTMLResponse(render_reply(typed), status_code=503)
    return HTMLResponse(
        render_reply(_reply(request, user, chat, sent=True)), headers={"HX-Trigger": "chat-sent"}
    )


def routes() -> list[BaseRoute]:
    from server.web.session import SIGNIN_PATH, signin

    return [
        Route(SIGNIN_PATH, signin, methods=["GET"], name="signin"),
        Route("/chats/new", new_chat, methods=["POST"], name="chat_new"),
        Route("/chats/{chat_id:id}", chat_page, methods=["GET"], name="chat_view"),
        Route("/chats/{chat_id:id}/messages", more_messages, methods=["GET"], name="chat_messages"),
        Route("/chats/{chat_id:id}/media/{message_id:id}", media, methods=["GET"], name="chat_media"),
        Route("/chats/{chat_id:id}/reply", reply, methods=["POST"], name="chat_reply"),
    ]
