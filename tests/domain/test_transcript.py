from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.transcript import (
    ALLOWED_TAGS,
    MIN_NOTE_BYTES,
    NOTE_LIMIT_BYTES,
    TranscriptAttachment,
    TranscriptChat,
    TranscriptLine,
    activity_subject,
    content_hash,
    neutralise,
    render_line,
    render_transcript,
    single_line,
)
from server.domain.whatsapp import Delivery, MediaKind

BERLIN = ZoneInfo("Europe/Berlin")
CHAT = TranscriptChat(zone=BERLIN, contact_name="Anna Müller", contact_number="+4915112345678")
T0 = datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # 09:00 in Berlin (CEST)
TAG = re.compile(r"</?([a-zA-Z0-9]+)")
HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' onmouseover='alert(1)",
    "Tom & Jerry &amp; &lt;b&gt;",
    "invoice\u202egpj.exe",
    "pa\u200dy\u200bpal\u2060\ufeff",
    "\u2066isolated\u2069 \u202aembedded\u202c",
    "</p><a href=javascript:alert(1)>x</a>",
    "null\x00byte and bell\x07",
]


def line(
    key: str,
    minutes: int = 0,
    *,
    from_me: bool = False,
    text: str | None = "hello",
    **extra: object,
) -> TranscriptLine:
    return TranscriptLine(key, T0 + timedelta(minutes=minutes), from_me, text, **extra)  # type: ignore[arg-type]


def tags(note: str) -> set[str]:
    return {name.lower() for name in TAG.findall(note)}


def test_one_line_per_message_with_time_direction_and_name() -> None:
    parts = render_transcript([line("a", 0, text="Hi!"), line("b", 5, from_me=True, text="Hello")], CHAT)
    assert len(parts) == 1
    assert parts[0].html == ("<p>09:00 ← <b>Anna Müller</b>: Hi!</p><p>09:05 → <b>You</b>: Hello</p>")
    assert parts[0].subject == "WhatsApp chat with Anna Müller"
    assert parts[0].line_keys == ("a", "b")
    assert parts[0].number == 1


def test_group_lines_name_each_sender() -> None:
    group = TranscriptChat(zone=BERLIN, contact_name="Sales team", is_group=True)
    parts = render_transcript(
        [
            line("a", 0, sender_name="Bob"),
            line("b", 1, sender_number="+4915100000000"),
            line("c", 2),
            line("d", 3, from_me=True),
        ],
        group,
    )
    assert "<b>Bob</b>" in parts[0].html
    assert "<b>+4915100000000</b>" in parts[0].html
    assert "<b>Unknown</b>" in parts[0].html
    assert "→ <b>You</b>" in parts[0].html
    assert "Sales team" not in parts[0].html
    assert parts[0].subject == "WhatsApp chat with Sales team"


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_text_is_escaped_and_neutralised(hostile: str) -> None:
    chat = TranscriptChat(zone=BERLIN, contact_name=hostile)
    attachment = TranscriptAttachment(MediaKind.DOCUMENT, file_name=hostile, url="https://files.example/1")
    note = render_transcript([line("a", text=hostile, attachment=attachment)], chat)[0].html
    assert tags(note) <= ALLOWED_TAGS
    assert "<script" not in note and "<img" not in note and 'href="javascript' not in note
    assert 'href="https://files.example/1"' in note
    assert note.count("<a ") == 1  # only our link
    for ch in "\u202e\u202a\u202c\u2066\u2069\u200b\u2060\ufeff\u200d\x00\x07":
        assert ch not in note
    # Quotes cannot leave an attribute: every quote in the note belongs to our href.
    assert note.count('"') == 2


def test_ampersands_and_newlines() -> None:
    note = render_line(line("a", text="A & B\r\nC\rD\u2028E\n\n"), CHAT)
    assert note.endswith(": A &amp; B<br>C<br>D<br>E</p>")


def test_neutralise_keeps_emoji_sequences_and_joining_scripts() -> None:
    family = "👨\u200d👩\u200d👧"
    assert neutralise(family) == family
    persian = "می\u200cخواهم"
    assert neutralise(persian) == persian
    assert neutralise("pay\u200dpal") == "paypal"
    assert neutralise("\u200dstart") == "start"
    assert neutralise("abc\u202edef\tg") == "abcdef g"
    assert single_line("  Anna \n  Müller\u202e ") == "Anna Müller"
    assert single_line("x" * 300) == "x" * 99 + "…"


