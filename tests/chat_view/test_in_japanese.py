"""The chat view, the WhatsApp numbers page and the status page in Japanese: a Pipedrive user who reads
Pipedrive in Japanese reads WaPipe in Japanese whatever their browser asks for; a user whose Pipedrive
language WaPipe does not know (or who has none) reads the language their browser asks for; a visitor
WaPipe knows nothing of reads their browser's language too."""

from __future__ import annotations

import re

import httpx

from sandbox.pipedrive.state import SandboxUser
from tests.chat_view.test_chat_view import conversation, csrf, sign_in
from tests.i18n.visible_words import latin_words
from tests.panel.world import PanelWorld
from tests.world import WAPIPE

# What Japanese text keeps in Latin letters: abbreviations and the names of other products.
KEPT_IN_JAPANESE = {"UTC", "PDF", "MB", "QR", "ID", "Office", "Cloud", "API", "Business"}
# Names and data this module's pages show: people, the contact's messages, the gateway's own word for a
# linked number's session (stored as it came, under the status WaPipe words).
DATA = {"Taro", "Yamada", "Kim", "Lee", "Anna", "Admin", "Maria", "Kunde", "Nachricht", "WORKING"}
# The new chat form's lists: country names (data) and the From numbers' states, which the panel's form
# words (panels/panel_form.py).
FORM_LISTS = {"new-chat-region", "new-chat-from"}
JAPANESE_TIME = re.compile(r">\d{1,2}月\d{1,2}日 \d{2}:\d{2} UTC</time>")


def browser(world: PanelWorld, accept_language: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=world.app),
        base_url=WAPIPE,
        headers={"Accept-Language": accept_language},
    )


async def colleague(world: PanelWorld, name: str, locale: str, *, install: bool = True) -> SandboxUser:
    """A member of Anna's company who reads Pipedrive in ``locale`` ("" when Pipedrive names none)."""
    assert world.pd is not None
    email = f"{name.split()[0].lower()}@acme.test"
    user = world.pd.add_user(world.anna.company_id, name, email, locale=locale)
    if install:
        assert (await world.install(user)).status_code == 303
    return user


def test_the_words_a_person_reads_are_taken_from_text_and_shown_attributes() -> None:
    html = (
        '<html lang="ja"><title>WaPipe</title><script>let x = "Hello";</script>'
        '<p title="Tooltip" class="ignored">送信 Maria</p><input type="submit" value="Save">'
        '<select id="region"><option>Germany</option></select><button hx-confirm="Sure?">はい</button>'
    )
    assert latin_words(html) == ["Tooltip", "Maria", "Save", "Germany", "Sure"]
    assert latin_words(html, allowed={"Maria"}, skip_ids={"region"}) == ["Tooltip", "Save", "Sure"]


def english_left(html: str, *, skip_ids: set[str] = FORM_LISTS) -> list[str]:
    return latin_words(html, allowed=KEPT_IN_JAPANESE | DATA, skip_ids=skip_ids)


async def test_a_user_who_reads_pipedrive_in_japanese_reads_the_chat_view_in_japanese(
    world: PanelWorld,
) -> None:
    chat_id = await conversation(world, 2)
    taro = await colleague(world, "Taro Yamada", "ja_JP")
    async with browser(world, "en-US,en;q=0.9") as client:  # the browser asks for English: Pipedrive decides
        page = await sign_in(world, client, taro, chat_id)
        assert page.status_code == 200
        html = page.text
        assert '<html lang="ja">' in html
        assert "WhatsApp チャット – WaPipe</title>" in html
        assert "Taro Yamada としてサインイン中" in html
        assert "<summary>番号を指定して新しいチャットを開始</summary>" in html
        assert '<label for="new-chat-to">番号</label>' in html and ">国を選択…</option>" in html
        assert '<button type="submit" class="primary" id="new-chat-send">チャットを開始</button>' in html
        assert '<label for="reply-text">返信</label>' in html
        assert "添付ファイル（最大 16 MB: 画像、PDF、音声、動画、文書）" in html
        assert '<button type="submit" class="primary" id="reply-send">送信</button>' in html
        assert "Nachricht 000" in html and "Nachricht 001" in html
        assert len(JAPANESE_TIME.findall(html)) == 2  # each message's time until the script shows it locally
        assert english_left(html) == []

        token, ref = csrf(html)
        refused = await client.post(
            f"/chats/{chat_id}/reply",
            data={"text": "", "client_ref": ref, "csrf_token": token},
            files={"file": ("x.html", b"<html>", "text/html")},
        )
        assert refused.status_code == 400 and 'data-reason="attachment_type_not_allowed"' in refused.text
        assert (
            "この種類のファイルは送信できません。画像、PDF、音声、動画、Office 文書を使用してください"
            in refused.text
        )
        assert english_left(refused.text) == []

        sent = await client.post(
            f"/chats/{chat_id}/reply", data={"text": "はい", "client_ref": ref + "x", "csrf_token": token}
        )
        assert '<p class="notice ok" role="status" id="reply-sent">送信待ちに追加しました。</p>' in sent.text


