from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.errors import InvalidOutboundMessage
from server.domain.whatsapp import (
    Delivery,
    HistoryBatch,
    InboundMessage,
    MediaKind,
    OutboundMedia,
    OutboundMessage,
    Peer,
    SendResult,
    StatusChanged,
    Template,
    advance,
)

D = Delivery
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RANK = [D.PENDING, D.SENT, D.DELIVERED, D.READ, D.PLAYED]


@pytest.mark.parametrize(
    ("current", "new", "kept"),
    [
        (None, D.READ, D.READ),
        (D.SENT, D.DELIVERED, D.DELIVERED),
        (D.READ, D.DELIVERED, D.READ),  # read arrived first: delivered must not downgrade it
        (D.PLAYED, D.READ, D.PLAYED),
        (D.DELIVERED, D.SENT, D.DELIVERED),
        (D.PENDING, D.FAILED, D.FAILED),
        (D.SENT, D.FAILED, D.FAILED),
        (D.DELIVERED, D.FAILED, D.DELIVERED),  # it reached the phone: it did not fail
        (D.READ, D.FAILED, D.READ),
        (D.FAILED, D.SENT, D.FAILED),
        (D.FAILED, D.PENDING, D.FAILED),
        (D.FAILED, D.DELIVERED, D.DELIVERED),
        (D.FAILED, D.FAILED, D.FAILED),
    ],
)
def test_advance_table(current: Delivery | None, new: Delivery, kept: Delivery) -> None:
    assert advance(current, new) is kept


@given(st.lists(st.sampled_from(list(Delivery)), min_size=1, max_size=12))
def test_advance_never_goes_backwards_in_any_order(updates: list[Delivery]) -> None:
    state: Delivery | None = None
    for update in updates:
        new_state = advance(state, update)
        if state is not None and state is not D.FAILED and new_state is not D.FAILED:
            assert RANK.index(new_state) >= RANK.index(state)
        state = new_state
    best = max((RANK.index(u) for u in updates if u is not D.FAILED), default=None)
    if best is not None and best >= RANK.index(D.DELIVERED):
        assert state is RANK[best]  # the highest proof of delivery always wins, whatever the order


def test_outbound_message_needs_content() -> None:
    with pytest.raises(InvalidOutboundMessage):
        OutboundMessage(client_ref="r1", to="+4915112345678")
    with pytest.raises(InvalidOutboundMessage):
        OutboundMessage(client_ref="r1", to="+4915112345678", text="   ")
    with pytest.raises(InvalidOutboundMessage):
        OutboundMessage(client_ref=" ", to="+4915112345678", text="hi")
    with pytest.raises(InvalidOutboundMessage):
        OutboundMessage(
            client_ref="r1", to="+4915112345678", text="hi", template=Template("welcome", "en_US")
        )


def test_outbound_media_needs_exactly_one_source() -> None:
    with pytest.raises(InvalidOutboundMessage):
        OutboundMedia(kind=MediaKind.IMAGE, mime="image/png")
    with pytest.raises(InvalidOutboundMessage):
        OutboundMedia(kind=MediaKind.IMAGE, mime="image/png", data=b"x", url="https://x.test/a.png")
    with pytest.raises(InvalidOutboundMessage):
        OutboundMedia(kind=MediaKind.STICKER, mime="image/webp", data=b"x")
    media = OutboundMedia(kind=MediaKind.IMAGE, mime="image/png", data=b"\x89PNG" * 1000)
    assert "PNG" not in repr(media)  # bytes never reach logs


def test_send_result_key_equals_the_echo_key() -> None:
    result = SendResult(
        "acct", "r1", "3EB0AA", "4915112345678@s.whatsapp.net", NOW, "true_4915112345678@c.us_3EB0AA"
    )
    peer = Peer("4915112345678@s.whatsapp.net")
    echo = InboundMessage("acct", "3EB0AA", peer, peer, True, NOW, text="hi", from_api=True)
    status = StatusChanged("acct", "3EB0AA", Delivery.READ, NOW)
    assert result.key == echo.key == status.key == "acct/out/3EB0AA"


def test_history_batch_is_last_without_next_offset() -> None:
    assert HistoryBatch("acct", None, []).is_last
    assert not HistoryBatch("acct", None, [], next_offset=100).is_last
