"""Reading chats and message history from WAHA (catch-up, history sync, finding a sent message).

One unreadable entry in an answer is skipped so the rest still arrives; paging goes by offset.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

import httpx

from server.domain.errors import InvalidInput
from server.domain.jids import canonical_chat_key, legacy_chat_id
from server.domain.send_echoes import CLOCK_SKEW, is_echo_of, outbound_chat_keys
from server.domain.whatsapp import (
    ChatSummary,
    HistoryBatch,
    InboundMessage,
    MessageOrigin,
    OutboundMessage,
    SendResult,
)
from server.whatsapp.untrusted_input import objects_in
from server.whatsapp.waha_directory import parse_chat
from server.whatsapp.waha_http import as_list, request_json, segment, session_name
from server.whatsapp.waha_payloads import parse_message


async def read_chats(
    http: httpx.AsyncClient, account_id: str, *, limit: int, offset: int
) -> Sequence[ChatSummary]:
    """The account's chats, most recently active first."""
    params: dict[str, str | int] = {
        "limit": limit,
        "offset": offset,
        "sortBy": "conversationTimestamp",
        "sortOrder": "desc",
    }
    path = f"/api/{segment(session_name(account_id))}/chats"
    answer = await request_json(http, "GET", path, params=params)
    chats = [parse_chat(obj) for obj in objects_in(as_list(answer))]
    return [chat for chat in chats if chat is not None]


async def read_messages(
    http: httpx.AsyncClient,
    account_id: str,
    chat_id: str,
    *,
    since: datetime | None,
    limit: int,
    offset: int,
    origin: MessageOrigin,
    extra: Mapping[str, str],
) -> HistoryBatch:
    """One page of a chat's messages (``chat_id`` ``"all"``: of every chat), newest first as WAHA
    lists them."""
    params: dict[str, str | int] = {"limit": limit, "offset": offset, **extra}
    if since is not None:
        params["filter.timestamp.gte"] = int(since.timestamp())
    path = f"/api/{segment(session_name(account_id))}/chats/{segment(chat_id)}/messages"
    raw = as_list(await request_json(http, "GET", path, params=params))
    messages: list[InboundMessage] = []
    for obj in objects_in(raw):
        try:
            message = parse_message(obj, account_id=account_id, origin=origin)
        except InvalidInput:
            continue  # one unreadable entry must not block the catch-up of the rest
        if message is not None:
            messages.append(message)
    return HistoryBatch(
        account_id=account_id,
        chat_key=canonical_chat_key(chat_id) if chat_id != "all" else None,
        messages=messages,
        next_offset=offset + len(raw) if len(raw) >= limit > 0 else None,
    )


async def find_sent(
    http: httpx.AsyncClient,
    account_id: str,
    message: OutboundMessage,
    *,
    since: datetime,
    exclude: Collection[str],
) -> SendResult | None:
    """The oldest own message in the chat since ``since`` that matches ``message`` and is not in
    ``exclude`` (wa_message_ids already claimed by other outbox rows).

    Messages WAHA reports as sent through its API come before ones typed on the phone; among equals
    the oldest wins, and within one second (WAHA's timestamp resolution) the one listed last, since
    WAHA lists history newest first.
    """
    batch = await read_messages(
        http,
        account_id,
        legacy_chat_id(message.to),
        since=since - CLOCK_SKEW,
        limit=100,
        offset=0,
        origin=MessageOrigin.CATCHUP,
        extra={"filter.fromMe": "true", "downloadMedia": "false"},
    )
    chat_keys = outbound_chat_keys(message)
    candidates = sorted(
        (
            echo
            for echo in reversed(batch.messages)
            if echo.wa_message_id not in exclude
            and is_echo_of(echo, message, attempt_started_at=since, chat_keys=chat_keys)
        ),
        key=lambda echo: (not echo.from_api, echo.sent_at),
    )
    if not candidates:
        return None
    echo = candidates[0]
    return SendResult(
        account_id=account_id,
        client_ref=message.client_ref,
        wa_message_id=echo.wa_message_id,
        chat_key=echo.chat.chat_key,
        accepted_at=echo.sent_at,
        transport_id=echo.transport_id,
    )
