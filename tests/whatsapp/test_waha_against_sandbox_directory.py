"""The WAHA adapter against the WAHA sandbox: chats, history, groups, LIDs and the exists-check."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sandbox.waha import seeds
from server.domain.errors import InvalidInput, NumberNotOnWhatsApp
from server.domain.whatsapp import MediaKind, MessageOrigin
from tests.whatsapp.waha_sandbox_world import ACCOUNT, ANA, JONAS, OWNER, World, identities

HIDDEN_LID = f"{seeds.HIDDEN_MEMBER.lid}@lid"


async def test_list_chats(linked: World) -> None:
    chats = await linked.waha.list_chats(ACCOUNT)
    [group_id] = linked.sim.session(ACCOUNT).groups
    assert [(c.peer.chat_key, c.peer.is_group, c.peer.display_name) for c in chats] == [
        (group_id, True, seeds.GROUP_SUBJECT),  # newest activity first
        (f"{JONAS}@s.whatsapp.net", False, "Jonas Weber"),
        (f"{ANA}@s.whatsapp.net", False, "Ana Souza"),
    ]
    assert chats[0].last_message_at == linked.now() - timedelta(hours=3)
    assert [c.peer.chat_key for c in await linked.waha.list_chats(ACCOUNT, limit=1, offset=1)] == [
        f"{JONAS}@s.whatsapp.net"
    ]


async def test_history_is_there_right_after_linking(linked: World) -> None:
    since = linked.now() - timedelta(days=2)
    batch = await linked.waha.history(ACCOUNT, None, since=since, origin=MessageOrigin.HISTORY)
    assert batch.is_last and batch.chat_key is None and len(batch.messages) == 9
    assert all(m.origin is MessageOrigin.HISTORY and m.account_id == ACCOUNT for m in batch.messages)
    assert [m.sent_at for m in batch.messages] == sorted((m.sent_at for m in batch.messages), reverse=True)
    own = [m for m in batch.messages if m.from_me]
    assert own and {m.sender.chat_key for m in own} == {f"{OWNER}@s.whatsapp.net"}  # not the contact
    ana = [m for m in batch.messages if m.chat.chat_key == f"{ANA}@s.whatsapp.net"]
    assert {m.chat.lid for m in ana} == {f"{linked.sim.contact_lids[ANA]}@lid"}
    photo = next(m for m in ana if m.media is not None)
    assert photo.media is not None and photo.text == "Esse modelo aqui"
    assert (photo.media.kind, photo.media.filename) == (MediaKind.IMAGE, "catalogo.png")
    assert b"".join([c async for c in linked.waha.fetch_media(ACCOUNT, photo.media)]).startswith(b"\x89PNG")
    group = [m for m in batch.messages if m.chat.is_group]
    assert {m.sender.chat_key for m in group} == {
        f"{JONAS}@s.whatsapp.net",
        HIDDEN_LID,
        f"{OWNER}@s.whatsapp.net",
    }


async def test_history_of_one_chat_since_a_time_in_pages(linked: World) -> None:
    chat = f"{ANA}@s.whatsapp.net"
    recent = await linked.waha.history(ACCOUNT, chat, since=linked.now() - timedelta(hours=31))
    assert recent.chat_key == chat and [m.text for m in recent.messages] == [
        "Perfeito, te mando o orçamento amanhã.",
        "Esse modelo aqui",
    ]
    first = await linked.waha.history(ACCOUNT, chat, since=None, limit=3)
    assert len(first.messages) == 3 and first.next_offset == 3
    rest = await linked.waha.history(ACCOUNT, chat, since=None, limit=3, offset=first.next_offset)
    assert [m.text for m in rest.messages] == ["Olá! Vocês fazem entrega em Campinas?"] and rest.is_last


async def test_group_info(linked: World) -> None:
    [group_id] = linked.sim.session(ACCOUNT).groups
    info = await linked.waha.group_info(ACCOUNT, group_id)
    assert info.subject == seeds.GROUP_SUBJECT and info.peer.is_group and info.peer.chat_key == group_id
    members = {m.peer.chat_key: (m.peer.e164, m.role) for m in info.members}
    assert members == {
        f"{OWNER}@s.whatsapp.net": (f"+{OWNER}", "admin"),
        f"{ANA}@s.whatsapp.net": ("+5511987654321", "participant"),
        f"{JONAS}@s.whatsapp.net": (f"+{JONAS}", "participant"),
        HIDDEN_LID: (None, "participant"),
    }
    with pytest.raises(InvalidInput):
        await linked.waha.group_info(ACCOUNT, f"{ANA}@c.us")


async def test_resolve_lid_and_lid_for_phone(linked: World) -> None:
    ana_lid = f"{linked.sim.contact_lids[ANA]}@lid"
    peer = await linked.waha.resolve_lid(ACCOUNT, ana_lid)
    assert (peer.chat_key, peer.e164, peer.lid) == (f"{ANA}@s.whatsapp.net", "+5511987654321", ana_lid)
    assert await linked.waha.lid_for_phone(ACCOUNT, "+5511987654321") == ana_lid
    hidden = await linked.waha.resolve_lid(ACCOUNT, HIDDEN_LID)
    assert (hidden.chat_key, hidden.e164, hidden.lid) == (HIDDEN_LID, None, HIDDEN_LID)
    assert await linked.waha.lid_for_phone(ACCOUNT, "+4917612345678") is None
    with pytest.raises(InvalidInput):
        await linked.waha.resolve_lid(ACCOUNT, f"{ANA}@c.us")


async def test_a_mapping_learned_later(linked: World) -> None:
    """A LID-only sender: unknown first; once the gateway learns the phone, lookups and messages say so."""
    [group_id] = linked.sim.session(ACCOUNT).groups
    linked.sim.receive(ACCOUNT, HIDDEN_LID, "who am I?", group=group_id)
    events = await linked.events()
    assert identities(events) == []
    assert (await linked.waha.resolve_lid(ACCOUNT, HIDDEN_LID)).e164 is None

    linked.sim.learn_lid(ACCOUNT, HIDDEN_LID, "+4917699988877")
    peer = await linked.waha.resolve_lid(ACCOUNT, HIDDEN_LID)
    assert (peer.chat_key, peer.e164, peer.lid) == (
        "4917699988877@s.whatsapp.net",
        "+4917699988877",
        HIDDEN_LID,
    )
    assert await linked.waha.lid_for_phone(ACCOUNT, "+4917699988877") == HIDDEN_LID

    linked.sim.receive(ACCOUNT, HIDDEN_LID, "now you know", group=group_id)
    events = await linked.events()
    [learned] = identities(events)
    assert (learned.lid, learned.pn_chat_key, learned.e164) == (
        HIDDEN_LID,
        "4917699988877@s.whatsapp.net",
        "+4917699988877",
    )


@pytest.mark.parametrize(
    ("typed", "chat_key", "e164"),
    [
        ("+4915112345678", f"{JONAS}@s.whatsapp.net", "+4915112345678"),
        # Brazil: an account from before the ninth digit
        ("+5521998887777", "552198887777@s.whatsapp.net", "+5521998887777"),
        # Mexico: the account id keeps the old mobile "1"
        ("+525512345678", "5215512345678@s.whatsapp.net", "+525512345678"),
        # Argentina: the mobile "9" is part of the account id
        ("+541123456789", "5491123456789@s.whatsapp.net", "+5491123456789"),
    ],
)
async def test_check_number_uses_whatsapps_spelling(
    linked: World, typed: str, chat_key: str, e164: str
) -> None:
    peer = await linked.waha.check_number(ACCOUNT, typed)
    assert (peer.chat_key, peer.e164, peer.is_group) == (chat_key, e164, False)


async def test_check_number_not_on_whatsapp(linked: World) -> None:
    linked.sim.missing_numbers.add("4930901820")
    with pytest.raises(NumberNotOnWhatsApp):
        await linked.waha.check_number(ACCOUNT, "+4930901820")
