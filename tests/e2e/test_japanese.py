"""WaPipe in Japanese, in Chromium: 田中 優希, the demo's admin who reads Pipedrive in Japanese, installs
WaPipe, links her number and writes from the panel. What the browser itself writes reads in Japanese too:
the panel's character counter (its sentence from the page, its numbers formatted for the page's language)
and each message's time, which the page rewrites in her time zone the way Japanese writes dates."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from server.demo import DemoAddresses
from server.settings import Settings
from tests.e2e.panel_helpers import choose_user, link_number, outbox, sandbox_state
from tests.e2e.seen import expect_in_view, texts_top_to_bottom

YUKI = 5  # the demo seed's Japanese-speaking admin of the second company
YUKI_NUMBER = "+81 90 1234 5678"
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


def test_a_japanese_user_installs_links_and_writes_in_japanese(
    page: Page, demo: tuple[Settings, DemoAddresses]
) -> None:
    _, addresses = demo
    page.goto(addresses.wapipe + "/install")
    choose_user(page, "田中 優希")
    page.click("#allow")
    setup = page.locator("#install-setup")
    expect(setup).to_have_attribute("data-setup", "complete", timeout=15_000)
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    assert "インストール" in page.locator("main").inner_text()

    session = link_number(page, addresses, YUKI_NUMBER, "田中 優希", user_id=YUKI)
    settings = page.frame_locator("iframe")
    expect(settings.locator("html")).to_have_attribute("lang", "ja")
    expect(settings.locator("h1")).to_have_text("WaPipe の設定")

    sam = next(p for p in sandbox_state(addresses, 1)["persons"] if p["name"] == "Sam Francisco")
    page.goto(f"{addresses.pipedrive}/host/person/{sam['id']}?user_id={YUKI}")
    page.wait_for_function("() => window.__pdHost && window.__pdHost.initialized === true")
    panel = page.frame_locator("iframe")
    expect(panel.locator("html")).to_have_attribute("lang", "ja")
    expect(panel.locator("#send")).to_have_text("送信")
    expect(panel.locator("#text")).to_have_attribute("placeholder", "メッセージを入力")

    # The counter: its sentence is the page's, its numbers written as Japanese writes them.
    panel.locator("#text").fill("あ" * 4100)
    count = panel.locator("#text-count")
    expect(count).to_contain_text("4,100 / 4,096 文字")
    expect(count).to_contain_text("4 文字超えています")
    assert [w for w in LATIN_WORD.findall(count.inner_text()) if w != "WhatsApp"] == [], count.inner_text()

    panel.locator("#text").fill("こんにちは、田中です")
    expect(count).to_have_text("10 / 4,096")
    panel.locator("#send").click()
    sent = panel.locator(".bubble.out", has_text="こんにちは、田中です")
    expect_in_view(sent)
    shown_time = sent.locator("time[data-local='shown']")
    expect(shown_time).to_have_text(re.compile(r"^\d{2}月\d{2}日 \d{2}:\d{2}$"))
    assert "年" in (shown_time.get_attribute("title") or "")  # the full date, as Japanese writes it
    assert texts_top_to_bottom(panel.locator(".bubble .text"))[-1] == "こんにちは、田中です"
    expect_sent = [m["text"] for m in outbox(addresses, session)]
    assert expect_sent[-1:] == ["こんにちは、田中です"]
