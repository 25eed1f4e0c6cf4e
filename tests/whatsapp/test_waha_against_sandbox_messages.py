"""The WAHA adapter against the WAHA sandbox: sends and acks, inbound messages, echoes, groups, media."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import reduce

import pytest

from sandbox.waha import SandboxState
from server.domain.errors import MediaExpired, MediaOriginRefused, MediaTooLarge
from server.domain.send_echoes import echo_fingerprint, send_fingerprint
from server.domain.whatsapp import (
    Delivery,
    MediaKind,
    MediaRef,
    MessageReceived,
    OutboundMedia,
    OutboundMessage,
    advance,
)
from tests.whatsapp.waha_sandbox_world import (
    ACCOUNT,
    ANA,
    JONAS,
    OWNER,
    World,
    identities,
    of_type,
    open_world,
    statuses,
)

CUSTOMER = "4917612345678"
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 4
OPUS = b"OggS\x00\x02" + bytes(40) + b"OpusHead" + bytes(64)


async def fetch(world: World, media: MediaRef | None) -> bytes:
    assert media is not None
    return b"".join([chunk async for chunk in world.waha.fetch_media(ACCOUNT, media)])


def outbound(kind: MediaKind | None, **options: object) -> OutboundMessage:
    if kind is None:
        return OutboundMessage(client_ref="out-text", to=f"+{CUSTOMER}", text="Your quote is ready")
    media = {
        MediaKind.IMAGE: OutboundMedia(MediaKind.IMAGE, "image/png", "q.png", data=b"\x89PNG fake"),
        MediaKind.DOCUMENT: OutboundMedia(MediaKind.DOCUMENT, "application/pdf", "Quote.pdf", data=PDF),
        MediaKind.VOICE: OutboundMedia(MediaKind.VOICE, "audio/ogg; codecs=opus", data=OPUS),
        MediaKind.VIDEO: OutboundMedia(
            MediaKind.VIDEO, "video/mp4", "clip.mp4", data=b"\x00\x00\x00 ftypmp4"
        ),
    }[kind]
    text = None if kind is MediaKind.VOICE else f"the {kind}"
    return OutboundMessage(client_ref=f"out-{kind}", to=f"{CUSTOMER}@s.whatsapp.net", text=text, media=media)


# ---- sends, echoes and acks -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "sandbox_kind", "acks"),
    [
        (None, "text", [Delivery.SENT, Delivery.DELIVERED, Delivery.READ]),
        (MediaKind.IMAGE, "image", [Delivery.SENT, Delivery.DELIVERED, Delivery.READ]),
        (MediaKind.DOCUMENT, "document", [Delivery.SENT, Delivery.DELIVERED, Delivery.READ]),
        (MediaKind.VIDEO, "video", [Delivery.SENT, Delivery.DELIVERED, Delivery.READ]),
        (MediaKind.VOICE, "voice", [Delivery.SENT, Delivery.DELIVERED, Delivery.READ, Delivery.PLAYED]),
    ],
)
async def test_send_echo_and_acks(
    linked: World, kind: MediaKind | None, sandbox_kind: str, acks: list[Delivery]
) -> None:
    message = outbound(kind)
    result = await linked.waha.send(ACCOUNT, message)
    assert result.chat_key == f"{CUSTOMER}@s.whatsapp.net" and result.accepted_at == linked.now()
    assert result.transport_id == f"true_{CUSTOMER}@c.us_{result.wa_message_id}"

    [reached] = linked.sim.outbox(ACCOUNT)  # what the customer's phone got
    assert (reached["message_id"], reached["kind"]) == (result.transport_id, sandbox_kind)
    assert reached["text"] == (message.text or "")
    if message.media is not None:
        filename = message.media.filename or "voice-message.ogg"  # WAHA requires a voice note's file name
        assert reached["mimetype"] == message.media.mime and reached["filename"] == filename
        assert message.media.data is not None and reached["size"] == len(message.media.data)

    [echo] = await linked.messages()  # message.any, source "api"
    assert echo.key == result.key and echo.from_me and echo.from_api
    assert echo.chat.chat_key == result.chat_key and echo.sender.chat_key == f"{OWNER}@s.whatsapp.net"
    assert echo_fingerprint(echo) == send_fingerprint(message)
    if message.media is not None:
        assert echo.media is not None and await fetch(linked, echo.media) == message.media.data
        assert echo.media.kind is kind

    await linked.sim.elapse(10)
    changed = statuses(await linked.events())
    assert [s.status for s in changed] == acks
    assert {s.key for s in changed} == {result.key}
    assert {s.recipient for s in changed} == {result.chat_key}
    assert reduce(lambda current, s: advance(current, s.status), changed, None) is acks[-1]


async def test_reply_to_a_received_message(linked: World) -> None:
    linked.sim.receive(ACCOUNT, JONAS, "Which colour?")
    [question] = await linked.messages()
    assert question.transport_id is not None
    reply = OutboundMessage(
        client_ref="r1", to=question.chat.chat_key, text="Blue", reply_to=question.transport_id
    )
    await linked.waha.send(ACCOUNT, reply)
    [echo] = await linked.messages()
    assert echo.reply_to == question.wa_message_id
    assert linked.sim.outbox(ACCOUNT)[0]["reply_to"] == question.wa_message_id


async def test_send_to_a_number_not_in_the_canonical_spelling(linked: World) -> None:
    result = await linked.waha.send(
        ACCOUNT, OutboundMessage(client_ref="c1", to=f"{CUSTOMER}:3@s.whatsapp.net", text="hi")
    )
    assert result.chat_key == f"{CUSTOMER}@s.whatsapp.net"
    assert linked.sim.outbox(ACCOUNT)[0]["chat_id"] == f"{CUSTOMER}@c.us"


async def test_find_sent_sees_the_delivered_message(linked: World) -> None:
    started = linked.now()
    message = outbound(None)
    assert await linked.waha.find_sent(ACCOUNT, message, since=started) is None
    result = await linked.waha.send(ACCOUNT, message)
    linked.sim.type_on_phone(ACCOUNT, f"{CUSTOMER}@c.us", "Your quote is ready")  # same text, typed later
    found = await linked.waha.find_sent(ACCOUNT, message, since=started)
    assert found is not None and (found.key, found.client_ref) == (result.key, message.client_ref)
    later = await linked.waha.find_sent(ACCOUNT, message, since=started, exclude={result.wa_message_id})
    assert later is not None and later.wa_message_id != result.wa_message_id  # the phone's copy
    other = OutboundMessage(client_ref="x", to=f"+{CUSTOMER}", text="Something else")
    assert await linked.waha.find_sent(ACCOUNT, other, since=started) is None
    media = outbound(MediaKind.DOCUMENT)
    assert await linked.waha.find_sent(ACCOUNT, media, since=started) is None
    sent_media = await linked.waha.send(ACCOUNT, media)
    found_media = await linked.waha.find_sent(ACCOUNT, media, since=started)
    assert found_media is not None and found_media.key == sent_media.key


async def test_send_to_a_lid_chat_and_find_it_again(linked: World) -> None:
    """A contact known only by LID: the echo names the phone (RecipientAlt) yet find_sent matches it."""
    ana_lid = linked.sim.contact_lids[ANA]
    linked.sim.receive(ACCOUNT, ANA, "hello")  # teaches the gateway Ana's LID ↔ phone
    await linked.events()
    started = linked.now()
    message = OutboundMessage(client_ref="to-lid", to=f"{ana_lid}@lid", text="Olá Ana")
    result = await linked.waha.send(ACCOUNT, message)
    assert result.chat_key == f"{ana_lid}@lid"
    [echo] = await linked.messages()
    assert echo.key == result.key
    assert (echo.chat.chat_key, echo.chat.lid) == (f"{ANA}@s.whatsapp.net", f"{ana_lid}@lid")
    found = await linked.waha.find_sent(ACCOUNT, message, since=started)
    assert found is not None and found.key == result.key


# ---- inbound ---------------------------------------------------------------------------------------------


async def test_incoming_text_from_a_contact(linked: World) -> None:
    linked.sim.receive(ACCOUNT, JONAS, "Hi, could you call me?")
    events = await linked.events()
    [received] = of_type(events, MessageReceived)
    message = received.message
    assert not message.from_me and not message.from_api
    assert message.text == "Hi, could you call me?" and message.sent_at == linked.now()
    assert message.chat.chat_key == message.sender.chat_key == f"{JONAS}@s.whatsapp.net"
    assert message.sender.e164 == f"+{JONAS}" and message.sender.display_name == "Jonas Weber"
    jonas_lid = linked.sim.contact_lids[JONAS]
    assert message.chat.lid == f"{jonas_lid}@lid"  # Info.SenderAlt
    [learned] = identities(events)
    assert (learned.lid, learned.pn_chat_key, learned.e164) == (
        f"{jonas_lid}@lid",
        f"{JONAS}@s.whatsapp.net",
        f"+{JONAS}",
    )


async def test_incoming_media_and_reply(linked: World) -> None:
    linked.sim.receive(ACCOUNT, JONAS, "the spec", kind="document", data=PDF, filename="spec.pdf")
    [document] = await linked.messages()
    assert document.media is not None
    assert (document.media.kind, document.media.mime, document.media.filename) == (
        MediaKind.DOCUMENT,
        "application/pdf",
        "spec.pdf",
    )
    assert document.text == "the spec" and await fetch(linked, document.media) == PDF
    assert document.transport_id is not None
    linked.sim.receive(ACCOUNT, JONAS, "see above", reply_to=document.transport_id)
    linked.sim.receive(ACCOUNT, JONAS, kind="voice")
    replied, voice = await linked.messages()
    assert replied.reply_to == document.wa_message_id
    assert voice.media is not None and voice.media.kind is MediaKind.VOICE and voice.text is None


async def test_voice_note_is_recognised_by_the_engine_flag(linked: World) -> None:
    """GOWS marks a voice note with ``audioMessage.PTT``; the mime type alone may not say opus."""
    linked.sim.receive(ACCOUNT, JONAS, kind="voice", mimetype="audio/ogg", data=OPUS)
    linked.sim.receive(ACCOUNT, JONAS, kind="audio", mimetype="audio/ogg", data=OPUS)
    voice, audio = await linked.messages()
    assert voice.media is not None and voice.media.kind is MediaKind.VOICE
    assert audio.media is not None and audio.media.kind is MediaKind.AUDIO


async def test_typed_on_the_phone(linked: World) -> None:
    linked.sim.type_on_phone(ACCOUNT, f"{JONAS}@c.us", "sent from my phone")
    [message] = await linked.messages()
    assert message.from_me and not message.from_api
    assert message.chat.chat_key == f"{JONAS}@s.whatsapp.net"
    assert message.chat.lid == f"{linked.sim.contact_lids[JONAS]}@lid"  # Info.RecipientAlt
    assert message.sender.chat_key == f"{OWNER}@s.whatsapp.net"
    await linked.sim.elapse(10)
    assert [s.status for s in statuses(await linked.events())] == [
        Delivery.SENT,
        Delivery.DELIVERED,
        Delivery.READ,
    ]


async def test_group_messages_carry_the_sender(linked: World) -> None:
    [group_id] = linked.sim.session(ACCOUNT).groups
    linked.sim.receive(ACCOUNT, JONAS, "Agenda attached?", group=group_id)
    hidden = "254000825925805@lid"  # the seeded member without a known phone
    linked.sim.receive(ACCOUNT, hidden, "No agenda yet", group=group_id)
    linked.sim.receive(ACCOUNT, CUSTOMER, "I am new here", group=group_id, as_lid=True)
    jonas, sam, newcomer = await linked.messages()
    for message in (jonas, sam, newcomer):
        assert message.chat.chat_key == group_id and message.chat.is_group and not message.from_me
    assert (jonas.sender.chat_key, jonas.sender.lid) == (
        f"{JONAS}@s.whatsapp.net",
        f"{linked.sim.contact_lids[JONAS]}@lid",
    )
    assert jonas.sender.display_name == "Jonas Weber"
    assert (sam.sender.chat_key, sam.sender.e164, sam.sender.lid) == (hidden, None, hidden)
    assert newcomer.sender.chat_key.endswith("@lid") and newcomer.sender.e164 is None
    assert jonas.transport_id is not None and jonas.transport_id.endswith(f"_{JONAS}@c.us")


async def test_own_group_message_and_group_acks_name_the_reader(linked: World) -> None:
    [group_id] = linked.sim.session(ACCOUNT).groups
    result = await linked.waha.send(
        ACCOUNT, OutboundMessage(client_ref="g1", to=group_id, text="Agenda below")
    )
    assert result.chat_key == group_id
    [echo] = await linked.messages()
    assert echo.key == result.key and echo.sender.chat_key == f"{OWNER}@s.whatsapp.net"
    await linked.sim.elapse(10)
    changed = statuses(await linked.events())
    assert {s.key for s in changed} == {result.key}
    assert [s.recipient for s in changed] == [group_id, f"{ANA}@s.whatsapp.net", f"{ANA}@s.whatsapp.net"]


# ---- media ------------------------------------------------------------------------------------------------


async def test_media_expires_after_its_lifetime(linked: World) -> None:
    linked.sim.receive(ACCOUNT, JONAS, kind="image")
    [photo] = await linked.messages()
    assert photo.media is not None and photo.media.mime == "image/png"
    assert (await fetch(linked, photo.media)).startswith(b"\x89PNG")
    await linked.sim.elapse(linked.sim.media.lifetime_seconds)
    with pytest.raises(MediaExpired):
        await fetch(linked, photo.media)
    # The history endpoint downloads it again (downloadMedia=true): a late import still gets the file.
    batch = await linked.waha.history(ACCOUNT, f"{JONAS}@c.us", since=photo.sent_at)
    [again] = [m for m in batch.messages if m.key == photo.key]
    assert (await fetch(linked, again.media)).startswith(b"\x89PNG")


async def test_media_switches(linked: World) -> None:
    linked.sim.receive(ACCOUNT, JONAS, kind="image")
    [photo] = await linked.messages()
    linked.sim.expire_media()
    with pytest.raises(MediaExpired):
        await fetch(linked, photo.media)
    for status in (403, 404):
        linked.sim.faults(ACCOUNT).media_status = status
        with pytest.raises(MediaExpired):
            await fetch(linked, photo.media)
    linked.sim.faults(ACCOUNT).media_status = None
    linked.sim.faults(ACCOUNT).media_gone = True  # the phone's servers lost it: no file any more
    batch = await linked.waha.history(ACCOUNT, f"{JONAS}@c.us", since=photo.sent_at)
    [lost] = [m for m in batch.messages if m.key == photo.key]
    assert lost.media is not None and lost.media.locator is None
    with pytest.raises(MediaExpired):
        await fetch(linked, lost.media)


async def test_media_size_cap() -> None:
    async for world in open_world(max_media_bytes=len(PDF) - 1):
        await world.link()
        world.sim.receive(ACCOUNT, JONAS, kind="document", data=PDF)
        [document] = await world.messages()
        with pytest.raises(MediaTooLarge):
            await fetch(world, document.media)


@pytest.fixture
async def misaddressed() -> AsyncIterator[World]:
    """A gateway whose WAHA_BASE_URL names another host than the one we call."""
    async for world in open_world(SandboxState(public_url="http://waha.internal:3000")):
        await world.link()
        yield world


async def test_media_from_another_origin_is_refused(misaddressed: World) -> None:
    misaddressed.sim.receive(ACCOUNT, JONAS, kind="image")
    [photo] = await misaddressed.messages()
    assert photo.media is not None and photo.media.locator is not None
    assert photo.media.locator.startswith("http://waha.internal:3000/api/files/")
    with pytest.raises(MediaOriginRefused):
        await fetch(misaddressed, photo.media)
