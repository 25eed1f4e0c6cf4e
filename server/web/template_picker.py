"""The template picker: in the panel's send form (``/panel/templates``) and the chat view's reply
(``/chats/{id}/templates``), the templates the user sees; choosing one (``…/templates/render``) answers the
text rendered for this Person, Deal and sender, put into the message box to edit before Send (nothing is
sent here), a warning naming each placeholder left empty without a fallback, and, in the panel, the
template's attachment chosen when it is among the Person's or Deal's Files (the same file, or one of the
same name), else a warning saying so.

Values come from Pipedrive as the template needs them (``server.web.template_fields``): a template naming
only the Person reads the Person once; the Deal, its stage and the Organization are read only when named.
``picker_groups`` builds the choice groups; another source of templates adds a group there: a Cloud API
From number adds its WhatsApp-approved templates (``server.web.cloud_templates``), whose choice puts the
filled body in the box and the template in the form's ``cloud_template`` field.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from panels.panel_form import file_choices
from panels.template_picker import (
    PickedView,
    PickerGroup,
    PickerView,
    choice_id,
    missing_names,
    render_picked,
    render_picker,
    saved_group,
)
from server.domain.bounds import id_from_text
from server.domain.errors import NotFound
from server.domain.message_templates import MessageTemplate
from server.domain.templates import missing_values, render
from server.domain.text import Text
from server.domain.whatsapp import MAX_TEXT_LENGTH
from server.pipedrive.client import PipedriveClient
from server.storage.accounts import SqlAccountStore
from server.storage.chat_history import SqlChatHistory
from server.storage.companies import SqlCompanyStore
from server.storage.message_templates import TEMPLATE_NOT_FOUND, SqlTemplateStore
from server.web.cloud_templates import cloud_group, is_cloud_choice, picked_cloud
from server.web.frame_auth import FrameIdentity
from server.web.panel import optional_id, panel_endpoint
from server.web.panel_context import load_contact, pipedrive_for
from server.web.resources import Resources
from server.web.session import SessionUser, chat_view_user, not_your_chat
from server.web.template_fields import attachment_choice, template_values

PANEL_INCLUDE = "#panel-form [name=person_id], #panel-form [name=deal_id], #from"


def _resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


async def picker_groups(
    request: Request, identity: FrameIdentity, account_id: int | None
) -> tuple[PickerGroup, ...]:
    """The choices for a message sent from ``account_id``: the saved templates (company, then personal)."""
    store = SqlTemplateStore(_resources(request).engine)
    saved = saved_group(await store.visible(identity.company.id, identity.pipedrive_user_id))
    approved = await cloud_group(request, identity, account_id)  # a Cloud API number's Meta templates
    return (saved,) if approved is None else (saved, approved)


async def _template(request: Request, identity: FrameIdentity, value: str) -> MessageTemplate:
    template_id = choice_id(value)
    if template_id is None:
        raise NotFound(TEMPLATE_NOT_FOUND, reason="template_not_found")
    store = SqlTemplateStore(_resources(request).engine)
    return await store.get(identity.company.id, identity.pipedrive_user_id, template_id)


async def _sender_phone(request: Request, company_id: int, account_id: int | None) -> str:
    accounts = await SqlAccountStore(_resources(request).engine).for_company(company_id)
    return next((a.e164 or "" for a in accounts if a.id == account_id), "")


async def _rendered(
    request: Request,
    identity: FrameIdentity,
    client: PipedriveClient,
    template: MessageTemplate,
    *,
    person_id: int | None,
    deal_id: int | None,
    sender_phone: str,
) -> tuple[str, tuple[str, ...]]:
    values = await template_values(
        request,
        identity,
        client,
        template.text,
        person_id=person_id,
        deal_id=deal_id,
        sender_phone=sender_phone,
    )
    missing = missing_names([p.source for p in missing_values(template.text, values)])
    return render(template.text, values), missing


# --- the panel ------------------------------------------------------------------------------------------


@panel_endpoint(page=False)
async def panel_picker(request: Request, identity: FrameIdentity) -> Response:
    account_id = id_from_text(request.query_params.get("account_id"))
    view = PickerView(
        await picker_groups(request, identity, account_id),
        url="/panel/templates/render",
        include=PANEL_INCLUDE,
        reload_url="/panel/templates",
        reload_on="#from",
    )
    return HTMLResponse(render_picker(view))


@panel_endpoint(page=False, notice_slot="template-warnings")
async def panel_render(request: Request, identity: FrameIdentity) -> Response:
    params = request.query_params
    if not params.get("template"):  # "Choose a template…" again: the message stays as typed
        return HTMLResponse(render_picked(PickedView("", "none")))
    person_id = optional_id(params.get("person_id"), "person_not_found", "The Person id")
    deal_id = optional_id(params.get("deal_id"), "deal_not_found", "The Deal id")
    contact = await load_contact(request, identity, person_id, deal_id)
    account_id = id_from_text(params.get("account_id"))
    if is_cloud_choice(params.get("template", "")):
        picked = await picked_cloud(
            request,
            identity,
            await pipedrive_for(request, identity),
            account_id,
            params.get("template", ""),
            person_id=contact.person_id,
            deal_id=contact.deal_id,
            text_slot="panel",
        )
        return HTMLResponse(render_picked(picked))
    template = await _template(request, identity, params.get("template", ""))
    text, missing = await _rendered(
        request,
        identity,
        await pipedrive_for(request, identity),
        template,
        person_id=contact.person_id,
        deal_id=contact.deal_id,
        sender_phone=await _sender_phone(request, identity.company.id, account_id),
    )
    files, chosen = None, None
    note: str | Text = ""
    if template.attachment is not None:
        files = file_choices(contact.files)
        chosen = attachment_choice(contact.files, template.attachment.file_id, template.attachment.name)
        if chosen is None:
            note = Text(
                "The template's attachment %(name)s is not among this Person's or Deal's Files: add it to "
                "them in Pipedrive, or send without it",
                name=template.attachment.name,
            )
    view = PickedView(text, "panel", missing, note, files, chosen, MAX_TEXT_LENGTH)
    return HTMLResponse(render_picked(view))


# --- the chat view --------------------------------------------------------------------------------------


async def _chat_identity(request: Request) -> tuple[SessionUser, FrameIdentity] | Response:
    user = await chat_view_user(request)
    if isinstance(user, Response):
        return user
    company = await SqlCompanyStore(_resources(request).engine).by_id(user.company_id)
    if company is None:
        return not_your_chat()
    return user, FrameIdentity(company, user.user_id)


async def chat_picker(request: Request) -> Response:
    found = await _chat_identity(request)
    if isinstance(found, Response):
        return found
    user, identity = found
    chat = await SqlChatHistory(_resources(request).engine).chat(
        user.company_id, int(request.path_params["chat_id"])
    )
    if chat is None:
        return not_your_chat()
    view = PickerView(
        await picker_groups(request, identity, chat.account_id),
        url=f"/chats/{chat.id}/templates/render",
        include="#reply [name=client_ref]",
    )
    return HTMLResponse(render_picker(view))


async def chat_render(request: Request) -> Response:
    found = await _chat_identity(request)
    if isinstance(found, Response):
        return found
    user, identity = found
    chat = await SqlChatHistory(_resources(request).engine).chat(
        user.company_id, int(request.path_params["chat_id"])
    )
    if chat is None:
        return not_your_chat()
    if not request.query_params.get("template"):
        return HTMLResponse(render_picked(PickedView("", "none")))
    client = await _resources(request).pipedrive.connector.for_user(user.company_id, user.user_id)
    if is_cloud_choice(request.query_params.get("template", "")):
        picked = await picked_cloud(
            request,
            identity,
            client,
            chat.account_id,
            request.query_params.get("template", ""),
            person_id=chat.person_id,
            deal_id=None,
            text_slot="chat",
        )
        return HTMLResponse(render_picked(picked))
    template = await _template(request, identity, request.query_params.get("template", ""))
    text, missing = await _rendered(
        request,
        identity,
        client,
        template,
        person_id=chat.person_id,
        deal_id=None,
        sender_phone=chat.account_e164,
    )
    note: str | Text = ""
    if template.attachment is not None:
        note = Text(
            "The template's attachment %(name)s is attached from the panel in Pipedrive; here, choose the "
            "file to attach yourself",
            name=template.attachment.name,
        )
    return HTMLResponse(render_picked(PickedView(text, "chat", missing, note)))


def routes() -> list[BaseRoute]:
    return [
        Route("/panel/templates", panel_picker, methods=["GET"], name="panel_templates"),
        Route("/panel/templates/render", panel_render, methods=["GET"], name="panel_template_render"),
        Route("/chats/{chat_id:id}/templates", chat_picker, methods=["GET"], name="chat_templates"),
        Route(
            "/chats/{chat_id:id}/templates/render", chat_render, methods=["GET"], name="chat_template_render"
        ),
    ]
