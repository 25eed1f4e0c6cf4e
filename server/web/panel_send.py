"""The panel's actions: send (through the outbox, under the form's idempotency key), re-link the chat to
another Person, pin a Deal (each audited); and a failed send put back into the form. Every refusal
re-renders what the user typed with the named reason, or, when the failure leaves nothing to re-render
(Pipedrive unreachable, budget spent), names it beside the form and leaves the form as it was."""

from __future__ import annotations

import json
from dataclasses import replace

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from panels.errors import panel_error
from panels.i18n import translate
from panels.panel import LinkView, link_view, render_link
from panels.panel_form import Typed, render_form
from server.domain.bounds import id_from_text
from server.domain.conversation import ContactChat
from server.domain.errors import InvalidInput, NotFound, NumberNotOnWhatsApp, Transient
from server.domain.models import OutboxStatus
from server.domain.phone_numbers import is_international, to_e164
from server.domain.send_failures import stored_failure
from server.domain.text import Text
from server.services.deliver import MAX_ATTACHMENT_BYTES
from server.services.send import NO_PHONE, SendRequest, SendService, confirm_on_whatsapp, recipient
from server.services.sync.links import pin_deal, relink_chat
from server.storage.accounts import SqlAccountStore
from server.storage.audit import SqlAuditLog
from server.storage.cloud_templates import SqlContactWindow
from server.storage.conversations import SqlConversationStore
from server.storage.outbox import SqlOutboxStore
from server.storage.sync import SqlSyncStore
from server.web.cloud_templates import chosen_template
from server.web.errors import error_status
from server.web.frame_auth import FrameIdentity
from server.web.panel import (
    build_form,
    conversation,
    home_region,
    optional_id,
    panel_endpoint,
)
from server.web.panel_context import Contact, load_contact, pipedrive_for, positive_int
from server.web.resources import Resources


def _typed(form: dict[str, str]) -> Typed:
    """What the user chose and typed, kept as is (ids that do not parse are simply not chosen)."""

    def as_id(value: str) -> int | None:
        return id_from_text(value)

    return Typed(
        to=form.get("to", ""),
        region=form.get("region", "").strip().upper()[:2],
        account_id=as_id(form.get("account_id", "")),
        file_id=as_id(form.get("file_id", "")),
        text=form.get("text", ""),
        client_ref=form.get("client_ref", ""),
    )


