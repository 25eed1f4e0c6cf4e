"""Every kind of message in the panel, in Chromium. The contact and the linked phone send them with the
buttons of the WAHA sandbox's phone page: a location, a contact card, a poll and votes on it (the
contact's and the phone's), a sticker, a GIF, a view-once photo, a missed and an answered call, a reply
typed on the phone, a reaction, an edit and a deletion. The panel, open in the Pipedrive sandbox's Person
page meanwhile, shows each as it comes at the bottom of the list, in view; the answered call, the
reaction on the bubble it answers, the edit and the deletion in place; opened again, the whole
conversation reads in the order sent, the newest message in view."""

from __future__ import annotations

import httpx
from playwright.sync_api import FrameLocator, Locator, Page, expect

from server.demo import DemoAddresses
from server.settings import Settings
from tests.e2e.panel_helpers import open_panel
from tests.e2e.seen import expect_in_view, scroll_position, texts_top_to_bottom

CONTACT = "+49 89 6364 8018"  # the demo's first Person, "Munich Contact 1"
VIA = "via +491701112223"  # Anna's linked number (panel_helpers.ANNA_NUMBER), on every bubble


class Phone:
    """The WAHA sandbox's phone page of the linked number, its "Write as a customer" form set to the
    contact's number and name."""

    def __init__(self, page: Page, waha: str, session: str) -> None:
        self.page, self.waha = page, waha
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.goto(f"{waha}/_sim/phone/{session}")
        expect(page.locator("#status")).to_have_text("WORKING")
        page.select_option("#customer", label="Another number…")
        page.fill("#other-phone", CONTACT)
        page.fill("#other-name", "Max Berger")

    def a_second_later(self) -> None:
        """WhatsApp stamps messages in whole seconds: each one a second after the one before, so the
        order they were sent in is the order they have."""
        httpx.post(f"{self.waha}/_sim/clock", json={"advance": 1}, timeout=10).raise_for_status()

    def send(self, kind: str, text: str = "") -> None:
        """The contact sends with the form's button for ``kind`` (``text`` in the text box); the page says
        it was sent (or that the number was called)."""
        self.a_second_later()
        result = self.page.locator("#customer-result")
        before = result.inner_text()
        self.page.fill("#customer-text", text)
        self.page.click(f"#customer-form button[data-kind={kind}]")
        expect(result).not_to_have_text(before)
        expect(result).to_contain_text("Called the number" if kind.startswith("call-") else f"Sent {kind} ")

    def bubble(self, text: str) -> Locator:
        return self.page.locator("#bubbles .bubble", has_text=text)

    def act(self, text: str, title: str, answer: str | None = None) -> None:
        """The button titled ``title`` under the phone's bubble with ``text``; ``answer`` typed into the
        prompt it opens."""
        if answer is not None:
            self.page.once("dialog", lambda dialog: dialog.accept(answer))
        self.bubble(text).get_by_title(title, exact=True).click()


def shown(bubbles: Locator) -> list[list[str]]:
    """Each bubble's lines top to bottom, without its time (the demo runs on the wall clock)."""
    return [[line for line in text.splitlines() if line][:-1] for text in texts_top_to_bottom(bubbles)]


def newest(frame: FrameLocator, text: str) -> Locator:
    """The bubble with ``text``: the last of the list and wholly in view."""
    bubble = frame.locator("#panel-messages .bubble").last
    expect(bubble).to_contain_text(text, timeout=15_000)
    expect_in_view(bubble)
    return bubble


