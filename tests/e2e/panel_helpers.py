"""What the panel's browser tests share: install WaPipe and link a number through the real pages, open the
panel inside the Pipedrive sandbox's Person or Deal page, seed the sandboxes, read back what they hold."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

import httpx
from playwright.sync_api import FrameLocator, Locator, Page, expect

from server.demo import DemoAddresses

PERSON = 1  # "Munich Contact 1", +49 89 6364 8018, in the demo's first company
CONTACT_DIGITS = "498963648018"
ANNA_NUMBER = "+49 170 1112223"


def sandbox_state(addresses: DemoAddresses, index: int = 0) -> dict[str, Any]:
    data: dict[str, Any] = httpx.get(addresses.pipedrive + "/_sandbox/state", timeout=30).json()
    company: dict[str, Any] = data["companies"][index]
    return company


def company_id(addresses: DemoAddresses, index: int = 0) -> int:
    return int(sandbox_state(addresses, index)["company"]["id"])


def add_company(addresses: DemoAddresses, name: str, admin: str) -> int:
    """A company of its own in the Pipedrive sandbox, with one admin (``admin``, who can install
    WaPipe); the admin's user id."""
    company = httpx.post(f"{addresses.pipedrive}/_sandbox/companies", json={"name": name}, timeout=10)
    company.raise_for_status()
    email = admin.lower().replace(" ", ".") + "@example.test"
    user = httpx.post(
        f"{addresses.pipedrive}/_sandbox/companies/{company.json()['id']}/users",
        json={"name": admin, "email": email, "is_admin": True},
        timeout=10,
    )
    user.raise_for_status()
    return int(user.json()["id"])


def choose_user(page: Page, name: str) -> None:
    """On the sandbox's consent page: who is signed in to Pipedrive."""
    value = page.locator("#user_id option", has_text=name).get_attribute("value")
    assert value is not None
    page.locator("#user_id").select_option(value)


def install_and_link(
    page: Page, addresses: DemoAddresses, number: str = ANNA_NUMBER, admin: tuple[str, int] | None = None
) -> str:
    """Install as the first admin (Anna), or as ``admin`` (name and user id), and link a number on the
    numbers page with the simulated phone; the WAHA session's name."""
    page.goto(addresses.wapipe + "/install")
    if admin is not None:
        choose_user(page, admin[0])
    page.click("#allow")
    expect(page.locator("#install-setup")).to_have_attribute("data-setup", "complete", timeout=15_000)
    name, user_id = admin if admin is not None else ("Anna Admin", None)
    return link_number(page, addresses, number, name, user_id)


def link_number(
    page: Page, addresses: DemoAddresses, number: str, name: str, user_id: int | None = None
) -> str:
    """On the settings page in the host (as ``user_id``, else the host's default user), link ``number``
    with the simulated phone; the WAHA session's name. The page stays on the settings page."""
    page.goto(addresses.pipedrive + "/host/settings" + (f"?user_id={user_id}" if user_id else ""))
    frame = page.frame_locator("iframe")
    frame.locator("#link-number").click()
    expect(frame.locator("#pairing img.qr")).to_be_visible(timeout=15_000)
    phone_url = frame.locator("#pairing .demo-hint a").get_attribute("href")
    assert phone_url is not None
    phone = page.context.new_page()
    phone.goto(phone_url)
    phone.fill("#link-phone", number)
    phone.fill("#link-name", name)
    phone.click("#scan")
    expect(phone.locator("#status")).to_have_text("WORKING")
    expect(frame.locator("#pairing.done")).to_be_visible(timeout=15_000)
    phone.close()
    return phone_url.rsplit("/", 1)[1]


def open_panel(
    page: Page, addresses: DemoAddresses, entity: int = PERSON, resource: str = "person"
) -> FrameLocator:
    page.goto(f"{addresses.pipedrive}/host/{resource}/{entity}")
    page.wait_for_function("() => window.__pdHost && window.__pdHost.initialized === true")
    frame = page.frame_locator("iframe")
    expect(frame.locator("#panel")).to_be_visible()
    return frame


# An element htmx swapped in carries the class `htmx-added` until it settles, when htmx takes it off and
# binds the element's own triggers: an event fired on it before then (a pick, a click) goes unheard.
_SETTLING = "xpath=ancestor-or-self::*[contains(concat(' ', normalize-space(@class), ' '), ' htmx-added ')]"


def settled(locator: Locator) -> Locator:
    """``locator``, visible and settled: htmx listens to it."""
    expect(locator).to_be_visible()
    expect(locator.locator(_SETTLING)).to_have_count(0)
    return locator


def outbox(addresses: DemoAddresses, session: str) -> list[dict[str, Any]]:
    answer: list[dict[str, Any]] = httpx.get(f"{addresses.waha}/_sim/{session}/outbox", timeout=10).json()
    return answer


def inbound(addresses: DemoAddresses, session: str, sender: str, text: str) -> None:
    """The contact's phone (``sender``'s digits) writes to the linked number, a second after whatever
    happened before on the phone: WhatsApp stamps messages in whole seconds, so messages of one second have
    no order of their own to check."""
    httpx.post(f"{addresses.waha}/_sim/clock", json={"advance": 1}, timeout=10).raise_for_status()
    httpx.post(
        f"{addresses.waha}/_sim/{session}/inbound", json={"from": sender, "text": text}, timeout=10
    ).raise_for_status()


def write_history(addresses: DemoAddresses, session: str, sender: str, texts: list[str]) -> None:
    """The contact wrote ``texts`` a second apart, the last one now (the phone's clock is set back first,
    so nothing is stamped later than the outbox rows WaPipe stamps with its own clock: each ``inbound``
    of an earlier test in the module moved the phone's clock a second ahead of the wall clock)."""
    phone_now = httpx.get(f"{addresses.waha}/_sim/clock", timeout=10).json()["now"]
    now = min(phone_now, int(time.time() * 1000))
    back = {"set": now - 1000 * len(texts)}
    httpx.post(f"{addresses.waha}/_sim/clock", json=back, timeout=10).raise_for_status()
    for text in texts:
        inbound(addresses, session, sender, text)


def add_person(addresses: DemoAddresses, name: str, phones: list[str], company: int | None = None) -> int:
    cid = company if company is not None else company_id(addresses)
    answer = httpx.post(
        f"{addresses.pipedrive}/_sandbox/companies/{cid}/persons",
        json={"name": name, "phones": phones},
        timeout=10,
    )
    answer.raise_for_status()
    return int(answer.json()["id"])


def add_deal(addresses: DemoAddresses, title: str, person_id: int) -> int:
    answer = httpx.post(
        f"{addresses.pipedrive}/_sandbox/companies/{company_id(addresses)}/deals",
        json={"title": title, "person_id": person_id},
        timeout=10,
    )
    answer.raise_for_status()
    return int(answer.json()["id"])


def add_file(addresses: DemoAddresses, name: str, content: bytes, *, person_id: int) -> int:
    answer = httpx.post(
        f"{addresses.pipedrive}/_sandbox/companies/{company_id(addresses)}/files",
        json={"name": name, "content_base64": base64.b64encode(content).decode(), "person_id": person_id},
        timeout=60,
    )
    answer.raise_for_status()
    return int(answer.json()["id"])


def eventually(check: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    """Poll a sandbox (not the page: pages use ``expect``) until ``check`` returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)