@panel_endpoint(page=False, notice_slot="panel-form-notice")
async def send(request: Request, identity: FrameIdentity) -> Response:
    resources: Resources = request.app.state.resources
    form = {key: str(value) for key, value in (await request.form()).items()}
    person_id = optional_id(form.get("person_id"), "person_not_found", "The Person id")
    deal_id = optional_id(form.get("deal_id"), "deal_not_found", "The Deal id")
    contact = await load_contact(request, identity, person_id, deal_id)
    accounts = await SqlAccountStore(resources.engine).for_company(identity.company.id)
    typed = _typed(form)
    chats, _ = await conversation(request, identity, contact, accounts)
    groups = {chat.chat_key: chat for chat in chats if chat.is_group}
    try:
        group = groups.get(typed.to)
        if group is not None:
            _check_group_from(group, typed.account_id)
        elif not contact.phones:
            raise InvalidInput(NO_PHONE, reason="no_phone_on_person")
        elif typed.to not in {value for value, _ in contact.phones}:
            raise InvalidInput(Text("Choose one of the Person's phone numbers"), reason="invalid_request")
        file_name = ""
        if typed.file_id is None and form.get("file_id", "").strip():
            raise NotFound(
                Text("That file is not among the Person's or Deal's Files"), reason="attachment_missing"
            )
        if typed.file_id is not None:
            found = [name for file_id, name, _ in contact.files if file_id == typed.file_id]
            if not found:
                raise NotFound(
                    Text("That file is no longer among the Person's or Deal's Files"),
                    reason="attachment_missing",
                )
            file_name = found[0]
            _check_size(contact, typed.file_id, file_name)
        if typed.account_id is None:
            raise InvalidInput(Text("Choose the WhatsApp number to send from"), reason="unknown_from_number")
        if group is None:
            await _on_whatsapp(resources, identity, typed)
        template = None  # a WhatsApp-approved template chosen in the picker (Cloud API numbers)
        if form.get("cloud_template", "").strip():
            template = await chosen_template(
                request,
                identity,
                await pipedrive_for(request, identity),
                typed.account_id,
                form["cloud_template"],
                person_id=contact.person_id,
                deal_id=contact.deal_id,
            )
        service = SendService(
            SqlAccountStore(resources.engine),
            SqlOutboxStore(resources.engine),
            resources.queue,
            SqlAuditLog(resources.engine),
            window=SqlContactWindow(resources.engine),
            clock=resources.clock,
        )
        entry, _ = await service.request(
            identity.company.id,
            identity.pipedrive_user_id,
            SendRequest(
                client_ref=typed.client_ref,
                account_id=typed.account_id,
                to=typed.to,
                text=typed.text,
                region=typed.region or None,
                file_id=typed.file_id,
                file_name=file_name,
                person_id=contact.person_id,
                deal_id=contact.deal_id,
                template=template,
            ),
        )
    except (InvalidInput, NotFound, NumberNotOnWhatsApp) as error:
        view = build_form(identity, contact, accounts, chats, typed, panel_error(error.reason, error.text))
        return HTMLResponse(render_form(view), status_code=error_status(error))
    # A fresh form for the next message: same To, From and country; a new idempotency key from the page.
    fresh = Typed(typed.to, typed.region, typed.account_id, None, "", "")
    if group is not None and group.display_name:
        queued = Text("WhatsApp message to the group %(group)s queued", group=group.display_name)
    else:
        queued = Text("WhatsApp message to %(number)s queued", number=entry.to_chat)
    trigger = {"panel-sent": {"message": translate(queued), "outbox": entry.id}}
    return HTMLResponse(
        render_form(build_form(identity, contact, accounts, chats, fresh)),
        headers={"HX-Trigger": json.dumps(trigger)},
    )


def _check_group_from(group: ContactChat, account_id: int | None) -> None:
    """A group is answered from the company's number that is in it."""
    if account_id is not None and account_id != group.account_id:
        number = group.account_e164 or Text("the number that is in the group")
        if group.display_name:
            only = Text(
                "Only %(number)s is in the group “%(group)s”: send from it",
                number=number,
                group=group.display_name,
            )
        else:
            only = Text("Only %(number)s is in the group: send from it", number=number)
        raise InvalidInput(only, reason="from_not_in_group")


def _check_size(contact: Contact, file_id: int, file_name: str) -> None:
    """Refuse a File WhatsApp would not take before it is queued (the send job checks again)."""
    size = contact.size_of(file_id)
    if size is not None and size > MAX_ATTACHMENT_BYTES:
        megabytes = f"{size / (1024 * 1024):.0f}"
        raise InvalidInput(
            Text(
                "%(file)s is %(size)s MB; WhatsApp takes attachments up to %(limit)s MB",
                file=file_name,
                size=megabytes,
                limit=MAX_ATTACHMENT_BYTES // (1024 * 1024),
            ),
            reason="attachment_too_large",
        )


