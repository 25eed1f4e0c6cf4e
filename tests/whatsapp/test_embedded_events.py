"""neonize's message, receipt and history events → WaPipe's events, on neonize's real protobuf types."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from server.domain.errors import InvalidInput, MalformedEvent, MalformedWebhook
from server.domain.message_changes import ChangeKind, MessageChanged, Reacted
from server.domain.message_kinds import ContactCard, Location, Poll, SharedContacts, ViewOnce
from server.domain.whatsapp import (
    Delivery,
    HistoryBatch,
    IdentityLearned,
    InboundMessage,
    MediaKind,
    MessageOrigin,
    MessageReceived,
    Peer,
    StatusChanged,
)
from server.whatsapp.embedded_events import translate
from server.whatsapp.embedded_media import parse_locator
from server.whatsapp.embedded_results import Translated
from tests.whatsapp.neonize_events import (
    ACCOUNT,
    CUSTOMER,
    CUSTOMER_LID,
    GROUP,
    OWN,
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
    source,
)

RECEIVED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
SENT = datetime(2025, 12, 6, 5, 46, 40, tzinfo=UTC)  # STAMP, written out
CUSTOMER_KEY = "4915112345678@s.whatsapp.net"
CUSTOMER_LID_KEY = "187743245021314@lid"
ME = Peer(chat_key="4930901820@s.whatsapp.net", e164="+4930901820")


def run(event: object, *, me: Peer | None = None, whole: bool = True) -> Translated:
    """Translate an event; a ``whole`` one has every field neonize's types require (whatsmeow fills them)."""
    if whole:
        assert event.IsInitialized(), event.FindInitializationErrors()
    return translate(event, account_id=ACCOUNT, received_at=RECEIVED, me=me)


def only_message(event: object, *, me: Peer | None = None) -> InboundMessage:
    found = [e.message for e in run(event, me=me).events if isinstance(e, MessageReceived)]
    assert len(found) == 1, found
    return found[0]


# ---- messages ------------------------------------------------------------------------------------------


def test_a_text_message_names_its_chat_sender_time_and_text() -> None:
    message = only_message(message_event(E.Message(conversation="Hallo, ist das Angebot noch gültig?")))
    assert message.account_id == ACCOUNT
    assert message.wa_message_id == "3EB0C767D26A1D8B4F3A"
    assert message.chat == Peer(chat_key=CUSTOMER_KEY, e164="+4915112345678")
    assert message.sender == Peer(chat_key=CUSTOMER_KEY, e164="+4915112345678", display_name="Kunde GmbH")
    assert message.from_me is False
    assert message.sent_at == SENT
    assert message.text == "Hallo, ist das Angebot noch gültig?"
    assert message.origin is MessageOrigin.LIVE
    assert message.media is None and message.details is None and message.reply_to is None


def test_a_time_in_milliseconds_reads_the_same_and_a_missing_one_falls_back() -> None:
    in_ms = only_message(message_event(E.Message(conversation="x"), timestamp=STAMP * 1000))
    missing = only_message(message_event(E.Message(conversation="x"), timestamp=0))
    assert in_ms.sent_at == SENT
    assert missing.sent_at == RECEIVED


def test_an_extended_text_reply_keeps_the_quoted_id_and_text() -> None:
    content = E.Message(
        extendedTextMessage=E.ExtendedTextMessage(
            text="Ja, bis Freitag", contextInfo=quote("3EB0AAAA", "Gilt der Rabatt noch?")
        )
    )
    message = only_message(message_event(content))
    assert (message.text, message.reply_to, message.quoted_text) == (
        "Ja, bis Freitag",
        "3EB0AAAA",
        "Gilt der Rabatt noch?",
    )


