"""Hostile input for the embedded transport's translation: whatever neonize hands over (odd chat ids, any
text, damaged protobuf bytes), ``translate`` returns a ``Translated`` or raises ``MalformedEvent``."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from server.domain.errors import MalformedEvent
from server.domain.whatsapp import Peer
from server.whatsapp.embedded_events import translate
from server.whatsapp.embedded_results import Translated
from tests.whatsapp.neonize_events import (
    ACCOUNT,
    CUSTOMER,
    GROUP,
    STAMP,
    C,
    E,
    N,
    conversation,
    history,
    history_message,
    jid,
    media_fields,
    message_event,
    quote,
    receipt,
    source,
)

RECEIVED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
ME = Peer(chat_key="4930901820@s.whatsapp.net", e164="+4930901820")

users = st.sampled_from(["", CUSTOMER, "187743245021314", GROUP, "status", "0", "abc", "1" * 60, "49151:3"])
servers = st.sampled_from(["", "s.whatsapp.net", "lid", "g.us", "broadcast", "newsletter", "c.us", "x"])
texts = st.text(max_size=40)
jids = st.builds(jid, users, servers)
stamps = st.sampled_from([0, -1, STAMP, STAMP * 1000, 2**62, 99])

contents = st.one_of(
    st.builds(lambda t: E.Message(conversation=t), texts),
    st.builds(
        lambda t, s: E.Message(extendedTextMessage=E.ExtendedTextMessage(text=t, contextInfo=quote(s, t))),
        texts,
        texts,
    ),
    st.builds(lambda p: E.Message(imageMessage=E.ImageMessage(**media_fields(p))), texts),
    st.builds(
        lambda la, lo: E.Message(locationMessage=E.LocationMessage(degreesLatitude=la, degreesLongitude=lo)),
        st.floats(),
        st.floats(),
    ),
    st.builds(lambda v: E.Message(contactMessage=E.ContactMessage(vcard=v)), texts),
    st.builds(
        lambda i, t: E.Message(
            protocolMessage=E.ProtocolMessage(
                key=C.MessageKey(ID=i), type=t, editedMessage=E.Message(conversation="x")
            )
        ),
        texts,
        st.sampled_from([0, 5, 14, 22]),
    ),
    st.builds(
        lambda i, t: E.Message(reactionMessage=E.ReactionMessage(key=C.MessageKey(ID=i), text=t)),
        texts,
        texts,
    ),
    st.just(E.Message()),
)


def outcome(event: object) -> Translated | None:
    try:
        return translate(event, account_id=ACCOUNT, received_at=RECEIVED, me=ME)
    except MalformedEvent:
        return None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contents, jids, jids, jids, st.booleans(), texts, stamps)
def test_any_message_event_translates_or_is_refused_by_name(
    content: E.Message, chat: N.JID, sender: N.JID, alt: N.JID, from_me: bool, wa_id: str, stamp: int
) -> None:
    src = source(chat, sender, from_me=from_me, sender_alt=alt, recipient_alt=alt)
    result = outcome(message_event(content, wa_id=wa_id, src=src, timestamp=stamp))
    assert result is None or isinstance(result, Translated)


@settings(max_examples=100, deadline=None)
@given(jids, jids, st.lists(texts, max_size=3), st.integers(min_value=0, max_value=12), stamps)
def test_any_receipt_translates_or_is_refused_by_name(
    chat: N.JID, sender: N.JID, ids: list[str], kind: int, stamp: int
) -> None:
    known = kind if kind in N.Receipt.ReceiptType.values() else N.Receipt.ReceiptType.DELIVERED
    result = outcome(receipt(source(chat, sender), ids, known, timestamp=stamp))
    assert result is None or isinstance(result, Translated)


@settings(max_examples=100, deadline=None)
@given(texts, texts, texts, st.booleans(), stamps)
def test_any_history_sync_translates_or_is_refused_by_name(
    chat: str, pn: str, wa_id: str, from_me: bool, stamp: int
) -> None:
    sync = history(
        conversation(
            chat, history_message(wa_id, "x", from_me=from_me, chat=chat, stamp=abs(stamp)), pnJID=pn
        ),
        mappings=((pn, chat),),
    )
    result = outcome(sync)
    assert result is None or isinstance(result, Translated)


VALID = [
    message_event(E.Message(imageMessage=E.ImageMessage(caption="c", **media_fields()))).SerializeToString(),
    receipt(source(jid(CUSTOMER), jid(CUSTOMER)), ["A"]).SerializeToString(),
]


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([0, 1]), st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=6)
)
def test_damaged_event_bytes_translate_or_are_refused_by_name(
    which: int, flips: list[tuple[int, int]]
) -> None:
    data = bytearray(VALID[which])
    for position, value in flips:
        data[position % len(data)] = value
    event = (N.Message, N.Receipt)[which]()
    try:
        event.MergeFromString(bytes(data))  # no check of required fields: a damaged event may lack them
    except DecodeError:
        assume(False)
        return
    result = outcome(event)
    assert result is None or isinstance(result, Translated)
