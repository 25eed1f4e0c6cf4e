"""The campaign pages in Japanese for a user who reads Pipedrive in Japanese: the modal, the compose form,
the preview with its skips, the refusals, the progress page and the list; names, numbers and what the
user typed stay as they are. Every expected Japanese sentence is written out here by hand."""

from __future__ import annotations

from sandbox.pipedrive.state import SandboxUser
from server.domain.stop_words import DEFAULT_STOP_WORDS
from tests.campaigns_web.steps import form, get, open_campaign, post, text_of
from tests.i18n.visible_words import latin_words
from tests.panel.world import PanelWorld

# What the pages show as it is: people's names, placeholders (they are typed as they are), the action's
# name as Pipedrive lists it, and the words the product keeps (CSV, UTC).
DATA = [
    "Maria Kunde",
    "Ohne Telefon",
    "Anna Admin",
    "Hallo Maria",
    "{{person.first_name|there}}",
    "{{person.first_name|お客様}}",
    "{{person.first_name}}",
    "{{person.name}}",
    "{{deal.title}}",
    "{{org.name}}",
    "{{me.name}}",
    "{{person.Preferred language}}",
    "Send WhatsApp campaign",
    *DEFAULT_STOP_WORDS,
]
KEPT = {"CSV", "UTC"}


async def japanese_admin(world: PanelWorld) -> SandboxUser:
    user = world.pd.add_user(
        world.anna.company_id, "田中 優希", "yuki@acme.test", is_admin=True, locale="ja_JP"
    )
    await world.install(user)
    return user


def english(html: str) -> list[str]:
    return latin_words(html, allowed=KEPT, data=DATA)


async def test_the_modal_and_its_preview_read_in_japanese(world: PanelWorld) -> None:
    yuki = await japanese_admin(world)
    page = await world.client.get(
        "/campaigns/modal",
        params={"resource": "person", "selectedIds": f"{world.persons['maria']}", "token": world.token(yuki)},
    )
    assert '<html lang="ja"' in page.text and "<h1>WhatsApp キャンペーン</h1>" in page.text
    assert "選択した人物 1 件 · Pipedrive から読み込んでいます…" in text_of(page.text)
    assert english(page.text) == []

    campaign = await open_campaign(world, [world.persons["maria"], world.persons["nophone"]], user=yuki)
    compose = await post(
        world, "/campaigns/modal/source", {"resource": "person", "selectedIds": "1"}, user=yuki
    )
    assert "<legend>送信ペース</legend>" in compose.text and "<summary>差し込み項目</summary>" in compose.text
    assert "配信停止の案内を追加:" in compose.text
    assert '<q id="opt-out-text">配信停止をご希望の場合は STOP と返信してください</q>' in compose.text
    assert english(compose.text) == []

    fields = await form(world, "Hallo {{person.first_name}}", user=world.anna)
    preview = await post(world, f"/campaigns/{campaign}/preview", fields, user=yuki)
    assert "<h2>プレビュー</h2>" in preview.text
    assert "受信者 2 人のうち 1 人にメッセージが送られます。" in preview.text
    assert 'data-reason="no_phone">電話番号なし: <strong>1</strong>' in preview.text
    assert 'hx-confirm="このメッセージを今すぐ 1 人に送信しますか？"' in preview.text
    assert english(preview.text) == []

    refused = await post(world, f"/campaigns/{campaign}/preview", {**fields, "min_gap": "x"}, user=yuki)
    assert "秒数を整数で入力してください" in refused.text and english(refused.text) == []

    started = await post(world, f"/campaigns/{campaign}/start", fields, user=yuki)
    assert "受信者 2 人のうち" in text_of(started.text) and "一時停止" in started.text
    assert english(started.text) == []
    listed = await get(world, "/campaigns", user=yuki)
    assert "<h1>WhatsApp キャンペーン一覧</h1>" in listed.text and "<h2>配信停止ワード</h2>" in listed.text
    assert english(listed.text) == []