@pytest.mark.parametrize(
    ("content", "kind", "mime", "caption", "media_type"),
    [
        (
            E.Message(imageMessage=E.ImageMessage(mimetype="image/jpeg", caption="Foto", **media_fields())),
            MediaKind.IMAGE,
            "image/jpeg",
            "Foto",
            "image",
        ),
        (
            E.Message(videoMessage=E.VideoMessage(mimetype="video/mp4", caption="Clip", **media_fields())),
            MediaKind.VIDEO,
            "video/mp4",
            "Clip",
            "video",
        ),
        (
            E.Message(videoMessage=E.VideoMessage(mimetype="video/mp4", gifPlayback=True, **media_fields())),
            MediaKind.GIF,
            "video/mp4",
            None,
            "video",
        ),
        (
            E.Message(audioMessage=E.AudioMessage(mimetype="audio/mpeg", **media_fields())),
            MediaKind.AUDIO,
            "audio/mpeg",
            None,
            "audio",
        ),
        (
            E.Message(
                audioMessage=E.AudioMessage(mimetype="audio/ogg; codecs=opus", PTT=True, **media_fields())
            ),
            MediaKind.VOICE,
            "audio/ogg; codecs=opus",
            None,
            "audio",
        ),
        (
            E.Message(stickerMessage=E.StickerMessage(mimetype="image/webp", **media_fields())),
            MediaKind.STICKER,
            "image/webp",
            None,
            "sticker",
        ),
    ],
    ids=["image", "video", "gif", "audio", "voice", "sticker"],
)
def test_media_keeps_what_its_download_needs(
    content: E.Message, kind: MediaKind, mime: str, caption: str | None, media_type: str
) -> None:
    message = only_message(message_event(content))
    assert message.text == caption
    media = message.media
    assert media is not None
    assert (media.kind, media.mime, media.size) == (kind, mime, 48213)
    assert media.sha256 == bytes(range(64, 96)).hex()
    assert media.locator is not None
    download = parse_locator(media.locator)
    assert download.media_type == media_type
    assert download.direct_path == "/v/t62.7118-24/12345_67890.enc?ccb=11-4"
    assert download.media_key == bytes(range(32))
    assert download.file_enc_sha256 == bytes(range(32, 64))
    assert download.file_sha256 == bytes(range(64, 96))
    assert download.file_length == 48213


def test_a_document_with_a_caption_keeps_its_file_name_and_caption() -> None:
    document = E.DocumentMessage(
        mimetype="application/pdf", fileName="Angebot 2026.pdf", caption="Das Angebot", **media_fields()
    )
    wrapped = E.Message(
        documentWithCaptionMessage=E.FutureProofMessage(message=E.Message(documentMessage=document))
    )
    message = only_message(message_event(wrapped))
    assert message.media is not None
    assert (message.media.kind, message.media.filename, message.text) == (
        MediaKind.DOCUMENT,
        "Angebot 2026.pdf",
        "Das Angebot",
    )


def test_media_without_a_direct_path_is_stored_unavailable() -> None:
    content = E.Message(imageMessage=E.ImageMessage(mimetype="image/jpeg", caption="Foto"))
    media = only_message(message_event(content)).media
    assert media is not None and media.locator is None and media.kind is MediaKind.IMAGE


def test_view_once_media_is_logged_as_such_and_never_fetched() -> None:
    inner = E.Message(imageMessage=E.ImageMessage(mimetype="image/jpeg", viewOnce=True, **media_fields()))
    wrapped = E.Message(viewOnceMessageV2=E.FutureProofMessage(message=inner))
    flagged = E.Message(audioMessage=E.AudioMessage(mimetype="audio/ogg", PTT=True, **media_fields()))
    assert only_message(message_event(wrapped)).details == ViewOnce("image")
    voice = only_message(message_event(flagged, IsViewOnceV2=True))
    assert (voice.details, voice.media) == (ViewOnce("voice"), None)


def test_a_disappearing_message_is_read_inside_its_envelope() -> None:
    content = E.Message(ephemeralMessage=E.FutureProofMessage(message=E.Message(conversation="Bis bald")))
    assert only_message(message_event(content)).text == "Bis bald"


def test_a_location_keeps_its_place_and_no_text() -> None:
    content = E.Message(
        locationMessage=E.LocationMessage(
            degreesLatitude=52.520008, degreesLongitude=13.404954, name="Büro", address="Alexanderplatz 1"
        )
    )
    message = only_message(message_event(content))
    assert message.details == Location(52.520008, 13.404954, "Büro", "Alexanderplatz 1", False)
    assert message.text is None


def test_a_live_location_is_marked_live() -> None:
    content = E.Message(liveLocationMessage=E.LiveLocationMessage(degreesLatitude=0.0, degreesLongitude=-0.5))
    assert only_message(message_event(content)).details == Location(0.0, -0.5, None, None, True)