@panel_endpoint(page=False, notice_slot="panel-form-notice")
async def retry_form(request: Request, identity: FrameIdentity) -> Response:
    """``GET /panel/form?retry=<outbox id>``: a send that failed after it was queued, back in the form
    (To, country, From, attachment, text) with its reason, to change and send again."""
    resources: Resources = request.app.state.resources
    params = request.query_params
    person_id = optional_id(params.get("person_id"), "person_not_found", "The Person id")
    deal_id = optional_id(params.get("deal_id"), "deal_not_found", "The Deal id")
    outbox_id = positive_int(params.get("retry"), "invalid_request", "The message id")
    entry = await SqlOutboxStore(resources.engine).by_id(outbox_id)
    if entry is None or entry.company_id != identity.company.id:
        raise NotFound(Text("That message is not in this company"), reason="invalid_request")
    contact = await load_contact(request, identity, person_id, deal_id)
    accounts = await SqlAccountStore(resources.engine).for_company(identity.company.id)
    chats, _ = await conversation(request, identity, contact, accounts)
    region = home_region(accounts)
    to = next(
        (value for value, _ in contact.phones if to_e164(value, default_region=region) == entry.to_chat),
        contact.phones[0][0] if contact.phones else "",
    )
    known_file = any(file_id == entry.file_id for file_id, _, _ in contact.files)
    typed = Typed(
        to=to,
        region="" if is_international(to) else (region or ""),
        account_id=entry.account_id,
        file_id=entry.file_id if known_file else None,
        text=entry.text,
        client_ref="",  # a new message: the page makes a new idempotency key
    )
    failed = entry.status == OutboxStatus.FAILED
    error = (
        panel_error(entry.error_reason, stored_failure(entry.error_reason, entry.error_message))
        if failed
        else None
    )
    return HTMLResponse(render_form(build_form(identity, contact, accounts, chats, typed, error)))


async def _on_whatsapp(resources: Resources, identity: FrameIdentity, typed: Typed) -> None:
    """Ask the From number's gateway whether the recipient has WhatsApp before anything is queued; when
    the gateway cannot tell now, the send job finds out."""
    if typed.account_id is None or not typed.client_ref:
        return
    account = await SqlAccountStore(resources.engine).get(identity.company.id, typed.account_id)
    if account is None:
        return  # the send service names this refusal
    e164 = recipient(typed.to, typed.region or None)
    await confirm_on_whatsapp(resources.transports, account, e164, of_person=True)


async def _link_of(request: Request, identity: FrameIdentity, chat_id: int, **extra: object) -> LinkView:
    resources: Resources = request.app.state.resources
    store = SqlConversationStore(resources.engine)
    chat = await store.chat(identity.company.id, chat_id)
    if chat is None:
        raise NotFound(Text("No chat %(chat)s in this company", chat=chat_id), reason="chat_not_found")
    return replace(link_view(chat, chat.person_id or 0, None), **extra)  # type: ignore[arg-type]


def _chosen_id(chosen: object, typed: str, reason: str, noun: str) -> int:
    """The id of the search hit the user chose, else the id they typed; typed text that is no id asks
    them to choose from the search."""
    if isinstance(chosen, str) and chosen.strip():
        return positive_int(chosen.strip(), reason, f"The {noun} id")
    if typed and not typed.isdigit():
        if noun == "Person":
            choose = Text(
                "Choose a Person from the search results for “%(typed)s”, or type a Person id", typed=typed
            )
        else:
            choose = Text(
                "Choose a Deal from the search results for “%(typed)s”, or type a Deal id", typed=typed
            )
        raise InvalidInput(choose, reason=reason)
    return positive_int(typed, reason, f"The {noun} id")


async def _person_exists(request: Request, identity: FrameIdentity, person_id: int) -> str:
    """The Person's name; ``invalid_person`` when Pipedrive has no such Person."""
    client = await pipedrive_for(request, identity)
    try:
        return (await client.persons.get(person_id)).name
    except NotFound as error:
        raise InvalidInput(
            Text("Person %(id)s was not found in Pipedrive", id=person_id), reason="invalid_person"
        ) from error


async def _deal_exists(request: Request, identity: FrameIdentity, deal_id: int) -> str:
    """The Deal's title; ``invalid_deal`` when Pipedrive has no such Deal."""
    client = await pipedrive_for(request, identity)
    try:
        return (await client.deals.get(deal_id)).title
    except NotFound as error:
        raise InvalidInput(
            Text("Deal %(id)s was not found in Pipedrive", id=deal_id), reason="invalid_deal"
        ) from error


