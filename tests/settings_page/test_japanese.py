"""The settings page in the reader's language: a Pipedrive user who reads Pipedrive in Japanese (``/users/me``
says ``ja`` at their install) gets the page, its refusals, the preview's and re-check's sentences and the
erasure in Japanese, with names and data as they are; a user whose Pipedrive language WaPipe does not
speak gets the browser's. Every expected Japanese sentence is written out here by hand."""

from __future__ import annotations

import re
from collections.abc import Callable

from sandbox.pipedrive.seed import seed_demo
from sandbox.pipedrive.state import SandboxState, SandboxUser
from sandbox.waha.clock import Clock
from sandbox.waha.state import SandboxState as WahaState
from server.settings import Settings
from server.storage.accounts import SqlAccountStore
from server.storage.chat_history import SqlChatHistory
from server.storage.heartbeats import SqlHeartbeatStore
from tests.i18n.visible_words import latin_words
from tests.panel.world import PanelWorld
from tests.settings_page.test_settings_page import BASE_FORM, company_id
from tests.world import SANDBOX, open_world, register_wapipe, world_settings_overrides

KEPT = {"UTC", "ID"}  # abbreviations Japanese writes in Latin letters too


async def japanese_admin(world: PanelWorld) -> SandboxUser:
    """An admin of Anna's company who reads Pipedrive in Japanese, with WaPipe installed."""
    user = world.pd.add_user(
        world.anna.company_id, "田中 優希", "yuki@acme.test", is_admin=True, locale="ja_JP"
    )
    await world.install(user)
    return user


def english_words(html: str, data: list[str]) -> list[str]:
    """Latin-letter words a person sees that are neither product names nor part of the given data."""
    return latin_words(html, allowed=KEPT, data=data)


async def page_data(world: PanelWorld) -> list[str]:
    """What the page shows as it is: people's names and emails, chats' names, the job runners, the words the
    gateway gave a number's state ("WORKING"), and the name of the activities WaPipe writes into Pipedrive
    ("WhatsApp chat", a record's name there)."""
    users = world.pd.company_users(world.anna.company_id)
    chats = await SqlChatHistory(world.resources.engine).chats(await company_id(world))
    runners = await SqlHeartbeatStore(world.resources.engine).last_seen()
    accounts = await SqlAccountStore(world.resources.engine).for_company(await company_id(world))
    return (
        [a.status_detail for a in accounts if a.status_detail]
        + [u.name for u in users]
        + [u.email for u in users]
        + [c.person_name or c.display_name for c in chats]
        + list(runners)
        + ["WhatsApp chat"]
    )


async def test_the_page_reads_in_japanese_for_a_user_who_reads_pipedrive_in_japanese(
    world: PanelWorld,
) -> None:
    yuki = await japanese_admin(world)
    page = await world.client.get("/settings", params={"token": world.token(yuki)})
    assert page.status_code == 200, page.text
    html = page.text
    assert '<html lang="ja"' in html
    assert "<title>WaPipe の設定</title>" in html and "<h1>WaPipe の設定</h1>" in html
    for heading in ("チャットの記録", "除外したチャット", "再確認が必要な紐付け", "チーム", "WhatsApp 番号"):
        assert f"<h2>{heading}</h2>" in html
    assert "<h2>同期の問題</h2>" in html and "未解決の問題はありません。" in html
    assert '<option value="realtime" selected>リアルタイム</option>' in html
    assert '<option value="24h">1 日 1 回</option>' in html
    assert '<option value="deal">取引を作成</option>' in html
    assert "新しいチャットを人物として追加（その番号を持つ人物がいない場合）" in html
    assert "空欄の場合、メッセージは無期限に保持されます。それ以外は 7〜3650 日で指定します。" in html
    assert 'placeholder="無期限"' in html
    assert '<button type="submit" class="primary" id="settings-save">設定を保存</button>' in html
    assert "<summary>照合のプレビュー</summary>" in html and "<summary>連絡先を消去</summary>" in html
    row = re.search(rf'<tr data-user-id="{yuki.id}" data-state="installed">(.*?)</tr>', html, re.S)
    assert row is not None
    assert "<td>管理者</td>" in row.group(1) and "インストール済み" in row.group(1)
    assert "まだ変更はありません。" in html
    assert english_words(html, await page_data(world)) == []


