from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.domain.send_echoes import echo_fingerprint, is_echo_of, outbound_chat_keys, send_fingerprint
from server.domain.whatsapp import (
    InboundMessage,
    MediaKind,
    MediaRef,
    OutboundMedia,
    OutboundMessage,
    Peer,
    Template,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CHAT = Peer("4915112345678@s.whatsapp.net", e164="+4915112345678")
ME = Peer("4930123456@s.whatsapp.net")


def echo(
    text: str | None, *, at: datetime = NOW, chat: Peer = CHAT, media: MediaRef | None = None
) -> InboundMessage:
    return InboundMessage("acct", "3EB0AA", chat, ME, True, at, text=text, media=media, from_api=True)


def test_text_echo_matches_its_send() -> None:
    sent = OutboundMessage(client_ref="r1", to="+4915112345678", text="Hello Ana\r\n")
    assert echo_fingerprint(echo("Hello Ana")) == send_fingerprint(sent)
    assert is_echo_of(
        echo("Hello Ana"),
        sent,
        attempt_started_at=NOW - timedelta(seconds=5),
        chat_keys=outbound_chat_keys(sent),
    )


def test_media_echo_matches_whatever_kind_the_gateway_reports() -> None:
    sent = OutboundMessage(
        client_ref="r1",
        to="4915112345678@c.us",
        text="the offer",
        media=OutboundMedia(kind=MediaKind.DOCUMENT, mime="image/png", data=b"png"),
    )
    received = echo("the offer", media=MediaRef(kind=MediaKind.IMAGE, locator=None))
    assert is_echo_of(received, sent, attempt_started_at=NOW, chat_keys=outbound_chat_keys(sent))


def test_other_text_chat_or_older_message_is_not_the_echo() -> None:
    sent = OutboundMessage(client_ref="r1", to="+4915112345678", text="Hello")
    keys = outbound_chat_keys(sent)
    assert not is_echo_of(echo("Hello!"), sent, attempt_started_at=NOW, chat_keys=keys)
    assert not is_echo_of(echo("Hello", chat=Peer("1@lid")), sent, attempt_started_at=NOW, chat_keys=keys)
    assert not is_echo_of(
        echo("Hello", at=NOW - timedelta(minutes=5)), sent, attempt_started_at=NOW, chat_keys=keys
    )


def test_lid_alias_counts_as_the_same_chat() -> None:
    sent = OutboundMessage(client_ref="r1", to="+4915112345678", text="Hello")
    keys = outbound_chat_keys(sent, aliases=["254000825925805@lid"])
    assert is_echo_of(
        echo("Hello", chat=Peer("254000825925805@lid")), sent, attempt_started_at=NOW, chat_keys=keys
    )


def test_template_fingerprint_differs_from_text() -> None:
    template = OutboundMessage(
        client_ref="r1", to="+4915112345678", template=Template("hello", "en", ("Ana",))
    )
    text = OutboundMessage(client_ref="r1", to="+4915112345678", text="hello")
    assert send_fingerprint(template) != send_fingerprint(text)