def test_contact_cards_keep_names_and_numbers() -> None:
    card = "BEGIN:VCARD\nVERSION:3.0\nFN:Erika Muster\nTEL;type=CELL:+49 151 1234 5679\nEND:VCARD"
    other = "BEGIN:VCARD\nVERSION:3.0\nFN:Max Muster\nTEL:+49 30 901820\nEND:VCARD"
    single = E.Message(contactMessage=E.ContactMessage(displayName="Erika", vcard=card))
    several = E.Message(
        contactsArrayMessage=E.ContactsArrayMessage(
            contacts=[E.ContactMessage(vcard=card), E.ContactMessage(vcard=other)]
        )
    )
    erika = ContactCard("Erika Muster", ("+49 151 1234 5679",))
    assert only_message(message_event(single)).details == SharedContacts((erika,))
    assert only_message(message_event(several)).details == SharedContacts(
        (erika, ContactCard("Max Muster", ("+49 30 901820",)))
    )


def test_a_poll_keeps_its_question_and_options() -> None:
    options = [E.PollCreationMessage.Option(optionName=n) for n in ("Montag", "Dienstag")]
    content = E.Message(
        pollCreationMessageV3=E.PollCreationMessage(name="Termin?", options=options, selectableOptionsCount=1)
    )
    assert only_message(message_event(content)).details == Poll("Termin?", ("Montag", "Dienstag"), False)


# ---- changes ---------------------------------------------------------------------------------------------


def test_a_revoke_deletes_the_named_message() -> None:
    revoke = E.ProtocolMessage(
        key=C.MessageKey(remoteJID=f"{CUSTOMER}@s.whatsapp.net", fromMe=True, ID="3EB0OLD")
    )
    revoke.type = E.ProtocolMessage.Type.REVOKE
    events = run(message_event(E.Message(protocolMessage=revoke))).events
    assert events == (MessageChanged(ACCOUNT, "3EB0OLD", False, ChangeKind.REVOKED, SENT, None),)


def test_an_edit_carries_the_new_text() -> None:
    edit = E.ProtocolMessage(
        key=C.MessageKey(remoteJID=f"{CUSTOMER}@s.whatsapp.net", fromMe=True, ID="3EB0OLD"),
        type=E.ProtocolMessage.Type.MESSAGE_EDIT,
        editedMessage=E.Message(conversation="Korrigiert: 15 %"),
    )
    wrapped = E.Message(editedMessage=E.FutureProofMessage(message=E.Message(protocolMessage=edit)))
    own = source(jid(CUSTOMER), jid(OWN), from_me=True)
    events = run(message_event(wrapped, src=own, IsEdit=True), me=ME).events
    assert events == (MessageChanged(ACCOUNT, "3EB0OLD", True, ChangeKind.EDITED, SENT, "Korrigiert: 15 %"),)


def test_a_reaction_names_the_reactor_and_the_message() -> None:
    key = C.MessageKey(remoteJID=f"{CUSTOMER}@s.whatsapp.net", fromMe=False, ID="3EB0MINE")
    reaction = E.Message(
        reactionMessage=E.ReactionMessage(key=key, text="👍", senderTimestampMS=STAMP * 1000)
    )
    assert run(message_event(reaction)).events == (
        Reacted(ACCOUNT, "3EB0MINE", True, CUSTOMER_KEY, False, "👍", SENT, "Kunde GmbH"),
    )


def reaction_to(target_author: str | None, *, key_from_me: bool) -> E.Message:
    key = C.MessageKey(remoteJID=f"{GROUP}@g.us", fromMe=key_from_me, ID="3EB0T", participant=target_author)
    return E.Message(reactionMessage=E.ReactionMessage(key=key, text="❤️"))


GROUP_SOURCE = source(jid(GROUP, "g.us"), jid(CUSTOMER))
OWN_GROUP_SOURCE = source(jid(GROUP, "g.us"), jid(OWN), from_me=True)


