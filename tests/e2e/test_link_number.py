"""Linking a team member's WhatsApp number in a real browser: the numbers section of WaPipe's settings page
inside the Pipedrive sandbox's settings page, once WaPipe is installed; the QR code is scanned on the
WhatsApp sandbox's phone."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from server.demo import DemoAddresses
from server.settings import Settings


def test_a_number_is_linked_through_the_numbers_page_and_the_phone(
    page: Page, demo: tuple[Settings, DemoAddresses], artifacts: Path
) -> None:
    _, addresses = demo
    # Before installing, the settings page says what to do and shows nothing of the company.
    page.goto(addresses.pipedrive + "/host/settings")
    frame = page.frame_locator("iframe")
    expect(frame.locator("#install-needed")).to_have_attribute("data-reason", "company_not_installed")
    expect(frame.locator("#install-needed a")).to_have_attribute("href", "/install")
    expect(frame.locator("#numbers-section")).to_have_count(0)
    page.goto(addresses.wapipe + "/install")
    page.click("#allow")
    expect(page.locator("#install-setup")).to_have_attribute("data-setup", "complete", timeout=15_000)

    page.goto(addresses.pipedrive + "/host/settings")
    expect(frame.locator("h1")).to_have_text("WaPipe settings")
    expect(frame.locator("#numbers-section h2")).to_have_text("WhatsApp numbers")
    page.wait_for_function("() => window.__pdHost && window.__pdHost.initialized === true")
    expect(frame.locator("#numbers-list")).to_contain_text("No number is linked yet")

    frame.locator("#link-number").click()
    expect(frame.locator("#pairing img.qr")).to_be_visible(timeout=15_000)
    phone_url = frame.locator("#pairing .demo-hint a").get_attribute("href")
    assert phone_url is not None
    assert phone_url.startswith(addresses.waha + "/_sim/phone/wapipe-c")
    page.screenshot(path=str(artifacts / "numbers-qr.png"), full_page=True)

    phone = page.context.new_page()
    phone.goto(phone_url)
    expect(phone.locator("#screen-qr")).to_be_visible()
    phone.fill("#link-phone", "+49 151 12345678")
    phone.fill("#link-name", "Anna Admin")
    phone.click("#scan")
    expect(phone.locator("#status")).to_have_text("WORKING")

    expect(frame.locator("#pairing.done")).to_contain_text("Linked +4915112345678", timeout=15_000)
    row = frame.locator("#numbers-list tr[data-account-id]")
    expect(row).to_have_count(1)
    expect(row.locator(".badge")).to_have_text("Connected")
    expect(row).to_contain_text("You")
    page.screenshot(path=str(artifacts / "numbers-linked.png"), full_page=True)

    # The frame sized itself to its content through the SDK.
    calls = page.evaluate("() => window.__pdHost.calls.map(c => c.command)")
    assert calls[0] == "initialize"
    assert "resize" in calls
    height = page.evaluate("() => window.__pdHost.height")
    content = frame.locator("body").evaluate("b => Math.ceil(b.getBoundingClientRect().height)")
    assert height == min(max(100, content), 2000)  # a settings frame is 100 to 2000 px high in Pipedrive


def test_a_number_is_linked_with_a_code_typed_on_the_phone(
    page: Page, demo: tuple[Settings, DemoAddresses], artifacts: Path
) -> None:
    """WaPipe is installed by the test above (a module's tests share their demo, in order)."""
    _, addresses = demo
    page.goto(addresses.pipedrive + "/host/settings")
    frame = page.frame_locator("iframe")
    frame.locator("#link-number").click()
    expect(frame.locator("#pairing img.qr")).to_be_visible(timeout=15_000)
    phone_url = frame.locator("#pairing .demo-hint a").get_attribute("href")
    assert phone_url is not None

    frame.locator("#pairing summary").click()
    typed = frame.locator("#pairing-phone")
    expect(typed).to_be_in_viewport(timeout=15_000)  # the frame grows to the opened form first
    typed.fill("0044 7700 900123")
    with page.expect_response(lambda answer: "/pairing?part=qr" in answer.url):
        pass  # the QR code asks again meanwhile ...
    expect(typed).to_have_value("0044 7700 900123")  # ... and leaves what is typed alone
    frame.locator("#pairing-phone-form button[type=submit]").click()

    code = frame.locator("#pairing-code")
    expect(code).to_be_in_viewport(timeout=15_000)
    shown = code.inner_text()
    assert len(shown.replace("-", "")) == 8, shown
    expect(frame.locator("#pairing")).to_contain_text("Type this code on the phone of +447700900123:")
    expect(frame.locator("#pairing-status")).to_have_text("Waiting for the code to be typed on the phone")
    steps = frame.locator("#pairing .steps li").all_inner_texts()
    assert steps[-1] == "Tap Link with phone number instead and type the code."
    page.screenshot(path=str(artifacts / "numbers-code.png"), full_page=True)

    phone = page.context.new_page()
    phone.goto(phone_url)
    expect(phone.locator("#screen-qr")).to_be_visible()
    phone.fill("#link-name", "Anna Admin")
    phone.fill("#pair-code", "WRONG-CODE")
    phone.click("#pair")
    expect(phone.locator("#scan-error")).to_contain_text("Wrong pairing code")
    phone.fill("#pair-code", shown)
    phone.click("#pair")
    expect(phone.locator("#status")).to_have_text("WORKING")

    expect(frame.locator("#pairing.done")).to_contain_text("Linked +447700900123", timeout=15_000)
    row = frame.locator("#numbers-list tr[data-account-id]", has_text="+447700900123")
    expect(row.locator(".badge")).to_have_text("Connected")
