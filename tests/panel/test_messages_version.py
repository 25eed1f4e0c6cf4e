"""The open panel's list asks again with its version and gets 204 while nothing it shows changed: every
change a person would see changes the version, a missed call answered included."""

from __future__ import annotations

from dataclasses import replace

from panels.panel import MessageRow, messages_view
from server.domain.message_kinds import KindView

MISSED = KindView("call", "Call", "Missed voice call")
ROW = MessageRow(
    "m1", False, "", "06 Dec 16:54", "+491701112223", "Contact", "delivered", "", "", kind=MISSED
)


def version(*rows: MessageRow) -> str:
    return messages_view(rows, person_id=1, deal_id=None).version


def test_the_same_rows_keep_their_version() -> None:
    assert version(ROW) == version(replace(ROW, kind=KindView("call", "Call", "Missed voice call")))


def test_a_missed_call_answered_changes_the_version() -> None:
    assert version(ROW) != version(replace(ROW, kind=KindView("call", "Call", "Voice call")))


def test_each_change_a_person_sees_changes_the_version() -> None:
    changes = [
        replace(ROW, text="Hallo"),
        replace(ROW, reactions=(("👍", "Max"),)),
        replace(ROW, edited=True),
        replace(ROW, deleted=True),
        replace(ROW, status="read"),
        replace(ROW, kind=None),
    ]
    seen = {version(ROW), *(version(row) for row in changes)}
    assert len(seen) == len(changes) + 1