def test_every_kind_sent_from_the_phone_page_shows_in_the_panel_in_order(
    page: Page, demo: tuple[Settings, DemoAddresses], session: str
) -> None:
    _, addresses = demo
    # The phone's clock a minute back: a second per message after that stays behind WaPipe's own clock.
    now = httpx.get(f"{addresses.waha}/_sim/clock", timeout=10).json()["now"]
    httpx.post(f"{addresses.waha}/_sim/clock", json={"set": now - 60_000}, timeout=10).raise_for_status()
    frame = open_panel(page, addresses)
    expect(frame.locator(".panel-person")).to_have_text("Munich Contact 1")
    phone = Phone(page.context.new_page(), addresses.waha, session)

    phone.send("text", "Guten Tag, hier ist Max")
    newest(frame, "Guten Tag, hier ist Max")
    phone.send("location")  # the page's sample place: Café Central, Herrengasse 14, Vienna
    place = newest(frame, "Location: Café Central, Herrengasse 14, 1010 Wien").locator(".kind a")
    maps = "https://www.google.com/maps/search/?api=1&query=48.210033,16.363449"
    expect(place).to_have_attribute("href", maps)
    expect(place).to_have_attribute("target", "_blank")
    phone.send("contact", "Erika Musterfrau")  # with the page's sample number
    card = newest(frame, "Erika Musterfrau").locator(".kind.contacts")
    expect(card).to_contain_text("Contact:")
    expect(card).to_contain_text("+49 170 1234567")
    phone.send("poll", "Welcher Tag passt?")  # with the page's sample answers
    newest(frame, "Poll: Welcher Tag passt?: Monday / Tuesday / Wednesday")
    phone.send("text", "Passt Ihnen Dienstag um 10?")
    newest(frame, "Passt Ihnen Dienstag um 10?")
    phone.send("text", "Falsche Nachricht")
    newest(frame, "Falsche Nachricht")
    phone.send("sticker")
    sticker = frame.locator("#panel-messages .bubble").last.locator("img.thumb.sticker")
    expect(sticker).to_have_attribute("alt", "sticker", timeout=15_000)
    expect_in_view(sticker)
    phone.send("gif")
    newest(frame, "📎 gif")
    phone.send("image-once")
    newest(frame, "View once: a photo, not saved: it can be opened only on the phone")
    phone.send("call-missed")
    newest(frame, "Call: Missed voice call")
    phone.send("call-accepted")
    newest(frame, "Call: Voice call")

    # On the phone, in the chat: the contact votes, the phone answers the question with a quote, the
    # contact reacts to the answer, edits the greeting and deletes the wrong message.
    phone.page.locator("#chat-list li", has_text="Max Berger").click()
    phone.a_second_later()
    phone.act("Welcher Tag passt?", "Vote as the contact", "Tuesday")
    newest(frame, "Poll vote: Tuesday")
    phone.a_second_later()
    phone.act("Welcher Tag passt?", "Vote from this phone", "Monday")
    expect(newest(frame, "Poll vote: Monday").locator(".author")).to_have_text("You")
    phone.a_second_later()
    phone.act("Passt Ihnen Dienstag um 10?", "Reply from this phone")
    phone.page.fill("#owner-text", "Ja, Dienstag um 10 passt")
    phone.page.press("#owner-text", "Enter")
    answer = newest(frame, "Ja, Dienstag um 10 passt")
    expect(answer.locator(".quote")).to_have_text("↪ Passt Ihnen Dienstag um 10?")
    phone.act("Ja, Dienstag um 10 passt", "React as the contact")
    expect(answer.locator(".reaction")).to_have_text("❤️", timeout=15_000)
    expect(answer.locator(".reaction")).to_have_attribute("title", "Max Berger")
    phone.act("Guten Tag, hier ist Max", "Edit, as its sender", "Guten Tag, hier ist Max Berger")
    greeting = frame.locator("#panel-messages .bubble").first
    expect(greeting.locator(".text")).to_have_text("Guten Tag, hier ist Max Berger (edited)", timeout=15_000)
    phone.act("Falsche Nachricht", "Delete for everyone, as its sender")
    deleted = frame.locator("#panel-messages .bubble").nth(5)
    expect(deleted.locator(".text")).to_have_text("This message was deleted", timeout=15_000)
    expect(frame.locator("#panel-messages")).not_to_contain_text("Falsche Nachricht")

    # Opened again: everything in the order sent, at the newest message.
    frame = open_panel(page, addresses)
    bubbles = frame.locator("#panel-messages .bubble")
    expect(bubbles).to_have_count(14)
    contact = f"Max Berger {VIA}"  # a call or a vote carries no name of its own: the chat's is shown
    lines = shown(bubbles)
    # The contact card: its name and number (how a card lays them out, and what it offers to do with
    # them, is the card's own test: tests/panel, tests/chat_view).
    card_lines = " ".join(lines[2][1:])
    assert card_lines.startswith("Contact:") and card_lines.index("Erika Musterfrau") < card_lines.index(
        "+49 170 1234567"
    )
    lines[2][1:] = ["(the card)"]
    assert lines == [
        [contact, "Guten Tag, hier ist Max Berger (edited)"],
        [contact, "Location: Café Central, Herrengasse 14, 1010 Wien"],
        [contact, "(the card)"],
        [contact, "Poll: Welcher Tag passt?: Monday / Tuesday / Wednesday"],
        [contact, "Passt Ihnen Dienstag um 10?"],
        [contact, "This message was deleted"],
        [contact],  # the sticker: a picture
        [contact, "📎 gif"],
        [contact, "View once: a photo, not saved: it can be opened only on the phone"],
        [contact, "Call: Missed voice call"],
        [contact, "Call: Voice call"],
        [contact, "Poll vote: Tuesday"],
        [f"You {VIA}", "Poll vote: Monday"],
        [f"You {VIA}", "↪ Passt Ihnen Dienstag um 10?", "Ja, Dienstag um 10 passt", "❤️"],
    ]
    expect_in_view(bubbles.last)
    assert scroll_position(frame.locator("#panel-messages")).at_bottom
    expect(bubbles.nth(6).locator("img.thumb.sticker")).to_have_count(1)
    assert phone.errors == []