@pytest.mark.parametrize(
    ("src", "target_author", "key_from_me", "me", "expected"),
    [
        (OWN_GROUP_SOURCE, None, True, ME, True),  # we reacted to our own message
        (OWN_GROUP_SOURCE, f"{CUSTOMER}@s.whatsapp.net", False, ME, False),  # we reacted to theirs
        (GROUP_SOURCE, None, True, ME, False),  # they reacted to their own message
        (GROUP_SOURCE, f"{OWN}@s.whatsapp.net", False, ME, True),  # they reacted to ours
        (GROUP_SOURCE, "4915199999999@s.whatsapp.net", False, ME, False),  # to a third person's
        (GROUP_SOURCE, "4915199999999@s.whatsapp.net", False, None, None),  # our number unknown
        (GROUP_SOURCE, "555000111222333@lid", False, ME, None),  # a LID we cannot compare
    ],
    ids=["own to own", "own to theirs", "theirs to theirs", "theirs to ours", "third", "no me", "lid"],
)
def test_a_group_reaction_knows_whose_message_it_is_or_says_it_does_not(
    src: N.MessageSource, target_author: str | None, key_from_me: bool, me: Peer | None, expected: bool | None
) -> None:
    (reacted,) = run(
        message_event(reaction_to(target_author, key_from_me=key_from_me), src=src), me=me
    ).events
    assert isinstance(reacted, Reacted)
    assert reacted.target_from_me is expected
    assert reacted.reactor_key == ("me" if src.IsFromMe else CUSTOMER_KEY)


def test_housekeeping_and_encrypted_votes_are_skipped_with_a_reason() -> None:
    keys = E.ProtocolMessage(type=E.ProtocolMessage.Type.APP_STATE_SYNC_KEY_SHARE)
    vote = E.Message(pollUpdateMessage=E.PollUpdateMessage())
    nothing = E.Message(senderKeyDistributionMessage=E.SenderKeyDistributionMessage(groupID="x"))
    assert [s.reason for s in run(message_event(E.Message(protocolMessage=keys))).skipped] == [
        "protocol_message"
    ]
    assert [s.reason for s in run(message_event(vote)).skipped] == ["poll_vote_encrypted"]
    assert [s.reason for s in run(message_event(nothing)).skipped] == ["no_content"]
    assert run(message_event(vote)).events == ()


# ---- who: own messages, groups, LIDs ---------------------------------------------------------------------


def test_an_own_message_is_from_me_and_sent_by_our_number() -> None:
    own = source(jid(CUSTOMER), jid(OWN, device=3), from_me=True)
    message = only_message(message_event(E.Message(conversation="Gern!"), src=own, push_name=""))
    assert message.from_me is True
    assert message.chat.chat_key == CUSTOMER_KEY
    assert message.sender == Peer(chat_key="4930901820@s.whatsapp.net", e164="+4930901820")
    assert only_message(message_event(E.Message(conversation="x"), src=own), me=ME).sender == ME


def test_a_lid_chat_with_its_phone_spelling_is_keyed_by_the_phone_and_the_pair_is_learned() -> None:
    lid_source = source(jid(CUSTOMER_LID, "lid"), jid(CUSTOMER_LID, "lid"), sender_alt=jid(CUSTOMER))
    result = run(message_event(E.Message(conversation="Hallo"), src=lid_source))
    message = only_message(message_event(E.Message(conversation="Hallo"), src=lid_source))
    assert message.chat == Peer(chat_key=CUSTOMER_KEY, e164="+4915112345678", lid=CUSTOMER_LID_KEY)
    assert IdentityLearned(ACCOUNT, CUSTOMER_LID_KEY, CUSTOMER_KEY, "+4915112345678") in result.events


def test_a_lid_chat_without_its_phone_stays_a_lid() -> None:
    lid_source = source(jid(CUSTOMER_LID, "lid"), jid(CUSTOMER_LID, "lid"))
    message = only_message(message_event(E.Message(conversation="Hallo"), src=lid_source))
    assert message.chat == Peer(chat_key=CUSTOMER_LID_KEY, lid=CUSTOMER_LID_KEY)


def test_our_own_1to1_message_learns_the_chat_s_phone_from_recipient_alt() -> None:
    own = source(jid(CUSTOMER_LID, "lid"), jid(OWN), from_me=True, recipient_alt=jid(CUSTOMER))
    result = run(message_event(E.Message(conversation="Hi"), src=own), me=ME)
    assert IdentityLearned(ACCOUNT, CUSTOMER_LID_KEY, CUSTOMER_KEY, "+4915112345678") in result.events


