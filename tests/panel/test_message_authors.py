"""Who a bubble in the panel names: "You" for the team's side, the contact by the name their messages carry
(in a group, each member by their own name or number),
and for a message that carries none (a call, a poll vote) the name the same chat's other messages carry."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from panels.panel import message_rows
from server.domain.conversation import ContactMessage

AT = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def message(id: int, chat_id: int, sender_name: str, *, from_me: bool = False) -> ContactMessage:
    return ContactMessage(
        id=id,
        chat_id=chat_id,
        account_id=1,
        account_e164="+491701112223",
        message_key=f"k{id}",
        from_me=from_me,
        sender_name=sender_name,
        text=f"text {id}",
        status="delivered",
        sent_at=AT.replace(minute=id),
    )


def authors(*messages: ContactMessage) -> list[str]:
    rows = message_rows(messages, [], {}, "UTC", lambda _: "")
    return [str(row.author) for row in rows]


def test_a_message_without_a_name_takes_the_name_its_chat_goes_by() -> None:
    assert authors(
        message(1, 7, ""),  # a missed call, before the contact wrote
        message(2, 7, "Max Berger"),
        message(3, 7, "", from_me=True),
        message(4, 7, ""),  # a poll vote
    ) == ["Max Berger", "Max Berger", "You", "Max Berger"]


def test_the_latest_name_is_the_one_used() -> None:
    assert authors(message(1, 7, "Max"), message(2, 7, "Max Berger"), message(3, 7, "")) == [
        "Max",
        "Max Berger",
        "Max Berger",
    ]


def test_each_chat_keeps_its_own_name_and_an_unnamed_chat_says_contact() -> None:
    assert authors(message(1, 7, "Max Berger"), message(2, 8, ""), message(3, 7, "")) == [
        "Max Berger",
        "Contact",
        "Max Berger",
    ]


def test_the_teams_own_name_never_names_the_contact() -> None:
    assert authors(message(1, 7, "Anna Admin", from_me=True), message(2, 7, "")) == ["You", "Contact"]


def test_in_a_group_each_message_names_its_own_sender() -> None:
    """A group's members are not one contact: no name is borrowed from another member's message."""
    rows = message_rows(
        [
            replace(message(1, 9, "Klaus"), sender_key="4917655501111@s.whatsapp.net"),
            replace(message(2, 9, ""), sender_key="4917655502222@s.whatsapp.net"),
            replace(message(3, 9, ""), sender_key="254000825925805@lid"),
            message(4, 9, "Anna Admin", from_me=True),
        ],
        [],
        {},
        "UTC",
        lambda _: "",
        groups={9},
    )
    assert [str(row.author) for row in rows] == ["Klaus", "+4917655502222", "Group member", "You"]