def test_attachments() -> None:
    image = TranscriptAttachment(MediaKind.IMAGE, "photo.jpg", "https://pd.example/files/1?a=1&b=2")
    voice = TranscriptAttachment(MediaKind.VOICE, None, "https://pd.example/files/2", duration_seconds=42)
    video = TranscriptAttachment(MediaKind.VIDEO, "clip.mp4", None, duration_seconds=3725)
    big = TranscriptAttachment(
        MediaKind.DOCUMENT,
        "scan.pdf",
        "https://wapipe.example/m/3",
        size_bytes=23 * 1024 * 1024,
        too_large=True,
    )
    gone = TranscriptAttachment(MediaKind.AUDIO, "song.mp3", None, unavailable=True)
    evil = TranscriptAttachment(MediaKind.DOCUMENT, "x.pdf", "javascript:alert(1)")
    lines = [
        line("a", 0, text="look", attachment=image),
        line("b", 1, text=None, attachment=voice),
        line("c", 2, text=None, attachment=video),
        line("d", 3, text=None, attachment=big),
        line("e", 4, text=None, attachment=gone),
        line("f", 5, text=None, attachment=evil),
    ]
    rows = render_transcript(lines, CHAT)[0].html.split("</p>")
    assert rows[0].endswith('Image: <a href="https://pd.example/files/1?a=1&amp;b=2">photo.jpg</a><br>look')
    assert rows[1].endswith('<a href="https://pd.example/files/2">Voice note 0:42</a>')
    assert rows[2].endswith("Video 1:02:05: clip.mp4")
    assert rows[3].endswith(
        'Document: <a href="https://wapipe.example/m/3">scan.pdf</a> '
        "<i>(attachment too large for Pipedrive (23 MB): kept in WaPipe)</i>"
    )
    assert "not available" in rows[4]
    assert rows[5].endswith("Document: x.pdf")


def test_an_attachment_still_downloading_is_named_without_a_link() -> None:
    pending = TranscriptAttachment(MediaKind.DOCUMENT, "angebot.pdf", None, pending=True)
    row = render_line(line("a", text="Angebot anbei", attachment=pending), CHAT)
    assert row.endswith(
        "Document: angebot.pdf <i>(not downloaded yet: WaPipe is trying again)</i><br>Angebot anbei</p>"
    )
    assert "<a " not in row


def test_delivery_status_is_optional() -> None:
    sent = line("a", from_me=True, status=Delivery.READ)
    assert "(read)" not in render_line(sent, CHAT)
    with_status = TranscriptChat(zone=BERLIN, contact_name="Anna", show_status=True)
    assert render_line(sent, with_status).endswith("hello <i>(read)</i></p>")
    assert "(read)" not in render_line(line("b", status=Delivery.READ), with_status)


def test_rendering_is_stable_whatever_the_input_order() -> None:
    lines = [line(f"k{i}", minutes=i % 3, text=f"message {i}") for i in range(12)]
    first = render_transcript(lines, CHAT)
    again = render_transcript(list(reversed(lines)), CHAT)
    assert first == again
    assert [key for key in first[0].line_keys] == sorted(
        (f"k{i}" for i in range(12)), key=lambda k: (int(k[1:]) % 3, k)
    )


def test_duplicate_keys_render_once() -> None:
    parts = render_transcript([line("a", text="one"), line("a", text="one"), line("b", 1)], CHAT)
    assert parts[0].line_keys == ("a", "b")
    assert parts[0].html.count("one") == 1


def test_hash_is_stable_and_changes_with_content() -> None:
    parts = render_transcript([line("a")], CHAT)
    assert parts[0].content_hash == content_hash(parts[0].subject, parts[0].html)
    assert parts[0].content_hash == render_transcript([line("a")], CHAT)[0].content_hash
    assert len(parts[0].content_hash) == 64
    changed = render_transcript([line("a", text="hello!")], CHAT)[0]
    renamed = render_transcript([line("a")], TranscriptChat(zone=BERLIN, contact_name="Anna M."))[0]
    assert len({parts[0].content_hash, changed.content_hash, renamed.content_hash}) == 3


def test_no_lines_no_parts() -> None:
    assert render_transcript([], CHAT) == ()


