"""`/_sim/{session}/edit`, `/revoke` and `/react`: the phone page's and the tests' way to edit, delete and
react to a message (see `sandbox.waha.message_changes`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.waha.gateway import json_body, required
from sandbox.waha.message_changes import edit, react, revoke, sent
from sandbox.waha.models import SandboxError
from sandbox.waha.state import SandboxState


async def edit_control(request: Request, waha: SandboxState) -> Response:
    """``POST /_sim/{session}/edit`` ``{"id", "text"}``: the message's sender edits it."""
    body = await json_body(request)
    session = waha.working(request.path_params["session"])
    change = edit(waha, session, required(body, "id"), required(body, "text"))
    return JSONResponse({"id": change.id, "editedMessageId": sent(session, body["id"]).raw_id})


async def revoke_control(request: Request, waha: SandboxState) -> Response:
    """``POST /_sim/{session}/revoke`` ``{"id"}``: the message's sender deletes it for everyone."""
    body = await json_body(request)
    session = waha.working(request.path_params["session"])
    message_id = required(body, "id")
    target = sent(session, message_id).raw_id
    change = revoke(waha, session, message_id)
    return JSONResponse({"id": change.id, "revokedMessageId": target})


async def react_control(request: Request, waha: SandboxState) -> Response:
    """``POST /_sim/{session}/react`` ``{"id", "reaction", "from"?}``: a reaction ("" removes it) from the
    contact ``from``, else from the linked phone."""
    body = await json_body(request)
    emoji = body.get("reaction")
    if not isinstance(emoji, str):
        raise SandboxError(400, "'reaction' is required: an emoji, or \"\" to remove one")
    sender = body.get("from")
    if sender is not None and (not isinstance(sender, str) or not sender):
        raise SandboxError(400, "'from' names the contact who reacts; leave it out for the phone")
    session = waha.working(request.path_params["session"])
    return JSONResponse(react(waha, session, required(body, "id"), emoji, sender=sender))