async def test_without_a_pipedrive_language_the_browsers_language_decides(world: PanelWorld) -> None:
    chat_id = await conversation(world, 1)
    kim = await colleague(world, "Kim Lee", "")
    async with browser(world, "de-DE,ja;q=0.8,en;q=0.5") as client:  # no German: Japanese comes next
        page = await sign_in(world, client, kim, chat_id)
        assert '<html lang="ja">' in page.text and "Kim Lee としてサインイン中" in page.text
        assert english_left(page.text) == []
    async with browser(world, "en-GB") as client:
        page = await sign_in(world, client, kim, chat_id)
        assert '<html lang="en">' in page.text and "Signed in as Kim Lee" in page.text
        assert '<label for="reply-text">Reply</label>' in page.text
        assert {"Signed", "Reply", "Send", "Start", "chat"} <= set(
            english_left(page.text)
        )  # the check sees English


async def test_the_numbers_page_reads_in_the_users_pipedrive_language(world: PanelWorld) -> None:
    taro = await colleague(world, "Taro Yamada", "ja_JP")
    headers = {**world.headers(taro), "Accept-Language": "en"}
    page = await world.client.get("/numbers", headers=headers)
    assert page.status_code == 200
    assert '<html lang="ja" data-theme="light">' in page.text
    assert "<h1>WhatsApp 番号</h1>" in page.text
    assert "チームメンバーはそれぞれ自分の WhatsApp 番号をリンクします。" in page.text
    assert "<th>番号</th><th>リンクした人</th><th>ステータス</th><th>最終アクティビティ</th>" in page.text
    assert '<td class="linked-by">Anna Admin</td>' in page.text  # Anna's number, linked by her
    assert '<span class="badge ok">接続済み</span>' in page.text
    assert "自分の WhatsApp 番号をリンク" in page.text
    assert english_left(page.text) == []

    started = await world.client.post("/numbers", headers=headers)
    assert started.status_code == 200
    account_id = re.search(r'data-account-id="(\d+)"', started.text)
    assert account_id is not None
    assert world.waha is not None
    await world.waha.elapse(2)  # the session starts and shows its QR code
    pairing = await world.client.get(f"/numbers/{account_id[1]}/pairing", headers=headers)
    assert '<p class="pairing-status">QR コードのスキャン待ち</p>' in pairing.text
    assert 'alt="WhatsApp でスキャンする QR コード"' in pairing.text
    assert "<li>スマートフォンで WhatsApp を開きます。</li>" in pairing.text
    steps = (
        "<em>設定</em>（または ⋮）→ <em>リンク済みデバイス</em> → <em>デバイスをリンク</em> をタップします。"
    )
    assert steps in pairing.text
    assert english_left(pairing.text) == []

    listing = await world.client.get("/numbers/list", headers=headers)
    assert '<td class="linked-by">あなた</td>' in listing.text  # the number Taro started linking
    assert "<strong>未リンク</strong>" in listing.text
    confirm = "未リンク のリンクを解除しますか？再びリンクするまで、この番号のチャットは記録されません。"
    assert f'hx-confirm="{confirm}"' in listing.text
    assert english_left(listing.text) == []


async def test_the_numbers_page_refuses_a_colleague_without_wapipe_in_the_browsers_language(
    world: PanelWorld,
) -> None:
    bob = await colleague(world, "Bob Sales", "en_US", install=False)  # no installation: no language known
    japanese = await world.client.get("/numbers", headers={**world.headers(bob), "Accept-Language": "ja"})
    assert japanese.status_code == 403 and 'data-reason="install_required"' in japanese.text
    assert '<html lang="ja"' not in japanese.text  # the error partial alone
    assert (
        "WaPipe はあなたの会社にインストールされていますが、あなた用にはまだインストールされていません。"
        in japanese.text
    )
    english = await world.client.get("/numbers", headers=world.headers(bob))
    assert "WaPipe is installed in your company, but not for you" in english.text


async def test_the_status_page_reads_in_the_browsers_language(world: PanelWorld) -> None:
    async with browser(world, "ja-JP,ja;q=0.9") as client:
        page = await client.get("/")
        fragment = await client.get("/status", headers={"HX-Request": "true"})
    for answer in (page, fragment):
        assert answer.status_code == 200
        assert "<h2>すべてのシステムが正常に稼働しています</h2>" in answer.text
        assert "<dt>モード</dt><dd>テスト</dd>" in answer.text
        assert "<dt>ジョブキュー</dt><dd>プロセス内</dd>" in answer.text
        assert '<li class="ok" data-check="database"><strong>データベース</strong>: 正常</li>' in answer.text
        assert re.search(r'<p class="checked-at">確認日時 \d{2}:\d{2}:\d{2} UTC</p>', answer.text)
        assert english_left(answer.text, skip_ids=set()) == ["sqlite"]  # the database's name
    assert '<html lang="ja">' in page.text and "<title>WaPipe のステータス</title>" in page.text
    assert ">\n  再確認\n</button>" in page.text
    async with browser(world, "en") as client:
        assert "<h2>All systems working</h2>" in (await client.get("/")).text
