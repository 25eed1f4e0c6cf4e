from __future__ import annotations

import pytest

from server.domain.errors import InvalidChatId, InvalidInput
from server.domain.jids import (
    JidKind,
    canonical_chat_key,
    e164_from_wa_user,
    legacy_chat_id,
    logical_message_key,
    parse_jid,
    split_message_id,
    wa_user_from_e164,
)


@pytest.mark.parametrize(
    ("raw", "key", "kind", "e164"),
    [
        ("4915112345678@c.us", "4915112345678@s.whatsapp.net", JidKind.PHONE, "+4915112345678"),
        ("4915112345678@s.whatsapp.net", "4915112345678@s.whatsapp.net", JidKind.PHONE, "+4915112345678"),
        ("4915112345678:12@s.whatsapp.net", "4915112345678@s.whatsapp.net", JidKind.PHONE, "+4915112345678"),
        ("4915112345678.0:3@s.whatsapp.net", "4915112345678@s.whatsapp.net", JidKind.PHONE, "+4915112345678"),
        ("4915112345678:7@c.us", "4915112345678@s.whatsapp.net", JidKind.PHONE, "+4915112345678"),
        ("4915112345678@C.US", "4915112345678@s.whatsapp.net", JidKind.PHONE, "+4915112345678"),
        ("4915112345678", "4915112345678@s.whatsapp.net", JidKind.PHONE, "+4915112345678"),
        ("+4915112345678", "4915112345678@s.whatsapp.net", JidKind.PHONE, "+4915112345678"),
        (" 14155552671@c.us ", "14155552671@s.whatsapp.net", JidKind.PHONE, "+14155552671"),
        ("254000825925805@lid", "254000825925805@lid", JidKind.LID, None),
        ("254000825925805:21@lid", "254000825925805@lid", JidKind.LID, None),
        ("120363025246125486@g.us", "120363025246125486@g.us", JidKind.GROUP, None),
        ("4915112345678-1612345678@g.us", "4915112345678-1612345678@g.us", JidKind.GROUP, None),
        ("status@broadcast", "status@broadcast", JidKind.OTHER, None),
        ("120363111111111111@newsletter", "120363111111111111@newsletter", JidKind.OTHER, None),
    ],
)
def test_every_spelling_maps_to_one_canonical_key(
    raw: str, key: str, kind: JidKind, e164: str | None
) -> None:
    jid = parse_jid(raw)
    assert jid.chat_key == key
    assert canonical_chat_key(raw) == key
    assert jid.kind is kind
    assert jid.e164 == e164
    assert jid.is_group is (kind is JidKind.GROUP)


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "abc", "@c.us", "abc@c.us", "12@c.us", "4915112345678@example.com", "x@g.us", "1@2@c.us"],
)
def test_garbage_is_a_named_error(raw: str) -> None:
    with pytest.raises(InvalidChatId) as caught:
        parse_jid(raw)
    assert caught.value.reason == "invalid_chat_id"
    assert isinstance(caught.value, InvalidInput)


def test_waha_spelling_for_sending() -> None:
    assert legacy_chat_id("4915112345678:3@s.whatsapp.net") == "4915112345678@c.us"
    assert legacy_chat_id("+4915112345678") == "4915112345678@c.us"
    assert legacy_chat_id("254000825925805@lid") == "254000825925805@lid"
    assert legacy_chat_id("120363025246125486@g.us") == "120363025246125486@g.us"


@pytest.mark.parametrize(
    ("user", "e164"),
    [
        ("4915112345678", "+4915112345678"),
        ("5215512345678", "+525512345678"),  # Mexico: WhatsApp keeps the old mobile "1"
        ("525512345678", "+525512345678"),
        ("5491123456789", "+5491123456789"),  # Argentina: mobile "9" is part of E.164
        ("551187654321", "+5511987654321"),  # Brazil: registered before the ninth digit
        ("5511987654321", "+5511987654321"),
        ("12", None),
        ("abc", None),
    ],
)
def test_e164_from_whatsapp_digits(user: str, e164: str | None) -> None:
    assert e164_from_wa_user(user) == e164


