"""The panel in its reader's language: a Pipedrive user who reads Pipedrive in Japanese sees the panel, its
conversation, its link box and its refusals in Japanese (names, numbers and what people typed stay as they
are); a user without a Pipedrive language gets the browser's."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import update

from sandbox.pipedrive.state import SandboxUser
from server.storage.tables import Installation, Outbox, table_of
from tests.i18n.visible_words import latin_words, visible_text
from tests.panel.world import ANNA_NUMBER, PanelWorld

REF = "ref-0123456789japanese"
# What the page shows that is nobody's words to translate: the Person's name and phones' owner, the files'
# names, and the From number's state, which the WhatsApp numbers page's catalogue translates.
NOT_WORDS = {"Maria", "Kunde", "offer", "pdf", "ID"}


def seen(html: str) -> str:
    return visible_text(html)


def english_words(html: str) -> list[str]:
    """Latin-letter words a person reads, apart from names and product names."""
    return latin_words(html, allowed=NOT_WORDS)


async def japanese_user(world: PanelWorld) -> SandboxUser:
    """Kenji of Anna's company reads Pipedrive in Japanese, and installed WaPipe."""
    assert world.pd is not None
    kenji = world.pd.add_user(world.anna.company_id, "Kenji Sato", "kenji@acme.test", locale="ja_JP")
    await world.install(kenji)
    return kenji


def send_form(world: PanelWorld, text: str) -> dict[str, Any]:
    """The panel's send form to Maria's mobile from Anna's number."""
    to = "+49 176 55501234"
    return {"person_id": world.persons["maria"], "client_ref": REF, "to": to, "account_id": 1, "text": text}


def panel_params(world: PanelWorld, user: SandboxUser) -> dict[str, Any]:
    return {"resource": "person", "selectedIds": world.persons["maria"], "token": world.token(user)}


async def test_a_user_who_reads_pipedrive_in_japanese_sees_the_panel_in_japanese(world: PanelWorld) -> None:
    kenji = await japanese_user(world)
    page = await world.client.get("/panel", params=panel_params(world, kenji))
    assert page.status_code == 200
    assert '<html lang="ja"' in page.text
    shown = seen(page.text)
    for words in (
        "WhatsApp メッセージを送信 – WaPipe",
        "宛先",
        "+49 176 55501234（携帯）",
        "送信元",
        "国番号",
        "国を選択…",
        "ドイツ (+49)",
        "添付ファイル",
        "ファイルを更新",
        "添付ファイルなし",
        "offer.pdf (人物)",
        "メッセージを入力",
        "送信",
        "この人物との WhatsApp メッセージはまだありません。",
        "メッセージを送信すると新しいチャットが始まります。",
    ):
        assert words in shown, words
    assert "{used} / {max} 文字：WhatsApp のメッセージ 1 通の上限を {over} 文字超えています。" in shown
    assert english_words(page.text) == []


async def test_the_conversation_link_box_and_queued_notice_read_in_japanese(world: PanelWorld) -> None:
    kenji = await japanese_user(world)
    headers = world.headers(kenji)
    form = send_form(world, "Guten Tag")
    sent = await world.client.post("/panel/send", data=form, headers=headers)
    assert sent.status_code == 200
    queued = json.loads(sent.headers["hx-trigger"])["panel-sent"]["message"]
    assert queued == "+4917655501234 への WhatsApp メッセージを送信待ちにしました"
    await world.settle()

    page = await world.client.get("/panel", params=panel_params(world, kenji))
    shown = seen(page.text)
    for words in (
        "あなた",
        f"+{ANNA_NUMBER} 経由",
        "チャット全体を開く",
        "新着メッセージ",
        "チャットを別の人物にリンクし直す",
        "名前、電話番号または人物 ID",
        "リンクし直す",
        "取引を固定",
        "取引のタイトルまたは ID",
        "固定",
    ):
        assert words in shown, words
    assert "12月" in shown  # the message's time, written the Japanese way (month, then day)
    maria = world.persons["maria"]
    assert f"人物 #{maria} にリンク済み · 方法：" in shown
    assert english_words(page.text) == ["Guten", "Tag"]  # what Kenji typed, as typed

    pinned = await world.client.post("/panel/pin", data={"chat_id": 1, "deal": "abc"}, headers=headers)
    assert pinned.status_code == 400
    assert "「abc」の検索結果から取引を選択するか、取引 ID を入力してください" in seen(pinned.text)


async def test_a_refusal_and_a_failed_send_read_in_japanese(world: PanelWorld) -> None:
    kenji = await japanese_user(world)
    headers = world.headers(kenji)
    form = send_form(world, "x" * 5000)
    refused = await world.client.post("/panel/send", data=form, headers=headers)
    assert refused.status_code == 400
    assert "WhatsApp のメッセージは 4096 文字までです。このメッセージは 5000 文字あります" in seen(
        refused.text
    )

    form.update(text="Guten Tag", file_id=world.files["offer"])  # a file: the row stays beside the message
    assert (await world.client.post("/panel/send", data=form, headers=headers)).status_code == 200
    await world.settle()
    stored = "Not sent: WaPipe was uninstalled for the Pipedrive user who sent this message"
    async with world.resources.engine.begin() as connection:
        await connection.execute(
            update(table_of(Outbox)).values(
                status="failed", error_reason="sender_uninstalled", error_message=stored
            )
        )
    [row] = await world.outbox()
    assert row["error_message"] == stored  # the database keeps the English
    page = await world.client.get("/panel", params=panel_params(world, kenji))
    shown = seen(page.text)
    assert (
        "未送信：このメッセージを送信した Pipedrive ユーザーの WaPipe はアンインストールされました" in shown
    )
    assert "編集して再送信" in shown
    assert stored not in shown


async def test_without_a_pipedrive_language_the_browsers_decides(world: PanelWorld) -> None:
    async with world.resources.engine.begin() as connection:
        await connection.execute(
            update(table_of(Installation))
            .where(table_of(Installation).c.pipedrive_user_id == world.anna.id)
            .values(language="")
        )
    params = {"resource": "person", "selectedIds": world.persons["maria"], "token": world.token()}
    japanese = await world.client.get("/panel", params=params, headers={"Accept-Language": "ja,en;q=0.8"})
    assert japanese.status_code == 200 and '<html lang="ja"' in japanese.text
    assert "宛先" in seen(japanese.text) and "添付ファイルなし" in seen(japanese.text)
    english = await world.client.get("/panel", params=params, headers={"Accept-Language": "de-DE,en;q=0.5"})
    assert '<html lang="en"' in english.text
    assert "No attachment" in seen(english.text) and "添付ファイルなし" not in english.text


async def test_a_pipedrive_language_comes_before_the_browsers(world: PanelWorld) -> None:
    """Anna reads Pipedrive in English: a Japanese browser does not change what she reads."""
    params = {"resource": "person", "selectedIds": world.persons["maria"], "token": world.token()}
    page = await world.client.get("/panel", params=params, headers={"Accept-Language": "ja"})
    assert '<html lang="en"' in page.text and "No attachment" in seen(page.text)
