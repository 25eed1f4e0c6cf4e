"""Transcript lines of edited and deleted messages, replies and reactions: what each says, and that what
people typed into a quote or a reaction is escaped and neutralised like any text."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from server.domain.transcript import ALLOWED_TAGS, TranscriptChat, TranscriptLine, render_line

CHAT = TranscriptChat(zone=ZoneInfo("Europe/Berlin"), contact_name="Maria")
AT = datetime(2026, 3, 2, 8, 1, tzinfo=UTC)  # 09:01 in Berlin


def rendered(**fields: object) -> str:
    return render_line(TranscriptLine(key="k", sent_at=AT, from_me=False, **fields), CHAT)  # type: ignore[arg-type]


def test_each_kind_reads_as_the_issue_asks() -> None:
    assert rendered(text="new text", edited=True) == "<p>09:01 ← <b>Maria</b>: new text <i>(edited)</i></p>"
    assert rendered(deleted=True) == "<p>09:01 ← <b>Maria</b>: <i>This message was deleted</i></p>"
    assert rendered(text="kept", deleted=True, edited=True) == (
        "<p>09:01 ← <b>Maria</b>: <i>This message was deleted</i><br>kept</p>"
    )
    assert rendered(text="Yes", quote="Can you do 5 % off?") == (
        "<p>09:01 ← <b>Maria</b>: <i>↪ “Can you do 5 % off?”</i><br>Yes</p>"
    )
    assert rendered(reaction="👍 to “Can you do 5 % off?”") == (
        "<p>09:01 ← <b>Maria</b>: 👍 to “Can you do 5 % off?”</p>"
    )


def test_quotes_and_reactions_are_escaped_and_neutralised() -> None:
    hostile = "<script>x</script>\u202egnp.exe"
    for line in (rendered(text="ok", quote=hostile), rendered(reaction=f"<b>👍</b> to “{hostile}”")):
        assert "<script>" not in line and "<b>👍" not in line and "\u202e" not in line
        assert "&lt;script&gt;" in line
        assert set(re.findall(r"</?([a-z]+)", line)) <= ALLOWED_TAGS