def test_lid_digits_are_never_a_phone_number() -> None:
    # 254000825925805 would parse as a (bogus) Kenyan number; a LID has no E.164.
    assert parse_jid("254000825925805@lid").e164 is None


def test_wa_user_from_e164() -> None:
    assert wa_user_from_e164("+49 151 12345678") == "4915112345678"
    with pytest.raises(InvalidChatId):
        wa_user_from_e164("+1")


@pytest.mark.parametrize(
    ("transport_id", "wa_id", "from_me", "chat", "participant"),
    [
        (
            "true_4915112345678@c.us_3EB0C767D26A1D7A4B3E",
            "3EB0C767D26A1D7A4B3E",
            True,
            "4915112345678@c.us",
            None,
        ),
        (
            "false_254000825925805@lid_3EB0C767D26A1D7A4B3E",
            "3EB0C767D26A1D7A4B3E",
            False,
            "254000825925805@lid",
            None,
        ),
        (
            "false_120363025246125486@g.us_3A1B2C_4915112345678@c.us",
            "3A1B2C",
            False,
            "120363025246125486@g.us",
            "4915112345678@c.us",
        ),
        (
            "wamid.HBgLNDkxNTExMjM0NTY3OBUCABIYFDNBNEI=",
            "wamid.HBgLNDkxNTExMjM0NTY3OBUCABIYFDNBNEI=",
            None,
            None,
            None,
        ),
        ("3EB0C767D26A1D7A4B3E", "3EB0C767D26A1D7A4B3E", None, None, None),
    ],
)
def test_split_message_id(
    transport_id: str, wa_id: str, from_me: bool | None, chat: str | None, participant: str | None
) -> None:
    parts = split_message_id(transport_id)
    assert (parts.wa_message_id, parts.from_me, parts.chat_id, parts.participant) == (
        wa_id,
        from_me,
        chat,
        participant,
    )


@pytest.mark.parametrize("bad", ["", "has space", "x" * 300, "true_", "ü-id"])
def test_split_message_id_refuses_non_ids(bad: str) -> None:
    with pytest.raises(InvalidChatId):
        split_message_id(bad)


class TestLogicalKey:
    def test_the_key_is_account_direction_and_message_id(self) -> None:
        assert logical_message_key("acct", "false_4915112345678@c.us_3EB0AA") == "acct/in/3EB0AA"
        assert logical_message_key("acct", "true_4915112345678@c.us_3EB0AA") == "acct/out/3EB0AA"

    def test_lid_and_phone_twins_are_one_key(self) -> None:
        assert logical_message_key("acct", "false_254000825925805@lid_3EB0AA") == logical_message_key(
            "acct", "false_4915112345678@c.us_3EB0AA"
        )

    def test_group_ack_with_participant_is_the_message_key(self) -> None:
        sent = logical_message_key("acct", "true_120363025246125486@g.us_3EB0AA")
        read_by = logical_message_key("acct", "true_120363025246125486@g.us_3EB0AA_4915112345678@c.us")
        assert sent == read_by

    def test_raw_id_with_direction_matches_serialized(self) -> None:
        assert logical_message_key("acct", "3EB0AA", from_me=True) == logical_message_key(
            "acct", "true_4915112345678@c.us_3EB0AA"
        )

    def test_accounts_and_directions_differ(self) -> None:
        keys = {
            logical_message_key("a", "3EB0AA", from_me=True),
            logical_message_key("b", "3EB0AA", from_me=True),
            logical_message_key("a", "3EB0AA", from_me=False),
        }
        assert len(keys) == 3

    def test_direction_is_required_for_bare_ids(self) -> None:
        with pytest.raises(InvalidChatId):
            logical_message_key("acct", "3EB0AA")

    def test_account_id_cannot_smuggle_the_separator(self) -> None:
        with pytest.raises(InvalidChatId):
            logical_message_key("a/out", "3EB0AA", from_me=True)


def test_phone_chat_key_is_the_canonical_key_of_a_number() -> None:
    from server.domain.jids import canonical_chat_key, phone_chat_key

    assert phone_chat_key("+49 151 12345678") == "4915112345678@s.whatsapp.net"
    assert phone_chat_key("+4915112345678") == canonical_chat_key("4915112345678@c.us")
