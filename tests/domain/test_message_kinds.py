"""Locations, shared contacts and calls: reading them, storing them, and the transcript line they make."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from server.domain.message_kinds import (
    Call,
    ContactCard,
    Location,
    Poll,
    PollVote,
    SharedContacts,
    ViewOnce,
    card_from_vcard,
    contacts,
    decode,
    describe,
    encode,
    kind_view,
    location,
    poll,
)
from server.domain.transcript import TranscriptChat, TranscriptLine, render_line

CHAT = TranscriptChat(zone=ZoneInfo("Europe/Berlin"), contact_name="Maria")
AT = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("latitude", "longitude", "expected"),
    [
        ("48.210033", "16.363449", (48.210033, 16.363449)),
        (-90, 180, (-90.0, 180.0)),
        (" 1.5 ", 0, (1.5, 0.0)),
    ],
)
def test_coordinates_are_numbers_or_decimal_strings(
    latitude: object, longitude: object, expected: tuple[float, float]
) -> None:
    found = location(latitude, longitude)
    assert found is not None and (found.latitude, found.longitude) == expected


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [
        (90.000001, 0),
        (0, -180.5),
        ("nan", 0),
        ("inf", 0),
        (True, 0),
        (None, 0),
        ("48,2", "16,3"),
        ("1" * 41, 0),
        ({"x": 1}, 0),
    ],
)
def test_a_location_without_usable_coordinates_is_none(latitude: object, longitude: object) -> None:
    assert location(latitude, longitude) is None


def test_the_map_link_is_built_from_the_coordinates_only() -> None:
    place = location(48.2100334, 16.3634491, name='"><script>', address="javascript:alert(1)")
    assert place is not None
    assert place.map_url == "https://www.google.com/maps/search/?api=1&query=48.210033,16.363449"


def test_a_vcard_gives_its_name_and_numbers() -> None:
    vcard = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Muster;Max;;;\r\nFN:Max Mus\r\n ter\r\n"
        "item1.TEL;type=CELL;waid=491701234567:+49 170 1234567\r\nTEL:tel:+43 1 234\r\n"
        "ORG:Acme\\, Inc.;\r\nEND:VCARD"
    )
    assert card_from_vcard(vcard) == ContactCard("Max Muster", ("+49 170 1234567", "+43 1 234"))


def test_a_vcard_without_fn_is_named_from_n_then_from_its_number() -> None:
    assert card_from_vcard("BEGIN:VCARD\nN:Muster;Max;;;\nEND:VCARD").name == "Max Muster"
    assert card_from_vcard("BEGIN:VCARD\nTEL:+1 555\nEND:VCARD").name == "+1 555"
    assert card_from_vcard("garbage").name == "Unnamed contact"


def test_many_shared_contacts_keep_twenty_and_count_the_rest() -> None:
    shared = contacts([ContactCard(f"C{n}") for n in range(25)])
    assert shared is not None and len(shared.cards) == 20 and shared.more == 5
    assert str(describe(shared).text).endswith("; C19; and 5 more")
    assert contacts([]) is None


@pytest.mark.parametrize(
    "details",
    [
        Location(48.210033, 16.363449, "Café", "Herrengasse 14", live=True),
        Location(-1.5, 2.25),
        SharedContacts((ContactCard("Max", ("+49 170",)), ContactCard("Eva")), more=3),
        Call(video=True, missed=False, duration_seconds=125),
        Call(),
        ViewOnce("voice"),
        ViewOnce(),
        Poll("Which day?", ("Mon", "Tue"), multiple=True),
        PollVote(("Tue",)),
        PollVote(),
    ],
)
def test_details_are_stored_and_read_back_unchanged(details: object) -> None:
    assert decode(encode(details)) == details  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("media", "text"),
    [("image", "a photo"), ("video", "a video"), ("voice", "a voice note"), ("hologram", "a photo")],
)
def test_view_once_media_says_what_it_was_and_that_it_is_not_kept(media: str, text: str) -> None:
    view = describe(ViewOnce(media))
    assert (str(view.label), str(view.text), view.url) == (
        "View once",
        f"{text}, not saved: it can be opened only on the phone",
        None,
    )
    assert decode(f'{{"kind":"view_once","media":"{media}"}}') == ViewOnce(
        media if media != "hologram" else "image"
    )


@pytest.mark.parametrize("stored", ["", "not json", "[1]", '{"kind":"hologram"}', '{"kind":"location"}'])
def test_stored_text_this_version_cannot_read_shows_nothing(stored: str) -> None:
    assert decode(stored) is None and kind_view(stored) is None


@pytest.mark.parametrize(
    ("call", "text"),
    [
        (Call(), "Missed voice call"),
        (Call(video=True), "Missed video call"),
        (Call(missed=False, duration_seconds=65), "Voice call (1:05)"),
        (Call(video=True, missed=False, duration_seconds=3725), "Video call (1:02:05)"),
        (Call(missed=False), "Voice call"),
    ],
)
def test_a_call_is_one_line_with_its_duration_when_known(call: Call, text: str) -> None:
    assert str(describe(call).text) == text


def test_a_location_line_links_the_place_to_the_map_and_escapes_what_was_typed() -> None:
    place = Location(48.210033, 16.363449, name="Café <b>\u202eCentral", address="Herrengasse & 14")
    line = TranscriptLine(key="k1", sent_at=AT, from_me=False, details=place)
    assert render_line(line, CHAT) == (
        '<p>10:30 ← <b>Maria</b>: Location: <a href="https://www.google.com/maps/search/?api=1&amp;'
        'query=48.210033,16.363449">Café &lt;b&gt;Central, Herrengasse &amp; 14</a></p>'
    )


def test_a_location_without_a_name_shows_its_coordinates() -> None:
    line = TranscriptLine(key="k1", sent_at=AT, from_me=True, details=Location(-33.8568, 151.2153))
    assert render_line(line, CHAT) == (
        '<p>10:30 → <b>You</b>: Location: <a href="https://www.google.com/maps/search/?api=1&amp;'
        'query=-33.856800,151.215300">-33.856800, 151.215300</a></p>'
    )


def test_a_contact_line_escapes_names_and_numbers() -> None:
    shared = SharedContacts((ContactCard("<i>Max</i>", ("+49 170 <1>",)), ContactCard("Eva")))
    line = TranscriptLine(key="k1", sent_at=AT, from_me=False, details=shared)
    assert render_line(line, CHAT) == (
        "<p>10:30 ← <b>Maria</b>: Contacts: &lt;i&gt;Max&lt;/i&gt; (+49 170 &lt;1&gt;); Eva</p>"
    )


def test_a_poll_keeps_twelve_answers_and_needs_a_question() -> None:
    asked = poll("  Which\nday? ", [f"Day {n}" for n in range(14)] + ["  "])
    assert asked is not None and asked.question == "Which day?" and len(asked.options) == 12
    assert poll("", ["a", "b"]) is None and poll(None, ["a"]) is None


def test_a_poll_line_and_its_votes_escape_what_was_typed() -> None:
    asked = TranscriptLine(
        key="k1", sent_at=AT, from_me=False, details=Poll("<b>Day</b>?", ("Mon & Tue", "Wed"))
    )
    assert (
        render_line(asked, CHAT)
        == "<p>10:30 ← <b>Maria</b>: Poll: &lt;b&gt;Day&lt;/b&gt;?: Mon &amp; Tue / Wed</p>"
    )
    voted = TranscriptLine(key="k2", sent_at=AT, from_me=True, details=PollVote(("Mon & Tue",)))
    assert render_line(voted, CHAT) == "<p>10:30 → <b>You</b>: Poll vote: Mon &amp; Tue</p>"
    assert str(describe(PollVote()).text) == "vote taken back"
