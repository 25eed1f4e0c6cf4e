"""WAHA locations, shared contacts, calls, stickers, GIFs and view-once media: WAHA's own fields, whatsmeow's
raw message when they are missing, the body (a map thumbnail or the vCard itself on WEBJS) never kept as
text, one line per call, view-once media never fetched."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from server.domain.errors import MalformedWebhook
from server.domain.message_kinds import Call, ContactCard, Location, Poll, PollVote, SharedContacts, ViewOnce
from server.domain.whatsapp import MediaKind, MessageOrigin, MessageReceived
from server.whatsapp.waha_payloads import parse_message
from server.whatsapp.waha_webhook import events_from_envelope

AT = datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC)

VCARD = "BEGIN:VCARD\nVERSION:3.0\nFN:Max Muster\nTEL;type=CELL;waid=491701234567:+49 170 1234567\nEND:VCARD"


def parse(**fields: Any) -> Any:
    payload = {
        "id": "false_4917655501234@c.us_3EB0KIND",
        "timestamp": 1767225600,
        "from": "4917655501234@c.us",
        "fromMe": False,
        "body": "",
        "hasMedia": False,
        **fields,
    }
    message = parse_message(payload, account_id="s1", origin=MessageOrigin.LIVE)
    assert message is not None
    return message


def test_waha_location_with_coordinates_as_strings() -> None:
    message = parse(
        body="/9j/4AAQSkZJRgABAQAAAQABAAD",  # WEBJS: the map thumbnail
        location={"latitude": "48.210033", "longitude": "16.363449", "live": False, "name": "Café Central"},
    )
    assert message.details == Location(48.210033, 16.363449, name="Café Central")
    assert message.text is None


def test_a_live_location_is_marked_live() -> None:
    message = parse(location={"latitude": "1.5", "longitude": "2.5", "live": True})
    assert message.details == Location(1.5, 2.5, live=True)


def test_gows_raw_location_when_waha_leaves_it_out() -> None:
    raw = {
        "Message": {"locationMessage": {"degreesLatitude": 52.52, "degreesLongitude": 13.405, "name": "TV"}}
    }
    assert parse(_data=raw).details == Location(52.52, 13.405, name="TV")
    live = {"Message": {"liveLocationMessage": {"degreesLatitude": 52.52, "degreesLongitude": 13.405}}}
    assert parse(_data=live).details == Location(52.52, 13.405, live=True)


def test_a_location_out_of_range_keeps_the_message_without_details() -> None:
    message = parse(body="", location={"latitude": "91", "longitude": "0", "live": False})
    assert message.details is None and message.text is None


def test_vcards_become_shared_contacts_and_the_vcard_body_is_dropped() -> None:
    message = parse(body=VCARD, vCards=[VCARD, VCARD.replace("Max Muster", "Eva")])
    assert message.details == SharedContacts(
        (ContactCard("Max Muster", ("+49 170 1234567",)), ContactCard("Eva", ("+49 170 1234567",)))
    )
    assert message.text is None


def test_gows_raw_contact_and_contact_array() -> None:
    single = {"Message": {"contactMessage": {"displayName": "Max", "vcard": VCARD}}}
    assert parse(vCards=[], _data=single).details == SharedContacts(
        (ContactCard("Max Muster", ("+49 170 1234567",)),)
    )
    array = {
        "Message": {
            "contactsArrayMessage": {
                "contacts": [{"vcard": VCARD}, {"vcard": "BEGIN:VCARD\nFN:Eva\nEND:VCARD"}]
            }
        }
    }
    found = parse(_data=array).details
    assert isinstance(found, SharedContacts) and [c.name for c in found.cards] == ["Max Muster", "Eva"]


def test_a_text_message_has_no_details() -> None:
    message = parse(body="hello", vCards=[])
    assert message.details is None and message.text == "hello"


# --- calls --------------------------------------------------------------------------------------------------


def call_envelope(event: str, **payload: Any) -> dict[str, Any]:
    data = {"id": "CA11CALL", "from": "4917655501234@c.us", "timestamp": 1767225600, "isVideo": False}
    return {"event": event, "session": "s1", "timestamp": 1767225601000, "payload": {**data, **payload}}


@pytest.mark.parametrize(
    ("event", "video", "details"),
    [
        ("call.received", False, Call(missed=True)),
        ("call.rejected", True, Call(video=True, missed=True)),
        ("call.accepted", False, Call(missed=False)),
    ],
)
def test_each_call_event_is_the_calls_one_line(event: str, video: bool, details: Call) -> None:
    [received] = events_from_envelope(call_envelope(event, isVideo=video), received_at=AT)
    assert isinstance(received, MessageReceived)
    message = received.message
    assert message.details == details and message.text is None and message.from_me is False
    assert message.wa_message_id == "call:CA11CALL" and message.chat.e164 == "+4917655501234"
    assert message.key == "s1/in/call:CA11CALL"  # the same for the three events of one call
    assert message.sent_at == datetime(2026, 1, 1, tzinfo=UTC)


def test_a_call_event_without_a_caller_is_refused_by_name() -> None:
    with pytest.raises(MalformedWebhook) as refused:
        events_from_envelope(call_envelope("call.received", **{"from": None}), received_at=AT)
    assert refused.value.reason == "invalid_call"


def test_a_call_from_a_status_or_broadcast_id_is_not_logged() -> None:
    assert (
        events_from_envelope(call_envelope("call.received", **{"from": "status@broadcast"}), received_at=AT)
        == []
    )


# --- stickers, GIFs and view-once media ---------------------------------------------------------------------

IMAGE = {"mimetype": "image/jpeg", "url": "http://waha/api/files/x.jpeg", "error": None}
VIDEO = {"mimetype": "video/mp4", "url": "http://waha/api/files/x.mp4", "error": None}


@pytest.mark.parametrize(
    ("media", "data", "what"),
    [
        (IMAGE, {"IsViewOnce": True}, "image"),  # GOWS: whatsmeow's flag
        (VIDEO, {"IsViewOnceV2": True}, "video"),
        (IMAGE, {"isViewOnce": True}, "image"),  # WEBJS
        (
            None,
            {"Message": {"viewOnceMessageV2": {"message": {"videoMessage": {"mimetype": "video/mp4"}}}}},
            "video",
        ),
        (None, {"Message": {"audioMessage": {"viewOnce": True, "PTT": True}}}, "voice"),
        ({"mimetype": "audio/ogg; codecs=opus", "error": None}, {"IsViewOnceV2Extension": True}, "voice"),
    ],
)
def test_view_once_media_is_logged_as_such_and_never_fetched(
    media: dict[str, Any] | None, data: dict[str, Any], what: str
) -> None:
    message = parse(body="only once", hasMedia=True, media=media, _data=data)
    assert message.media is None  # nothing to fetch
    assert message.details == ViewOnce(what) and message.text == "only once"


def test_a_gif_is_a_video_played_in_a_loop() -> None:
    gows = parse(hasMedia=True, media=VIDEO, _data={"Message": {"videoMessage": {"gifPlayback": True}}})
    webjs = parse(hasMedia=True, media=VIDEO, _data={"isGif": True})
    assert gows.media.kind is webjs.media.kind is MediaKind.GIF
    assert gows.media.locator == "http://waha/api/files/x.mp4"
    video = parse(hasMedia=True, media=VIDEO, _data={"Message": {"videoMessage": {"gifPlayback": False}}})
    assert video.media.kind is MediaKind.VIDEO


def test_a_webp_image_is_a_sticker() -> None:
    sticker = parse(hasMedia=True, media={"mimetype": "image/webp", "url": "http://waha/api/files/s.webp"})
    assert sticker.media.kind is MediaKind.STICKER and sticker.details is None


# --- polls --------------------------------------------------------------------------------------------------


def test_a_gows_poll_with_its_question_and_answers() -> None:
    raw = {
        "pollCreationMessageV3": {
            "name": "Which day?",
            "options": [{"optionName": "Mon"}, {"optionName": "Tue"}],
            "selectableOptionsCount": 1,
        }
    }
    message = parse(body="Which day?", _data={"Message": raw})
    assert message.details == Poll("Which day?", ("Mon", "Tue")) and message.text is None


def test_a_webjs_poll_taking_several_answers() -> None:
    data = {
        "type": "poll_creation",
        "pollName": "Colour?",
        "pollOptions": [{"name": "Red"}, {"name": "Blue"}],
        "pollSelectableOptionsCount": 0,
    }
    assert parse(_data=data).details == Poll("Colour?", ("Red", "Blue"), multiple=True)


def vote_envelope(**vote: Any) -> dict[str, Any]:
    given = {
        "id": "false_4917655501234@c.us_3EB0VOTE",
        "selectedOptions": ["Tue"],
        "timestamp": 1767225600000,
        "from": "4917655501234@c.us",
        "to": "4915112345678@c.us",
        "fromMe": False,
        **vote,
    }
    poll = {
        "id": "true_4917655501234@c.us_3EB0POLL",
        "from": "4915112345678@c.us",
        "to": "4917655501234@c.us",
        "fromMe": True,
    }
    return {
        "event": "poll.vote",
        "session": "s1",
        "timestamp": 1767225601000,
        "payload": {"vote": given, "poll": poll, "_data": {}},
    }


def test_each_vote_is_a_line_of_the_voters_chat() -> None:
    [received] = events_from_envelope(vote_envelope(), received_at=AT)
    assert isinstance(received, MessageReceived)
    message = received.message
    assert message.details == PollVote(("Tue",)) and message.key == "s1/in/3EB0VOTE"
    assert message.chat.e164 == "+4917655501234" and message.from_me is False
    assert message.sent_at == datetime(2026, 1, 1, tzinfo=UTC)  # WAHA gives a vote's time in ms


def test_a_vote_taken_back_and_one_from_the_phone() -> None:
    [back] = events_from_envelope(vote_envelope(selectedOptions=[]), received_at=AT)
    assert isinstance(back, MessageReceived) and back.message.details == PollVote()
    mine = vote_envelope(id="true_4917655501234@c.us_3EB0MINE", fromMe=True, **{"from": "4915112345678@c.us"})
    [ours] = events_from_envelope(mine, received_at=AT)
    assert isinstance(ours, MessageReceived) and ours.message.from_me is True
    assert ours.message.chat.e164 == "+4917655501234"


def test_a_poll_vote_without_a_vote_is_refused_by_name() -> None:
    envelope = vote_envelope()
    envelope["payload"]["vote"] = None
    with pytest.raises(MalformedWebhook) as refused:
        events_from_envelope(envelope, received_at=AT)
    assert refused.value.reason == "invalid_poll_vote"


def test_a_call_or_vote_without_its_own_time_takes_the_envelopes() -> None:
    envelope_time = datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC)  # the envelopes' 1767225601000 ms
    [call] = events_from_envelope(call_envelope("call.received", timestamp=None), received_at=AT)
    [vote] = events_from_envelope(vote_envelope(timestamp=None), received_at=AT)
    assert isinstance(call, MessageReceived) and isinstance(vote, MessageReceived)
    assert call.message.sent_at == vote.message.sent_at == envelope_time


def test_a_vote_from_the_phone_is_sent_by_the_linked_number() -> None:
    mine = vote_envelope(id="true_4917655501234@c.us_3EB0MINE", fromMe=True, **{"from": "4915112345678@c.us"})
    mine["me"] = {"id": "4915112345678@c.us", "pushName": "Anna"}
    [ours] = events_from_envelope(mine, received_at=AT)
    assert isinstance(ours, MessageReceived)
    assert ours.message.sender.e164 == "+4915112345678" and ours.message.sender.display_name == "Anna"
