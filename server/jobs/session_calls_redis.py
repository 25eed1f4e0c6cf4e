"""Calls to an embedded session that runs in another worker, through Redis.

A job that needs a number's live session (a send, a media download, a number check, a group's name) may
run in any worker, and the session runs in only one (``server.jobs.session_host``). The caller pushes its
call onto the session's list, ``wapipe:session-calls:<session>``, and waits on a reply key of its own;
the worker that runs the session takes calls from the lists of all its sessions (one ``BLPOP`` over them),
answers each through its local session, and pushes the reply. A call nobody answers within the timeout
(the session between two workers, or its worker gone) fails as the transient ``session_not_answering``,
so its job is tried again; a call's list and reply expire, so nothing is left behind in Redis.

A call carries the time its caller stops waiting: a worker that takes it later drops it, so a send whose
caller gave up is never made behind its back. A send the worker makes is recorded for a day under its
``client_ref`` (``wapipe:session-sent:<session>:<ref>``) before the reply goes: when the reply is lost on
the way, the job's retry asks ``sent`` and finds the message instead of sending it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from redis.asyncio import Redis

from server.domain.errors import GatewayUnavailable, Permanent, SessionDisconnected, Transient, WaPipeError
from server.domain.text import Text

log = logging.getLogger(__name__)

CALLS = "wapipe:session-calls:"
REPLIES = "wapipe:session-reply:"
SENT = "wapipe:session-sent:"
SENT_KEPT_S = 86_400  # how long a send is remembered for a retry that asks whether it went out
Handler = Callable[[str, str, dict[str, Any]], Awaitable[dict[str, Any]]]


class RedisSessionCalls:
    def __init__(
        self,
        redis: Redis,
        *,
        timeout: float = 60.0,
        idle: float = 1.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._timeout = timeout  # how long a caller waits for its reply
        self._idle = idle  # how long the serving worker's BLPOP waits before it looks at its sessions again
        self._now = now  # epoch seconds (the hosts' clocks agree, as for the rate limits)

    async def sent(self, session: str, client_ref: str) -> dict[str, Any] | None:
        """What the session's worker answered to the send of ``client_ref`` (``None``: it made none)."""
        found = await self._redis.get(f"{SENT}{session}:{client_ref}")
        return None if found is None else dict(json.loads(found))

    async def call(self, session: str, method: str, args: dict[str, Any]) -> dict[str, Any]:
        """The session's answer to ``method(args)``; the answering worker's error, raised here."""
        call_id = uuid.uuid4().hex
        until = self._now() + self._timeout
        request = json.dumps({"id": call_id, "method": method, "args": args, "until": until})
        key = CALLS + session
        ttl = max(1, int(self._timeout))
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, request)
            pipe.expire(key, ttl)
            await pipe.execute()
        reply = await self._redis.blpop([REPLIES + call_id], timeout=self._timeout)  # type: ignore[misc,arg-type]
        if reply is None:
            raise GatewayUnavailable(
                Text("No worker answered for this number's WhatsApp session"), reason="session_not_answering"
            )
        answer: dict[str, Any] = json.loads(reply[1])
        error = answer.get("error")
        if error is not None:
            raise _error(error)
        result: dict[str, Any] = answer.get("result") or {}
        return result

    async def serve(
        self, sessions: Callable[[], Collection[str]], handle: Handler, stopping: asyncio.Event
    ) -> None:
        """Answer the calls to ``sessions()`` (the ones this worker runs) until ``stopping`` is set."""
        replies: set[asyncio.Task[None]] = set()
        try:
            while not stopping.is_set():
                keys = [CALLS + session for session in sessions()]
                if not keys:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stopping.wait(), timeout=self._idle)
                    continue
                try:
                    item = await self._redis.blpop(keys, timeout=self._idle)  # type: ignore[misc,arg-type]
                except Exception:  # Redis away for a moment: the callers time out and their jobs retry
                    log.exception("the session calls could not be read")
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stopping.wait(), timeout=self._idle)
                    continue
                if item is None:
                    continue
                session = item[0].decode() if isinstance(item[0], bytes) else str(item[0])
                task = asyncio.create_task(self._answer(session.removeprefix(CALLS), item[1], handle))
                replies.add(task)
                task.add_done_callback(replies.discard)
        finally:
            await asyncio.gather(*replies, return_exceptions=True)

    async def _answer(self, session: str, raw: bytes | str, handle: Handler) -> None:
        try:
            request = json.loads(raw)
            call_id, method, args = str(request["id"]), str(request["method"]), dict(request["args"])
            until = float(request.get("until") or 0)
        except (ValueError, KeyError, TypeError):
            log.warning("a session call that is not one was dropped", extra={"session": session})
            return
        if until and self._now() > until:  # its caller stopped waiting: its job retries and looks first
            log.warning("a session call its caller gave up on was dropped", extra={"session": session})
            return
        try:
            answer: dict[str, Any] = {"result": await handle(session, method, args)}
            if method == "send":
                await self._remember_send(session, args, answer["result"])
        except WaPipeError as error:
            answer = {
                "error": {
                    "reason": error.reason,
                    "message": error.message,
                    "transient": isinstance(error, Transient),
                }
            }
        except Exception as error:
            answer = {
                "error": {"reason": "gateway_unavailable", "message": str(error)[:500], "transient": True}
            }
        key = REPLIES + call_id
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, json.dumps(answer))
            pipe.expire(key, max(1, int(self._timeout)))
            await pipe.execute()

    async def _remember_send(self, session: str, args: dict[str, Any], result: dict[str, Any]) -> None:
        client_ref = str((args.get("message") or {}).get("client_ref") or "")
        if client_ref:
            await self._redis.set(f"{SENT}{session}:{client_ref}", json.dumps(result), ex=SENT_KEPT_S)


def _error(error: dict[str, Any]) -> WaPipeError:
    reason, message = str(error.get("reason") or "gateway_unavailable"), str(error.get("message") or "")
    if error.get("transient"):
        return GatewayUnavailable(message, reason=reason)
    if reason == SessionDisconnected.reason:
        return SessionDisconnected(message)
    return Permanent(message, reason=reason)
