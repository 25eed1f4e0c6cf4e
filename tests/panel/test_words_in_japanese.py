"""The panel's words in Japanese, piece by piece: a message's time, message kinds and contact cards (the
chat view shows the same), the country picker, Pipedrive's phone labels; English reads as before."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from panels.contact_cards import render_kind
from panels.i18n import speaking, translate
from panels.panel import message_rows
from panels.panel_form import country_choices, group_choices, phone_choices
from server.domain.contact_cards import CardNumber, CardView
from server.domain.conversation import ContactMessage
from server.domain.message_kinds import Call, ContactCard, SharedContacts, ViewOnce, describe, encode
from tests.panel.test_in_japanese import seen

AT = datetime(2026, 12, 6, 9, 5, tzinfo=UTC)


def sample_message() -> ContactMessage:
    return ContactMessage(
        id=1,
        chat_id=7,
        account_id=1,
        account_e164="+491701112223",
        message_key="k1",
        from_me=True,
        sender_name="",
        text="Hallo",
        status="read",
        sent_at=AT,
    )


def row_in(code: str, **fields: object) -> tuple[str, str, str]:
    message = replace(sample_message(), **fields)  # type: ignore[arg-type]
    with speaking(code):
        [row] = message_rows([message], [], {}, "Asia/Tokyo", lambda _: "")
        return row.time_label, translate(row.author), translate(row.tick_title)


def test_a_messages_time_author_and_tick_in_either_language() -> None:
    assert row_in("ja") == ("12月06日 18:05", "あなた", "既読")  # 09:05 UTC is 18:05 in Tokyo
    assert row_in("en") == ("06 Dec 18:05", "You", "Read")


def test_who_reacted_reads_in_the_readers_language() -> None:
    reactions = (("👍", True, ""), ("❤️", False, "Lea"), ("😮", False, ""))
    message = replace(sample_message(), reactions=reactions)
    for code, expected in (("ja", ["あなた", "Lea", "相手"]), ("en", ["You", "Lea", "Contact"])):
        with speaking(code):
            [row] = message_rows([message], [], {}, "UTC", lambda _: "")
            assert [(emoji, translate(who)) for emoji, who in row.reactions] == list(
                zip(["👍", "❤️", "😮"], expected, strict=True)
            )


def test_message_kinds_read_in_japanese() -> None:
    assert translate(describe(Call()).label, "ja") == "通話"
    assert translate(describe(Call()).text, "ja") == "不在着信（音声通話）"
    assert (
        translate(describe(Call(video=True, missed=False, duration_seconds=65)).text, "ja")
        == "ビデオ通話（1:05）"
    )
    view_once = describe(ViewOnce("voice"))
    assert (
        translate(view_once.text, "ja") == "ボイスメッセージ（保存されません。スマートフォンでのみ開けます）"
    )
    shared = describe(SharedContacts((ContactCard("Max", ("+49 170 1234567",)),), more=4))
    assert translate(shared.text, "ja") == "Max (+49 170 1234567)、ほか 4 件"
    assert str(shared.text) == "Max (+49 170 1234567); and 4 more"


def test_a_contact_card_and_its_actions_read_in_japanese() -> None:
    card = CardView(
        message_id=3,
        index=0,
        name="Unnamed contact",
        numbers=(
            CardNumber("+49 170 1234567", "+491701234567", 12, "Max Muster"),
            CardNumber("+49 170 7654321", "+491707654321", 13, ""),
            CardNumber("0800 HOTEL", "+4980046835"),
            CardNumber("ask me", None),
        ),
    )
    shared = SharedContacts((ContactCard("Unnamed contact", ()),), more=2)
    kind = describe(shared)
    with speaking("ja"):
        html = render_kind(replace(kind, cards=(card,)))
    shown = seen(html)
    for words in (
        "連絡先:",
        "名前のない連絡先",
        "Max Muster を開く",
        "人物 #13 を開く",
        "人物を作成",
        "（電話番号ではありません）",
        "ほか 2 件",
    ):
        assert words in shown, words
    assert encode(shared) == '{"kind":"contacts","cards":[{"name":"Unnamed contact","phones":[]}],"more":2}'


def test_the_country_picker_names_countries_in_the_readers_language() -> None:
    japanese = {choice.region: choice.label for choice in country_choices("ja")}
    english = {choice.region: choice.label for choice in country_choices("en")}
    assert japanese.keys() == english.keys()
    assert (japanese["DE"], english["DE"]) == ("ドイツ (+49)", "Germany (+49)")
    assert japanese["JP"] == "日本 (+81)"
    assert [choice.label for choice in country_choices("en")][:2] == ["Afghanistan (+93)", "Albania (+355)"]


def test_pipedrives_phone_labels_and_a_group_read_in_japanese() -> None:
    phones = phone_choices(
        [("+49 176 55501234", "mobile"), ("+49 30 1234567", "Zentrale"), ("+1 415 555 0132", None)]
    )
    assert [translate(p.label, "ja") for p in phones] == [
        "+49 176 55501234（携帯）",
        "+49 30 1234567（Zentrale）",  # a label of the company's own, as typed
        "+1 415 555 0132",
    ]
    assert str(phones[0].label) == "+49 176 55501234 (mobile)"
    [group] = group_choices([("1203@g.us", "")])
    assert (translate(group.label, "ja"), str(group.label)) == (
        "WhatsApp グループ（グループ）",
        "WhatsApp group (group)",
    )
