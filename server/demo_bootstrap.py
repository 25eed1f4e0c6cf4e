"""The demo's first minutes done for the user: WaPipe installed by the first company's admin and a number
linked with the simulated phone, through the same pages and callbacks a person uses (over HTTP), so the
panel works the moment the demo says where to click."""

from __future__ import annotations

import asyncio
import html
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt

from server.settings import Settings
from server.web.frame_auth import TOKEN_HEADER

DEMO_NUMBER = "+49 170 1112223"  # the admin's WhatsApp number on the simulated phone
READY_TIMEOUT = 60.0
_PHONE_LINK = re.compile(r"/_sim/phone/([A-Za-z0-9_-]+)")
_SETUP_POLL = re.compile(r'hx-get="([^"]+)"')


class BootstrapFailed(RuntimeError):
    """A step of the demo's set-up did not do what a user would see it do."""


@dataclass(frozen=True, slots=True)
class DemoReady:
    company_id: int
    admin_id: int
    admin_name: str
    session: str
    person_id: int
    deal_id: int | None  # the Person's Deal, where the chat is logged too


async def bootstrap_demo(settings: Settings, wapipe: str, pipedrive: str, waha: str) -> DemoReady:
    """Install as the admin (the Marketplace way: consent, then our callback), link ``DEMO_NUMBER``."""
    async with httpx.AsyncClient(timeout=30) as http:
        await _until_up(http, f"{wapipe}/healthz")
        company = (await http.get(f"{pipedrive}/_sandbox/state")).json()["companies"][0]
        admin = next(user for user in company["users"] if user["is_admin"])
        await _install(http, wapipe, pipedrive, admin["id"])
        token = _panel_token(settings, company["company"]["id"], admin["id"])
        linking = await http.post(f"{wapipe}/numbers", headers={TOKEN_HEADER: token})
        found = _PHONE_LINK.search(linking.text)
        if linking.status_code != 200 or found is None:
            raise BootstrapFailed(f"linking a number answered {linking.status_code}: {linking.text[:300]}")
        session = found.group(1)
        scanned = await http.post(
            f"{waha}/_sim/{session}/scan", json={"phone": DEMO_NUMBER, "pushName": admin["name"]}
        )
        if scanned.status_code != 200:
            raise BootstrapFailed(f"the simulated phone could not scan: {scanned.text[:300]}")
        await _until(lambda: _number_connected(http, wapipe, token), "the linked number to connect")
        person = min(int(p["id"]) for p in company["persons"])
        deal = min((int(d["id"]) for d in company["deals"] if d.get("person_id") == person), default=None)
        return DemoReady(company["company"]["id"], admin["id"], admin["name"], session, person, deal)


async def _install(http: httpx.AsyncClient, wapipe: str, pipedrive: str, admin_id: int) -> None:
    start = await http.get(f"{wapipe}/install")
    consent = httpx.URL(start.headers.get("location", ""))
    if start.status_code != 302 or "client_id" not in consent.params:
        raise BootstrapFailed(f"/install answered {start.status_code}, not Pipedrive's consent page")
    allowed = await http.post(
        f"{pipedrive}/oauth/authorize",
        data={
            "client_id": consent.params["client_id"],
            "redirect_uri": consent.params["redirect_uri"],
            "state": consent.params.get("state", ""),
            "decision": "allow",
            "user_id": str(admin_id),
        },
    )
    installed = await http.get(
        allowed.headers.get("location", f"{wapipe}/oauth/callback"), follow_redirects=True
    )
    if installed.status_code != 200 or 'id="install-setup"' not in installed.text:
        raise BootstrapFailed(f"the OAuth callback answered {installed.status_code}: {installed.text[:300]}")
    page = installed.text

    async def set_up() -> bool:  # the installed page polls its set-up (activity type, fields) like this
        nonlocal page
        if 'data-setup="complete"' in page:
            return True
        found = _SETUP_POLL.search(page)
        if found is None:
            raise BootstrapFailed("the installed page shows no set-up progress")
        page = (await http.get(str(httpx.URL(wapipe).join(html.unescape(found.group(1)))))).text
        return False

    await _until(set_up, "WaPipe's set-up in Pipedrive")


def _panel_token(settings: Settings, company_id: int, user_id: int) -> str:
    """What Pipedrive's host gives an iframe: the app's JWT secret signs the company and user."""
    now = int(time.time())
    claims: dict[str, Any] = {"companyId": company_id, "userId": user_id, "iat": now, "exp": now + 600}
    return jwt.encode(claims, settings.pipedrive_jwt_secret.get_secret_value(), algorithm="HS256")


async def _number_connected(http: httpx.AsyncClient, wapipe: str, token: str) -> bool:
    listing = await http.get(f"{wapipe}/numbers/list", headers={TOKEN_HEADER: token})
    return listing.status_code == 200 and DEMO_NUMBER.replace(" ", "") in listing.text.replace(" ", "")


async def _until_up(http: httpx.AsyncClient, url: str) -> None:
    async def answering() -> bool:
        try:
            return (await http.get(url)).status_code == 200
        except httpx.TransportError:
            return False

    await _until(answering, url)


async def _until(check: Any, what: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while not await check():
        if time.monotonic() > deadline:
            raise BootstrapFailed(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


def where_to_click(
    ready: DemoReady, wapipe: str, pipedrive: str, waha: str, *, log_file: Path | None = None
) -> str:
    person = f"{pipedrive}/host/person/{ready.person_id}"
    deal = f" and on its Deal {pipedrive}/host/deal/{ready.deal_id}" if ready.deal_id else ""
    log = f"    Full log              {log_file}\n" if log_file else ""
    return f"""
  Ready: WaPipe is installed by {ready.admin_name} and {DEMO_NUMBER} is linked. Try it:
    1. The panel          {person}   (WaPipe's panel on a Person: send)
    2. The phone          {waha}/_sim/phone/{ready.session}   (see it arrive; answer as the customer)
    3. In Pipedrive       the answer appears in the panel, and the chat as a "WhatsApp chat" activity
                          under Activity on the Person's page{deal}
    App settings          {pipedrive}/host/settings   (import frequency, new-chat action, numbers, audit log)
    Install for another user of the company: {wapipe}/install
{log}"""