def test_a_group_message_names_the_group_and_the_participant() -> None:
    group = source(jid(GROUP, "g.us"), jid(CUSTOMER_LID, "lid"), sender_alt=jid(CUSTOMER))
    message = only_message(message_event(E.Message(conversation="Team?"), src=group))
    assert message.chat == Peer(chat_key=f"{GROUP}@g.us", is_group=True)
    assert message.sender == Peer(
        chat_key=CUSTOMER_KEY, e164="+4915112345678", lid=CUSTOMER_LID_KEY, display_name="Kunde GmbH"
    )


def test_status_updates_and_channels_are_not_chats() -> None:
    status = source(jid("status", "broadcast"), jid(CUSTOMER))
    result = run(message_event(E.Message(conversation="Story"), src=status))
    assert result.events == () and [s.reason for s in result.skipped] == ["not_a_chat"]


# ---- receipts --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (N.Receipt.ReceiptType.DELIVERED, Delivery.DELIVERED),
        (N.Receipt.ReceiptType.READ, Delivery.READ),
        (N.Receipt.ReceiptType.PLAYED, Delivery.PLAYED),
    ],
)
def test_a_receipt_moves_each_named_message_on(kind: int, status: Delivery) -> None:
    receipt = N.Receipt(
        MessageSource=source(jid(CUSTOMER), jid(CUSTOMER)),
        MessageIDs=["A1", "A2"],
        Timestamp=STAMP,
        Type=kind,
    )
    assert run(receipt).events == tuple(
        StatusChanged(ACCOUNT, wa_id, status, SENT, True, CUSTOMER_KEY) for wa_id in ("A1", "A2")
    )


def test_a_group_read_receipt_names_the_reader_and_learns_their_phone() -> None:
    group = source(jid(GROUP, "g.us"), jid(CUSTOMER_LID, "lid"), sender_alt=jid(CUSTOMER))
    receipt = N.Receipt(
        MessageSource=group, MessageIDs=["A1"], Timestamp=STAMP, Type=N.Receipt.ReceiptType.READ
    )
    assert run(receipt).events == (
        StatusChanged(ACCOUNT, "A1", Delivery.READ, SENT, True, CUSTOMER_LID_KEY),
        IdentityLearned(ACCOUNT, CUSTOMER_LID_KEY, CUSTOMER_KEY, "+4915112345678"),
    )


def test_a_server_error_receipt_fails_the_message_with_a_reason() -> None:
    receipt = N.Receipt(
        MessageSource=source(jid(CUSTOMER), jid(CUSTOMER)),
        MessageIDs=["A1"],
        Type=N.Receipt.ReceiptType.SERVER_ERROR,
        Timestamp=0,  # no time: the time it arrived stands in
    )
    (failed,) = run(receipt).events
    assert isinstance(failed, StatusChanged)
    assert (failed.status, failed.reason, failed.at) == (Delivery.FAILED, "gateway_error", RECEIVED)


@pytest.mark.parametrize("kind", ["SENDER", "RETRY", "READ_SELF", "PLAYED_SELF", "INACTIVE", "PEER_MSG"])
def test_receipts_about_our_own_devices_are_skipped(kind: str) -> None:
    receipt = N.Receipt(
        MessageSource=source(jid(CUSTOMER), jid(OWN)),
        MessageIDs=["A1"],
        Type=N.Receipt.ReceiptType.Value(kind),
        Timestamp=STAMP,
    )
    result = run(receipt)
    assert result.events == () and [s.reason for s in result.skipped] == ["receipt_not_kept"]


# ---- history sync ----------------------------------------------------------------------------------------


def test_a_history_sync_gives_a_batch_per_chat_of_history_messages() -> None:
    chat = f"{CUSTOMER}@s.whatsapp.net"
    sync = history(
        conversation(
            chat,
            history_message("H1", "Guten Tag", from_me=False, chat=chat),
            history_message("H2", "Hallo zurück", from_me=True, chat=chat, stamp=STAMP + 60),
        ),
        conversation(
            "status@broadcast", history_message("S1", "Story", from_me=False, chat="status@broadcast")
        ),
    )
    result = run(sync, me=ME)
    (batch,) = result.events
    assert isinstance(batch, HistoryBatch)
    assert (batch.account_id, batch.chat_key, batch.is_last) == (ACCOUNT, CUSTOMER_KEY, True)
    assert [(m.wa_message_id, m.text, m.from_me, m.origin) for m in batch.messages] == [
        ("H1", "Guten Tag", False, MessageOrigin.HISTORY),
        ("H2", "Hallo zurück", True, MessageOrigin.HISTORY),
    ]
    assert batch.messages[1].sent_at == datetime(2025, 12, 6, 5, 47, 40, tzinfo=UTC)
    assert batch.messages[1].sender == ME
    assert batch.messages[0].sender.display_name == "Kunde GmbH"
    assert [s.reason for s in result.skipped] == ["not_a_chat"]


