"""The app settings page as a person sees it in the Pipedrive sandbox's settings surface: every control
styled in the dark theme as in the light one, the whole page inside its frame (the audit rows too), and
the form's choices: the pipeline kept through a switch to Lead and back, every bad excluded number named,
the next import of a batch mode.

The tests share one demo, where Anna installed WaPipe and linked her number once (``session``); the test
that needs the page as a first install has it has a company of its own."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import FrameLocator, Page, expect

from server.demo import DemoAddresses
from server.settings import Settings
from tests.e2e.panel_helpers import (
    CONTACT_DIGITS,
    add_company,
    eventually,
    inbound,
    install_and_link,
    sandbox_state,
)
from tests.e2e.seen import expect_in_view


def open_settings(
    page: Page, addresses: DemoAddresses, theme: str = "light", user_id: int | None = None
) -> FrameLocator:
    who = f"&user_id={user_id}" if user_id else ""
    page.goto(f"{addresses.pipedrive}/host/settings?theme={theme}{who}")
    page.wait_for_function("() => window.__pdHost && window.__pdHost.initialized === true")
    frame = page.frame_locator("iframe")
    expect(frame.locator("h1")).to_have_text("WaPipe settings")
    return frame


def rgb(css: str) -> tuple[int, int, int]:
    found = re.findall(r"\d+", css)
    return int(found[0]), int(found[1]), int(found[2])


def luminance(css: str) -> float:
    """Relative luminance (WCAG 2), 0 black to 1 white."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb(css))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def look(frame: FrameLocator, selector: str) -> dict[str, str]:
    style: dict[str, str] = frame.locator(selector).evaluate(
        """e => { const s = getComputedStyle(e); return {bg: s.backgroundColor, fg: s.color,
        border: s.borderTopColor, width: s.borderTopWidth,
        height: String(e.getBoundingClientRect().height)}; }"""
    )
    return style


CONTROLS = ("#import_frequency", "#new_chat_action", "#excluded_numbers", "#message_retention_days")


def test_both_themes_style_every_control_and_the_page_fits_its_frame(
    page: Page, demo: tuple[Settings, DemoAddresses], artifacts: Path
) -> None:
    _, addresses = demo
    # A company of its own: the page as a first install has it, with a linked number ("Unlink" link).
    ines = add_company(addresses, "Initech GmbH", "Ines Admin")
    install_and_link(page, addresses, "+49 170 5556667", admin=("Ines Admin", ines))
    frame = open_settings(page, addresses, user_id=ines)
    for n in range(21):  # more changes than the audit list shows (20)
        frame.locator("#import_frequency").select_option(["1h", "6h", "realtime"][n % 3])
        frame.locator("#settings-save").click()
        # a bound for a loaded machine, not a figure: each save is written and the list swapped in anew
        expect(frame.locator("#audit-log tbody tr")).to_have_count(min(n + 1, 20), timeout=15_000)

    for theme in ("light", "dark"):
        frame = open_settings(page, addresses, theme, user_id=ines)
        page_bg = frame.locator("body").evaluate("e => getComputedStyle(e).backgroundColor")
        dark_page = luminance(page_bg) < 0.05
        assert dark_page == (theme == "dark"), (theme, page_bg)
        for selector in CONTROLS:
            control = look(frame, selector)
            # The field's ground follows the theme, its text reads on it, its border shows.
            assert (luminance(control["bg"]) < 0.05) == dark_page, (theme, selector, control)
            assert contrast(control["fg"], control["bg"]) >= 7, (theme, selector, control)
            assert control["width"] == "1px" and contrast(control["border"], control["bg"]) >= 1.8
            assert float(control["height"]) >= 32, (theme, selector, control)  # not thin
        save = look(frame, "#settings-save")
        assert rgb(save["bg"])[1] > rgb(save["bg"])[0] + 60, (theme, save)  # the primary green, both themes
        assert contrast(save["fg"], save["bg"]) >= 4.5, (theme, save)
        link = look(frame, "#numbers-list .link-button")  # a link-like button stays a link
        assert link["bg"] == "rgba(0, 0, 0, 0)", (theme, link)

        # Once sized, the frame holds the whole page: nothing scrolls inside it, the audit rows included.
        [inner] = [f for f in page.frames if f.parent_frame is not None]
        inner.wait_for_function("() => document.documentElement.scrollHeight <= window.innerHeight")
        assert page.evaluate("window.__pdHost.height") <= 2000  # what the settings surface allows
        rows = frame.locator("#audit-log tbody tr")
        expect(rows).to_have_count(20)
        rows.last.scroll_into_view_if_needed()
        expect_in_view(rows.last)
        expect_in_view(frame.locator("#audit-section h2"))
        page.screenshot(path=str(artifacts / f"settings-page-{theme}.png"), full_page=True)


