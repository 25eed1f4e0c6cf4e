"""The message templates page and the picker in Japanese, for a user who reads Pipedrive in Japanese: the
page's words, a refusal naming the unknown field, and the picker's warning, written out here by hand."""

from __future__ import annotations

import re

from server.domain.message_templates import TemplateDraft, TemplateScope
from server.storage.message_templates import SqlTemplateStore
from tests.panel.world import PanelWorld
from tests.settings_page.test_japanese import english_words, japanese_admin


async def test_the_templates_page_reads_in_japanese(world: PanelWorld) -> None:
    yuki = await japanese_admin(world)
    page = await world.client.get("/settings/templates", params={"token": world.token(yuki)})
    assert page.status_code == 200
    html = page.text
    for words in (
        "<h1>メッセージテンプレート</h1>",
        "テンプレートはまだありません。",
        "新しいテンプレート",
        "公開範囲",
        "会社の全員",
        "プレースホルダー(クリックで挿入)",
        "テンプレートを保存",
        "あなた(送信者)",
    ):
        assert words in html, words
    placeholders = re.findall(r'data-placeholder="([^"]*)"', html)  # field keys, as typed
    assert (
        english_words(html, ["{{person.first_name|there}}", "{{person.last_name|お客}}", *placeholders]) == []
    )

    refused = await world.client.post(
        "/settings/templates",
        data={"scope": "company", "name": "靴", "text": "{{person.Shoe size}}"},
        headers=world.headers(yuki),
    )
    assert refused.status_code == 400
    assert "{{person.Shoe size}}: person に「Shoe size」という項目はありません" in refused.text


async def test_the_pickers_warning_reads_in_japanese(world: PanelWorld) -> None:
    yuki = await japanese_admin(world)
    made = await SqlTemplateStore(world.resources.engine).create(
        1, world.anna.id, TemplateDraft(TemplateScope.company, "メール", "{{person.email}} 宛"), None
    )
    picker = await world.client.get("/panel/templates", headers=world.headers(yuki))
    assert "テンプレートを選択…" in picker.text and "メール (会社)" in picker.text
    answer = await world.client.get(
        "/panel/templates/render",
        params={"template": f"saved:{made.id}", "person_id": str(world.persons["maria"])},
        headers=world.headers(yuki),
    )
    assert (
        "このテンプレートで値が空で、代替テキストもありません: {{person.email}}。"
        "送信する前に入力してください。" in answer.text
    )