def test_a_history_sync_learns_lid_pairs_from_its_mappings_and_lid_chats() -> None:
    lid_chat = f"{CUSTOMER_LID}@lid"
    sync = history(
        conversation(
            lid_chat,
            history_message("H1", "Hi", from_me=False, chat=lid_chat),
            pnJID=f"{CUSTOMER}@s.whatsapp.net",
        ),
        mappings=((f"{OWN}@s.whatsapp.net", "99887766554433@lid"),),
    )
    events = run(sync).events
    assert (
        IdentityLearned(ACCOUNT, "99887766554433@lid", "4930901820@s.whatsapp.net", "+4930901820") in events
    )
    assert IdentityLearned(ACCOUNT, CUSTOMER_LID_KEY, CUSTOMER_KEY, "+4915112345678") in events
    (batch,) = [e for e in events if isinstance(e, HistoryBatch)]
    assert batch.chat_key == CUSTOMER_KEY  # the phone spelling wins, as for live messages
    assert batch.messages[0].chat.lid == CUSTOMER_LID_KEY


def test_an_unreadable_history_entry_is_skipped_and_the_rest_arrives() -> None:
    chat = f"{CUSTOMER}@s.whatsapp.net"
    broken = history_message("", "no id", from_me=False, chat=chat)
    sync = history(conversation(chat, broken, history_message("H2", "ok", from_me=False, chat=chat)))
    result = run(sync)
    (batch,) = result.events
    assert isinstance(batch, HistoryBatch) and [m.wa_message_id for m in batch.messages] == ["H2"]
    assert [s.reason for s in result.skipped] == ["malformed_event"]


# ---- malformed and unknown input -------------------------------------------------------------------------


def test_a_message_without_an_id_or_chat_is_malformed() -> None:
    with pytest.raises(MalformedEvent) as no_id:
        run(message_event(E.Message(conversation="x"), wa_id=""))
    no_chat = N.Message(
        Info=N.MessageInfo(ID="X1", MessageSource=N.MessageSource()), Message=E.Message(conversation="x")
    )
    with pytest.raises(MalformedEvent):
        run(no_chat, whole=False)
    assert no_id.value.reason == "malformed_event"
    assert isinstance(no_id.value, MalformedWebhook)  # handled wherever a malformed delivery is


def test_a_receipt_without_ids_and_a_history_without_data_are_malformed() -> None:
    with pytest.raises(MalformedEvent):
        run(
            N.Receipt(
                MessageSource=source(jid(CUSTOMER), jid(CUSTOMER)),
                Type=N.Receipt.ReceiptType.READ,
                Timestamp=STAMP,
            )
        )
    with pytest.raises(MalformedEvent):
        run(N.HistorySync(), whole=False)


def test_something_that_is_not_a_neonize_event_is_malformed() -> None:
    with pytest.raises(MalformedEvent, match="not a neonize event"):
        run({"event": "message"}, whole=False)


def test_an_event_wapipe_does_not_use_is_skipped_with_a_reason() -> None:
    result = run(N.Presence(From=jid(CUSTOMER), Unavailable=False, LastSeen=STAMP))
    assert result.events == () and [s.reason for s in result.skipped] == ["unhandled_event"]


@pytest.mark.parametrize(
    "locator",
    [
        "https://example.com/file.jpg",
        "wa-media:type=image",
        "wa-media:type=exe&path=/v/x&key=AAAA",
        "wa-media:type=image&path=/v/x",
        "wa-media:type=image&path=/v/x&key=%%%",
    ],
    ids=["not ours", "no path", "unknown type", "no key", "unreadable key"],
)
def test_a_media_locator_that_is_not_one_of_ours_is_refused_by_name(locator: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_locator(locator)
    assert refused.value.reason == "invalid_media_locator"