def test_the_form_keeps_the_pipeline_names_every_bad_number_and_the_next_import(
    page: Page, demo: tuple[Settings, DemoAddresses], session: str
) -> None:
    _, addresses = demo
    frame = open_settings(page, addresses)
    action, pipeline = frame.locator("#new_chat_action"), frame.locator("#pipeline_id")

    # Deal, a pipeline, Lead, Deal again: the pipeline chosen is still chosen.
    action.select_option("deal")
    pipeline.select_option(label="WhatsApp inbound")
    chosen = pipeline.input_value()
    action.select_option("lead")
    expect(frame.locator("select#pipeline_id")).to_have_count(0)
    action.select_option("deal")
    expect(frame.locator("select#pipeline_id")).to_have_value(chosen)

    # Every bad excluded number is named, each with its line.
    frame.locator("#excluded_numbers").fill("+49 176 55501234\n0176 5550 9999\n+1 23")
    frame.locator("#settings-save").click()
    expect(frame.locator("#excluded-numbers-error")).to_have_text(
        "2 lines need a change; each is named below"
    )
    lines = frame.locator(".bad-lines li")
    expect(lines).to_have_count(2)
    expect(lines.nth(0)).to_contain_text("Line 2: 0176 5550 9999 has no country code")
    expect(lines.nth(1)).to_contain_text("Line 3: +1 23 is not a valid phone number")
    expect(frame.locator("select#pipeline_id")).to_have_value(chosen)  # kept through the refusal too

    # Hourly: the page says when the next import runs.
    frame.locator("#excluded_numbers").fill("")
    frame.locator("#import_frequency").select_option("1h")
    frame.locator("#settings-save").click()
    expect(frame.locator("#settings-saved")).to_be_visible()
    expect(frame.locator("#next-import")).to_contain_text("Next import: nothing is waiting")

    # A message waits for the hour; the page names when it goes.
    before = datetime.now(UTC)
    inbound(addresses, session, CONTACT_DIGITS, "Wann kommt die Lieferung?")

    def waiting_shown() -> bool:  # the page shows what was stored when it was opened
        return open_settings(page, addresses).locator("#next-import", has_text="1 chat waiting").count() > 0

    eventually(waiting_shown, "the waiting chat on the settings page")
    waiting = page.frame_locator("iframe").locator("#next-import")
    waiting.scroll_into_view_if_needed()
    expect_in_view(waiting)
    shown = re.search(r"Next import: by (\d{4}-\d\d-\d\d \d\d:\d\d) UTC", waiting.inner_text())
    assert shown is not None, waiting.inner_text()
    at = datetime.strptime(shown.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    earliest = (before + timedelta(minutes=61)).replace(second=0, microsecond=0)
    assert earliest <= at <= datetime.now(UTC) + timedelta(minutes=61), (before, at)

    # Back to real time: the waiting chat is written at once, no new message needed.
    frame = page.frame_locator("iframe")
    frame.locator("#import_frequency").select_option("realtime")
    frame.locator("#settings-save").click()
    expect(frame.locator("#flushed")).to_have_text("1 waiting chat is being written to Pipedrive now.")
    expect(frame.locator("#next-import")).to_have_count(0)
    eventually(
        lambda: any(
            "Wann kommt die Lieferung" in str(a.get("note") or "")
            for a in sandbox_state(addresses)["activities"]
        ),
        "the waiting message in Pipedrive",
    )