async def test_refused_settings_are_named_in_japanese_line_by_line(world: PanelWorld) -> None:
    yuki = await japanese_admin(world)
    form = {
        **BASE_FORM,
        "excluded_numbers": "0176 5550 9999\n+1 23",
        "message_retention_days": "zehn",
        "media_retention_days": "20",
    }
    answer = await world.client.post("/settings", data=form, headers=world.headers(yuki))
    assert answer.status_code == 400
    html = answer.text
    assert "一部の設定に修正が必要です。下記をご確認ください。" in html
    assert "2 行に修正が必要です。各行を以下に示します" in html
    assert (
        "1 行目: 0176 5550 9999 に国番号がありません。+&lt;国番号&gt;&lt;番号&gt; の形式で入力してください"
        "（例: +4915112345678）"
    ) in html
    assert "2 行目: +1 23 は有効な電話番号ではありません" in html
    assert (
        "メッセージを保持する日数を整数で入力してください。無期限に保持する場合は空欄のままにしてください"
        in html
    )
    assert english_words(html, ["0176 5550 9999", "zehn"]) == []

    saved = await world.client.post(
        "/settings", data={**BASE_FORM, "import_frequency": "1h"}, headers=world.headers(yuki)
    )
    assert saved.status_code == 200 and "設定を保存しました。" in saved.text
    audit = await world.client.get("/settings/audit", headers=world.headers(yuki))
    assert 'aria-label="最近の変更（新しい順）"' in audit.text
    assert "<th>日時（UTC）</th><th>変更者</th><th>内容</th><th>詳細</th>" in audit.text
    assert "<td>田中 優希</td>" in audit.text and "<td>設定を変更: 設定</td>" in audit.text


async def test_the_preview_and_the_erasure_speak_japanese(world: PanelWorld) -> None:
    yuki = await japanese_admin(world)
    world.clock.advance(2)  # Pipedrive's search rate window passes
    preview = await world.client.post(
        "/settings/preview", data={"numbers": "+49 176 55501234\n0151"}, headers=world.headers(yuki)
    )
    assert preview.status_code == 200, preview.text
    assert "<th>番号</th><th>一致する人物</th><th>ルール</th>" in preview.text
    assert "人物 Maria Kunde の +49 176 55501234 と完全に一致しました" in preview.text
    assert (
        '<span class="field-error" data-reason="number_invalid">有効な電話番号ではありません</span>'
        in preview.text
    )

    typed = await world.client.post("/settings/erase", data={"phone": "0176"}, headers=world.headers(yuki))
    assert typed.status_code == 400
    assert "0176 に国番号がありません。" in typed.text
    review = await world.client.post(
        "/settings/erase", data={"phone": "+4915199999999"}, headers=world.headers(yuki)
    )
    assert review.status_code == 200
    assert (
        "WaPipe が保持している <strong>+4915199999999</strong> のデータをすべて消去しますか？" in review.text
    )
    assert "この会社で WaPipe が保持しているこの番号のチャットやメッセージはありません。" in review.text
    assert '<button type="submit" class="danger" id="erase-confirm">WaPipe から消去</button>' in review.text
    assert english_words(review.text, ["+4915199999999"]) == []


async def test_the_browsers_language_decides_when_wapipe_does_not_speak_the_users_pipedrive_language(
    world: PanelWorld,
) -> None:
    klaus = world.pd.add_user(world.anna.company_id, "Klaus Berger", "klaus@acme.test", locale="de_DE")
    await world.install(klaus)
    japanese_browser = {"Accept-Language": "ja,en-US;q=0.8"}
    token = {"token": world.token(klaus)}
    page = await world.client.get("/settings", params=token, headers=japanese_browser)
    assert '<html lang="ja"' in page.text and "<h1>WaPipe の設定</h1>" in page.text
    plain = await world.client.get("/settings", params={"token": world.token(klaus)})
    assert '<html lang="en"' in plain.text and "<h1>WaPipe settings</h1>" in plain.text
    # Anna reads Pipedrive in English: that wins over her browser's Japanese.
    anna = await world.client.get("/settings", params={"token": world.token()}, headers=japanese_browser)
    assert "<h1>WaPipe settings</h1>" in anna.text
    # Without a token nobody is known yet: the refusal is in the browser's language.
    refused = await world.client.get("/settings", headers=japanese_browser)
    assert refused.status_code == 401
    assert "<strong>このページは Pipedrive から開いてください</strong>" in refused.text
    assert "<p>パネルのリクエストに Pipedrive のトークンが含まれていませんでした</p>" in refused.text


async def test_the_demo_has_a_team_member_who_reads_pipedrive_in_japanese(
    make_settings: Callable[..., Settings],
) -> None:
    pd = SandboxState(base_url=SANDBOX)
    seeded = seed_demo(pd)
    register_wapipe(pd)
    [yuki] = [user for user in seeded.users if user.locale == "ja_JP"]
    assert (yuki.id, yuki.is_admin, pd.companies[yuki.company_id].name) == (5, True, "Globex Inc")
    waha = WahaState(clock=Clock(follow_wall_clock=True))
    async with open_world(make_settings(**world_settings_overrides()), pipedrive=pd, waha=waha) as world:
        await world.install(yuki)
        page = await world.client.get("/settings", params={"token": world.token(yuki)})
    assert page.status_code == 200, page.text
    assert '<html lang="ja"' in page.text and "<h1>WaPipe の設定</h1>" in page.text
