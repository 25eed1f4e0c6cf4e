"""The campaign compose form's template choice: the message templates the user sees and, when a chosen From
number is a WhatsApp Business (Cloud API) number, its WhatsApp-approved templates in a group of their own
(``cloud_group``, the panel picker's group, read through the process's cache of Meta's list).

- ``GET /campaigns/templates`` (the chosen ``account_ids``, the ``template_id`` and ``approved_template``
  as typed): the choice again, fetched when the From numbers change. An approved template no longer
  offered (no Cloud API number chosen any more) is dropped: its hidden field is cleared and the preview is
  asked for again (``template-picked``).
- ``GET /campaigns/template`` (``template_id``, ``account_ids``): the message box with the chosen template.
  A saved template's text, placeholders and all (``template_not_found`` for one the user cannot see). An
  approved template (``cloud:<name>:<language>``): its body with the company's placeholders in place of its
  variables, to edit (the text WhatsApp Web numbers send; Cloud API numbers send the template filled for
  each recipient), its key in the form's hidden ``approved_template`` field, and a note saying so; a
  template that cannot be sent leaves the box as typed and says why beside it (``unknown_template``,
  ``unmapped_template_variable``, ``template_needs_cloud_number``, or Meta's list unreadable now).
  Either answer asks for the preview again once swapped in (``template-picked``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from panels.campaign_compose import (
    ComposeInput,
    PickedTemplate,
    TemplateChoice,
    TemplateChoices,
    render_picked_template,
    render_template_choices,
)
from server.domain.bounds import id_from_text
from server.domain.errors import WaPipeError
from server.domain.models import Account
from server.domain.text import Text
from server.services.campaigns.approved import first_cloud
from server.services.cloud_templates import needs_cloud_number
from server.storage.accounts import SqlAccountStore
from server.storage.message_templates import SqlTemplateStore
from server.web.campaign_service import resources_of
from server.web.cloud_templates import CLOUD_CHOICE, cloud_group, cloud_templates, is_cloud_choice
from server.web.frame_auth import FrameIdentity
from server.web.install_access import require_installation
from server.web.numbers import framed

log = logging.getLogger(__name__)
PICKED = "template-picked"  # the compose form asks for its preview again on this event


async def first_cloud_number(
    request: Request, identity: FrameIdentity, chosen: Sequence[str]
) -> Account | None:
    """The first of the chosen From numbers (account ids as typed) that is a Cloud API number of the
    company; its approved templates are the ones offered (one business account serves them all)."""
    accounts = await SqlAccountStore(resources_of(request).engine).for_company(identity.company.id)
    ids = (found for found in map(id_from_text, chosen) if found is not None)
    return first_cloud({account.id: account for account in accounts}, ids)


async def template_choices(request: Request, identity: FrameIdentity, typed: ComposeInput) -> TemplateChoices:
    """The saved templates the user sees (the company's, then their own) and a chosen Cloud API number's
    approved ones; what was chosen stays chosen while it is still offered."""
    store = SqlTemplateStore(resources_of(request).engine)
    saved = await store.visible(identity.company.id, identity.pipedrive_user_id)
    cloud = await first_cloud_number(request, identity, typed.account_ids)
    approved = None if cloud is None else await cloud_group(request, identity, cloud.id)
    offered = {choice.value for choice in approved.choices} if approved is not None else set()
    chosen, key = typed.template_id, typed.approved_template
    if key and f"{CLOUD_CHOICE}:{key}" not in offered:
        key = ""
    if is_cloud_choice(chosen) and chosen not in offered:
        chosen = ""
    return TemplateChoices(tuple(TemplateChoice(t.id, t.name) for t in saved), approved, chosen, key)


@framed
async def templates(request: Request, identity: FrameIdentity) -> Response:
    await require_installation(request, identity)
    params = request.query_params
    typed = ComposeInput.from_form(params, params.getlist("account_ids"))
    choices = await template_choices(request, identity, typed)
    dropped = bool(typed.approved_template) and not choices.approved_template
    return HTMLResponse(
        render_template_choices(choices), headers={"HX-Trigger-After-Settle": PICKED} if dropped else {}
    )


async def _approved_text(
    request: Request, identity: FrameIdentity, value: str, chosen: Sequence[str]
) -> PickedTemplate:
    key = value.removeprefix(f"{CLOUD_CHOICE}:")
    try:
        cloud = await first_cloud_number(request, identity, chosen)
        if cloud is None:
            raise needs_cloud_number()
        text = await cloud_templates(request).campaign_text(identity.company.id, cloud, key)
    except (
        WaPipeError
    ) as refused:  # Meta's list unreadable now too: the box stays as typed, the reason beside it
        log.info("approved template not usable", extra={"reason": refused.reason})
        return PickedTemplate(None, notice=refused.text, notice_reason=refused.reason)
    note = Text(
        "WhatsApp Business (Cloud API) numbers send this WhatsApp-approved template, filled for each "
        "recipient; WhatsApp Web numbers send the text below"
    )
    return PickedTemplate(text, key, note, "approved_template_chosen")


@framed
async def template_text(request: Request, identity: FrameIdentity) -> Response:
    """The message box holding the chosen template's text, placeholders and all, to edit before Start
    (each recipient's copy is rendered when it is sent); ``template_not_found`` for one the user cannot
    see."""
    await require_installation(request, identity)
    params = request.query_params
    value = params.get("template_id", "")
    if is_cloud_choice(value):
        picked = await _approved_text(request, identity, value, params.getlist("account_ids"))
    else:
        template_id = id_from_text(value)
        text = ""
        if template_id is not None:
            store = SqlTemplateStore(resources_of(request).engine)
            text = (await store.get(identity.company.id, identity.pipedrive_user_id, template_id)).text
        picked = PickedTemplate(text)
    headers = {"HX-Trigger-After-Settle": PICKED}
    if picked.text is None:
        headers["HX-Reswap"] = "none"  # the box stays as typed; the note beside it says why
    return HTMLResponse(render_picked_template(picked), headers=headers)
