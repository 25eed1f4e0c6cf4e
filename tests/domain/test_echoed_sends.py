"""A send whose echo is stored before the send's own answer came back is shown once (the stored message)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.domain.conversation import ContactMessage
from server.domain.models import OutboxEntry
from server.domain.send_echoes import echoed_sends

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def entry(
    entry_id: int,
    text: str,
    *,
    status: str = "sending",
    account: int = 1,
    key: str | None = None,
    file_id: int | None = None,
    started: datetime | None = NOW,
) -> OutboxEntry:
    return OutboxEntry(
        id=entry_id,
        client_ref=f"ref-{entry_id}",
        company_id=7,
        account_id=account,
        requested_by=1,
        to_chat="4915112345678@c.us",
        person_id=3,
        deal_id=None,
        text=text,
        file_id=file_id,
        file_name="offer.pdf" if file_id else "",
        status=status,
        attempts=1,
        attempt_started_at=started,
        wa_message_id=None,
        message_key=key,
        error_reason="",
        error_message="",
        created_at=NOW - timedelta(seconds=2),
    )


def message(
    message_id: int,
    text: str,
    *,
    at: datetime = NOW,
    from_me: bool = True,
    account: int = 1,
    media: str = "",
) -> ContactMessage:
    return ContactMessage(
        id=message_id,
        chat_id=1,
        account_id=account,
        account_e164="+491701112223",
        message_key=f"key-{message_id}",
        from_me=from_me,
        sender_name="",
        text=text,
        status="sent",
        sent_at=at,
        media_kind=media,
    )


def test_a_send_whose_echo_is_stored_is_hidden_whatever_its_spacing() -> None:
    assert echoed_sends([entry(1, "Guten Morgen Maria")], [message(10, "  Guten Morgen Maria\r\n")]) == {1}


def test_a_send_still_on_its_way_without_an_echo_stays() -> None:
    assert echoed_sends([entry(1, "Guten Morgen")], [message(10, "Guten Abend")]) == set()
    assert echoed_sends([entry(1, "Guten Morgen", status="queued", started=None)], []) == set()


def test_the_contacts_message_or_another_numbers_is_no_echo() -> None:
    assert echoed_sends([entry(1, "ok")], [message(10, "ok", from_me=False)]) == set()
    assert echoed_sends([entry(1, "ok")], [message(10, "ok", account=2)]) == set()


def test_a_message_from_before_the_attempt_is_no_echo() -> None:
    old = message(10, "ok", at=NOW - timedelta(minutes=5))
    assert echoed_sends([entry(1, "ok")], [old]) == set()
    # within the clocks' allowed difference it is
    assert echoed_sends([entry(1, "ok")], [message(10, "ok", at=NOW - timedelta(seconds=20))]) == {1}


def test_a_queued_send_counts_from_when_it_was_asked_for() -> None:
    assert echoed_sends([entry(1, "ok", status="queued", started=None)], [message(10, "ok")]) == {1}


def test_one_echo_stands_for_one_send_the_oldest_first() -> None:
    sends = [entry(2, "ok"), entry(1, "ok")]
    assert echoed_sends(sends, [message(10, "ok")]) == {1}
    assert echoed_sends(sends, [message(10, "ok"), message(11, "ok")]) == {1, 2}


def test_a_message_a_finished_send_names_is_not_an_echo_of_another() -> None:
    sends = [entry(1, "ok", status="sent", key="key-10"), entry(2, "ok")]
    assert echoed_sends(sends, [message(10, "ok")]) == set()


def test_finished_or_failed_sends_are_left_to_their_own_rules() -> None:
    assert echoed_sends([entry(1, "ok", status="failed")], [message(10, "ok")]) == set()
    assert echoed_sends([entry(1, "ok", status="sent")], [message(10, "ok")]) == set()


def test_an_attachment_matches_only_an_attachment_with_its_caption() -> None:
    with_file = entry(1, "Angebot", file_id=5)
    assert echoed_sends([with_file], [message(10, "Angebot")]) == set()
    assert echoed_sends([with_file], [message(10, "Angebot", media="document")]) == {1}
    assert echoed_sends([entry(1, "Angebot")], [message(10, "Angebot", media="image")]) == set()
