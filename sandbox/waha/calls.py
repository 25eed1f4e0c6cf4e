"""Contacts calling the linked number: WAHA's ``call.received``, then ``call.accepted`` or ``call.rejected``.

``CallData`` as WAHA (GOWS) sends it: ``{id, from, timestamp, isVideo, isGroup, _data}``. A call nobody
answers or rejects sends ``call.received`` only. WAHA reports no duration and nothing for calls the owner
makes from the phone; calls are not chat messages, so chat history does not list them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.waha.gateway import json_body, required
from sandbox.waha.jids import digits, engine_jid, normalize_chat_id
from sandbox.waha.models import SandboxError, Session, Status

if TYPE_CHECKING:
    from sandbox.waha.state import SandboxState

OUTCOMES = ("missed", "accepted", "rejected")


def ring(
    state: SandboxState, session: Session, caller: str, *, video: bool = False, outcome: str = "missed"
) -> str:
    """``caller`` (digits or a chat id) calls; the call's id. ``outcome``: missed, accepted or rejected."""
    if outcome not in OUTCOMES:
        raise SandboxError(400, f"'outcome' must be one of {', '.join(OUTCOMES)}")
    if session.status != Status.WORKING or session.faults.offline:
        return ""
    chat_id = normalize_chat_id(caller if "@" in caller else digits(caller))
    call_id = state.ids.message_id().replace("3EB0", "CA11", 1)
    now = state.clock.now_s()
    payload: dict[str, Any] = {
        "id": call_id,
        "from": chat_id,
        "timestamp": now,
        "isVideo": video,
        "isGroup": False,
        "_data": {"CallID": call_id, "From": engine_jid(chat_id), "Timestamp": now},
    }
    state.emit(session, "call.received", payload)
    if outcome != "missed":
        state.emit(session, f"call.{outcome}", payload)
    return call_id


async def call(request: Request, waha: SandboxState) -> Response:
    """``POST /_sim/{session}/call`` ``{"from", "video"?, "outcome"?}``: a contact calls the number."""
    body = await json_body(request)
    session = waha.working(request.path_params["session"])
    video = body.get("video") is True
    outcome = str(body.get("outcome") or "missed")
    call_id = ring(waha, session, str(required(body, "from")), video=video, outcome=outcome)
    return JSONResponse({"id": call_id, "outcome": outcome}, status_code=201)