def test_subjects() -> None:
    assert activity_subject(CHAT) == "WhatsApp chat with Anna Müller"
    assert activity_subject(CHAT, part=2) == "WhatsApp chat with Anna Müller (part 2)"
    number_only = TranscriptChat(zone=BERLIN, contact_number="+4915112345678")
    assert activity_subject(number_only) == "WhatsApp chat with +4915112345678"
    assert activity_subject(TranscriptChat(zone=BERLIN)) == "WhatsApp chat with unknown contact"
    hostile = TranscriptChat(zone=BERLIN, contact_name="Eve\n<b>\u202eboss</b>\t")
    assert activity_subject(hostile) == "WhatsApp chat with Eve <b>boss</b>"  # plain text: not HTML-escaped
    linked = TranscriptChat(zone=BERLIN, contact_name="Klaus Becker", subject_name="Munich Contact 1")
    assert activity_subject(linked) == "WhatsApp chat with Munich Contact 1"  # the Person's name wins
    assert activity_subject(TranscriptChat(zone=BERLIN, contact_name="Klaus", subject_name=" \n")) == (
        "WhatsApp chat with Klaus"
    )
    long = TranscriptChat(zone=BERLIN, contact_name="N" * 90)
    assert len(activity_subject(long, part=12)) <= 255
    assert activity_subject(long, part=12).endswith(" (part 12)")


def test_rolls_over_exactly_at_the_limit() -> None:
    # Exactly the bytes of both lines: one part. One byte less: the second line moves to part 2.
    text = "y" * (MIN_NOTE_BYTES // 2)
    big = [line("a", 0, text=text), line("b", 1, text=text)]
    total = sum(len(render_line(item, CHAT).encode()) for item in big)
    assert len(render_transcript(big, CHAT, max_bytes=total)) == 1
    split = render_transcript(big, CHAT, max_bytes=total - 1)
    assert [part.line_keys for part in split] == [("a",), ("b",)]
    assert split[1].html.startswith("<p><i>Continued from part 1.</i></p>")
    assert split[1].subject.endswith("(part 2)")


def test_appending_lines_leaves_filled_parts_unchanged() -> None:
    lines = [line(f"k{i:04}", i, text="z" * 900) for i in range(300)]
    before = render_transcript(lines[:250], CHAT)
    after = render_transcript(lines, CHAT)
    assert len(before) >= 2
    assert after[: len(before) - 1] == before[:-1]


def test_a_giant_message_is_cut_to_fit() -> None:
    parts = render_transcript([line("a", text="é" * 300_000), line("b", 1, text="b" * 500)], CHAT)
    assert [part.line_keys for part in parts] == [("a",), ("b",)]
    assert NOTE_LIMIT_BYTES - 70 < parts[0].size_bytes <= NOTE_LIMIT_BYTES
    assert parts[0].html.endswith("é… [message cut here: the full text (586 KB) is kept in WaPipe]</p>")


def test_too_small_a_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        render_transcript([line("a")], CHAT, max_bytes=100)


TEXTS = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",))
    | st.sampled_from(["<", "&", "\n", "é", "😀"]),
    max_size=3_000,
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(TEXTS, st.integers(0, 24 * 60 - 1)), max_size=40),
    st.integers(MIN_NOTE_BYTES, 20_000),
)
def test_split_property(messages: list[tuple[str, int]], max_bytes: int) -> None:
    lines = [line(f"m{i:03}", minute, text=text or None) for i, (text, minute) in enumerate(messages)]
    parts = render_transcript(lines, CHAT, max_bytes=max_bytes)
    expected = [item.key for item in sorted(lines, key=lambda item: (item.sent_at, item.key))]
    assert [key for part in parts for key in part.line_keys] == expected  # each line once, in order
    for number, part in enumerate(parts, start=1):
        assert part.number == number
        assert len(part.html.encode()) <= max_bytes
        assert tags(part.html) <= ALLOWED_TAGS
        assert part.html.count("<p>") == len(part.line_keys) + (1 if number > 1 else 0)
    assert render_transcript(list(reversed(lines)), CHAT, max_bytes=max_bytes) == parts


def test_an_attachment_removed_by_retention_is_said_so_without_a_link() -> None:
    from server.domain.transcript import (
        TranscriptAttachment,
        TranscriptChat,
        TranscriptLine,
        render_transcript,
    )
    from server.domain.whatsapp import MediaKind

    line = TranscriptLine(
        key="k1",
        sent_at=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
        from_me=False,
        text=None,
        attachment=TranscriptAttachment(kind=MediaKind.IMAGE, file_name="offer.jpg", url=None, removed=True),
    )
    [part] = render_transcript([line], TranscriptChat(zone=ZoneInfo("Europe/Berlin"), contact_name="Maria"))
    assert "removed by retention" in part.html and "href" not in part.html