def _chat_subject(view: LinkView) -> str:
    return f"chat #{view.chat_id}"


@panel_endpoint(page=False, notice_slot="panel-link-notice")
async def relink(request: Request, identity: FrameIdentity) -> Response:
    resources: Resources = request.app.state.resources
    form = await request.form()
    chat_id = positive_int(form.get("chat_id"), "chat_not_found", "The chat id")
    typed = str(form.get("person") or "").strip()
    before = await _link_of(request, identity, chat_id)
    try:
        person_id = _chosen_id(form.get("person_id"), typed, "invalid_person", "Person")
        name = await _person_exists(request, identity, person_id)
        await relink_chat(
            SqlSyncStore(resources.engine),
            resources.queue,
            identity.company.id,
            chat_id,
            person_id,
            now=resources.clock.now(),
        )
    except (InvalidInput, Transient) as error:
        view = await _link_of(
            request,
            identity,
            chat_id,
            error=panel_error(error.reason, error.text),
            typed_person=typed or str(form.get("person_id") or ""),
        )
        return HTMLResponse(render_link(view), status_code=error_status(error))
    await SqlAuditLog(resources.engine).record(
        identity.company.id,
        identity.pipedrive_user_id,
        "chat.relink",
        _chat_subject(before),
        {"chat": chat_id, "before": before.person_id, "after": person_id},
    )
    if name:
        notice = Text("The chat is now linked to %(name)s (Person #%(id)s)", name=name, id=person_id)
    else:
        notice = Text("The chat is now linked to the Person (Person #%(id)s)", id=person_id)
    view = await _link_of(request, identity, chat_id, notice=notice)
    return HTMLResponse(render_link(view), headers={"HX-Trigger": json.dumps({"panel-linked": {}})})


@panel_endpoint(page=False, notice_slot="panel-link-notice")
async def pin(request: Request, identity: FrameIdentity) -> Response:
    resources: Resources = request.app.state.resources
    form = await request.form()
    chat_id = positive_int(form.get("chat_id"), "chat_not_found", "The chat id")
    typed = str(form.get("deal") or "").strip()
    before = await _link_of(request, identity, chat_id)
    title = ""
    try:
        deal_id = (
            None if form.get("unpin") else _chosen_id(form.get("deal_id"), typed, "invalid_deal", "Deal")
        )
        if deal_id is not None:
            title = await _deal_exists(request, identity, deal_id)
        await pin_deal(
            SqlSyncStore(resources.engine),
            resources.queue,
            identity.company.id,
            chat_id,
            deal_id,
            now=resources.clock.now(),
        )
    except (InvalidInput, Transient) as error:
        view = await _link_of(
            request,
            identity,
            chat_id,
            error=panel_error(error.reason, error.text),
            typed_deal=typed or str(form.get("deal_id") or ""),
        )
        return HTMLResponse(render_link(view), status_code=error_status(error))
    if deal_id is None:
        action, details = "chat.unpin", {"chat": chat_id, "before": before.pinned_deal_id}
    else:
        action, details = "chat.pin", {"chat": chat_id, "before": before.pinned_deal_id, "after": deal_id}
    await SqlAuditLog(resources.engine).record(
        identity.company.id, identity.pipedrive_user_id, action, _chat_subject(before), details
    )
    if deal_id is None:
        notice = Text("The Deal is no longer pinned")
    elif title:
        notice = Text("“%(title)s” (Deal #%(id)s) is pinned to this chat", title=title, id=deal_id)
    else:
        notice = Text("Deal #%(id)s is pinned to this chat", id=deal_id)
    view = await _link_of(request, identity, chat_id, notice=notice)
    return HTMLResponse(render_link(view), headers={"HX-Trigger": json.dumps({"panel-linked": {}})})
