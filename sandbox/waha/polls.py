"""Votes on a poll: WAHA's ``poll.vote`` event (``PollVotePayload``), one per vote as it is cast.

``vote.id`` is the vote's own message id (``true|false_<chat>_<id>``), ``vote.selectedOptions`` the
chosen answers by their text (none when a vote is taken back), ``vote.timestamp`` in milliseconds;
``poll`` names the poll's message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.waha.gateway import json_body, required
from sandbox.waha.jids import digits, is_group, normalize_chat_id
from sandbox.waha.models import SandboxError, Session, Status

if TYPE_CHECKING:
    from sandbox.waha.state import SandboxState


def vote(
    state: SandboxState, session: Session, poll_id: str, options: list[str], voter: str | None = None
) -> dict[str, Any]:
    """``voter`` (digits or a chat id; the owner on the phone when ``None``) chooses ``options`` on the
    poll ``poll_id``; the ``poll.vote`` payload sent."""
    poll = session.find_message(poll_id)
    if poll is None or poll.kind != "poll" or poll.content is None:
        raise SandboxError(404, f"poll {poll_id} not found")
    unknown = [option for option in options if option not in poll.content["options"]]
    if unknown:
        raise SandboxError(400, f"the poll has no option {unknown[0]!r}")
    if len(options) > 1 and not poll.content.get("multiple"):
        raise SandboxError(400, "the poll takes one answer")
    from_me = voter is None
    own = session.me_jid or ""
    spelled = voter if voter and "@" in voter else digits(voter or "")
    author = own if from_me else normalize_chat_id(spelled)
    chat = poll.chat_id
    vote_id = f"{'true' if from_me else 'false'}_{chat}_{state.ids.message_id()}"
    if is_group(chat) and not from_me:
        vote_id += f"_{author}"
    body: dict[str, Any] = {
        "vote": {
            "id": vote_id,
            "selectedOptions": list(options),
            "timestamp": state.clock.now_ms(),
            "to": chat if from_me else own,
            "from": own if from_me else chat,
            "fromMe": from_me,
        },
        "poll": {"id": poll.id, "to": poll.chat_id, "from": poll.sender, "fromMe": poll.from_me},
        "_data": {},
    }
    if is_group(chat) and not from_me:
        body["vote"]["participant"] = author
    if session.status == Status.WORKING and not session.faults.offline:
        state.emit(session, "poll.vote", body)
    return body


async def vote_endpoint(request: Request, waha: SandboxState) -> Response:
    """``POST /_sim/{session}/vote`` ``{"poll", "options", "from"?}``: a contact (or, without ``from``,
    the owner on the phone) votes."""
    body = await json_body(request)
    session = waha.working(request.path_params["session"])
    options = body.get("options")
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise SandboxError(400, "'options' must list the chosen answers (empty to take a vote back)")
    voter = body.get("from")
    sent = vote(waha, session, str(required(body, "poll")), options, str(voter) if voter else None)
    return JSONResponse(sent, status_code=201)
