"""The install pages in Japanese: before WaPipe knows who installs, the browser's language decides; once
Pipedrive said who installs (``/users/me``), their Pipedrive language does, on the installed page too."""

from __future__ import annotations

import re

from tests.i18n.visible_words import latin_words
from tests.install.world import InstallWorld

# What Japanese text keeps in Latin letters (abbreviations), and this module's names and data.
KEPT = {"ID", "QR"}
DATA = {"Anna", "Admin", "Bernd", "Agent", "Acme", "Sales", "GmbH"}
# Names of things in Pipedrive, quoted as WaPipe creates them there (a panel, an activity type, fields).
PIPEDRIVE_NAMES = re.compile(r"「[^」]*」")


def english_left(html: str) -> list[str]:
    return latin_words(PIPEDRIVE_NAMES.sub("", html), allowed=KEPT | DATA)


def notice_message(html: str) -> str:
    """The words of an error notice, without its title."""
    found = re.search(r'<div class="notice error"[^>]*>\s*<strong>.*?</strong>\s*<p>(.*?)</p>', html, re.S)
    assert found is not None, html
    return found[1]


async def test_an_admin_who_reads_pipedrive_in_japanese_reads_the_installed_page_in_japanese(
    world: InstallWorld,
) -> None:
    world.admin.locale = "ja_JP"
    answer = await world.install(world.admin)
    assert answer.status_code == 303
    english_browser = {"Accept-Language": "en-US,en;q=0.9"}
    page = await world.client.get(answer.headers["location"], headers=english_browser)
    assert page.status_code == 200
    assert '<html lang="ja">' in page.text
    assert "<title>WaPipe をインストールしました – WaPipe</title>" in page.text
    assert "<h2>Acme Sales GmbH に WaPipe をインストールしました</h2>" in page.text
    assert "Anna Admin（管理者）として Pipedrive にサインインしています。" in page.text
    assert "「Send WhatsApp message」パネルを使いたいチームメンバーは" in page.text
    assert "Pipedrive の設定が完了しました。" in page.text  # the set-up job ran
    assert ">Pipedrive で WaPipe の設定を開いて</a>ください。" in page.text
    assert english_left(page.text) == []

    ticket = answer.headers["location"].split("ticket=", 1)[1]
    polled = await world.client.get(f"/installed/setup?ticket={ticket}&polls=1", headers=english_browser)
    assert 'data-setup="complete"' in polled.text and "Pipedrive の設定が完了しました。" in polled.text


async def test_a_member_who_installs_before_any_admin_is_told_so_in_their_pipedrive_language(
    world: InstallWorld,
) -> None:
    world.agent.locale = "ja_JP"
    answer = await world.install(world.agent)
    assert answer.status_code == 200 and 'data-reason="admin_required"' in answer.text
    assert '<html lang="ja">' in answer.text
    message = notice_message(answer.text)
    assert message.startswith(
        "Bernd Agent さん、あなた用に WaPipe をインストールしましたが、Acme Sales GmbH の管理者はまだ誰も"
        "インストールしていません。"
    )
    assert english_left(message) == []
    assert '<a id="install-again" href="/install">WaPipe をもう一度インストール</a>' in answer.text


async def test_before_anyone_is_known_the_browsers_language_decides(world: InstallWorld) -> None:
    callback = await world.authorize(world.admin, state=None, decision="deny")
    japanese = await world.client.get(callback, headers={"Accept-Language": "ja,en;q=0.5"})
    assert 'data-reason="user_denied"' in japanese.text and '<html lang="ja">' in japanese.text
    message = notice_message(japanese.text)
    assert message == (
        "WaPipe による Pipedrive へのアクセスを許可しなかったため、何もインストールも保存もされていません。"
    )
    assert english_left(message) == []
    english = await world.client.get(callback, headers={"Accept-Language": "en"})
    assert '<html lang="en">' in english.text
    assert notice_message(english.text) == (
        "You chose not to allow WaPipe access to Pipedrive, so nothing was installed or stored."
    )

    forged = await world.client.get(
        "/oauth/callback", params={"state": "forged", "code": "x"}, headers={"Accept-Language": "ja"}
    )
    assert forged.status_code == 400 and 'data-reason="invalid_state"' in forged.text
    assert notice_message(forged.text) == (
        "このインストール用リンクはこのサーバーが発行したものではありません。最初からやり直してください"
    )
    assert await world.installations() == []
