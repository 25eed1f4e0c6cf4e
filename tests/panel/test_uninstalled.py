"""Uninstalled means stopped, at once: right after Pipedrive's uninstall notice the panel neither shows
what it read from Pipedrive a moment ago nor sends, and a send queued before the notice does not go out."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from sandbox.pipedrive.state import SandboxUser
from server.services.send import SendRequest, SendService
from server.storage.accounts import SqlAccountStore
from server.storage.companies import SqlCompanyStore
from server.storage.outbox import SqlOutboxStore
from tests.panel.test_panel import PNG, signed_media_path, stored_media_ids
from tests.panel.world import PanelWorld

MARIA_PHONE = "+49 176 55501234"


def page_params(world: PanelWorld, user: SandboxUser) -> dict[str, Any]:
    return {"resource": "person", "selectedIds": world.persons["maria"], "token": world.token(user)}


def send_form(world: PanelWorld, ref: str) -> dict[str, Any]:
    return {
        "person_id": world.persons["maria"],
        "client_ref": ref,
        "to": MARIA_PHONE,
        "account_id": 1,
        "region": "",
        "file_id": "",
        "text": "Hallo Maria",
    }


async def member(world: PanelWorld) -> SandboxUser:
    """A salesperson of Anna's company with their own installation."""
    nick = world.pd.add_user(world.anna.company_id, "Nick Member", "nick@acme.test", is_admin=False)
    installed = await world.install(nick)
    assert installed.status_code == 303, installed.text
    return nick


async def test_the_panel_refuses_reads_and_sends_the_moment_the_user_uninstalls(world: PanelWorld) -> None:
    nick = await member(world)
    opened = await world.client.get("/panel", params=page_params(world, nick))
    assert opened.status_code == 200 and "Maria Kunde" in opened.text  # the Person is read and kept
    headers = {"X-Pipedrive-Token": world.token(nick)}
    polled = await world.client.get(
        "/panel/messages", params={"person_id": world.persons["maria"]}, headers=headers
    )
    assert polled.status_code == 200

    assert (await world.uninstall_in_pipedrive(nick))["status_code"] == 200

    page = await world.client.get("/panel", params=page_params(world, nick))
    assert page.status_code == 403 and 'data-reason="not_installed"' in page.text
    assert "Maria Kunde" not in page.text and "55501234" not in page.text
    messages = await world.client.get(
        "/panel/messages", params={"person_id": world.persons["maria"]}, headers=headers
    )
    assert messages.status_code == 403 and 'data-reason="not_installed"' in messages.text
    sent = await world.client.post(
        "/panel/send", data=send_form(world, "ref-after-uninstall"), headers=headers
    )
    assert sent.status_code == 403 and 'data-reason="not_installed"' in sent.text
    unpin = await world.client.post("/panel/pin", data={"chat_id": 1, "unpin": "1"}, headers=headers)
    assert unpin.status_code == 403 and 'data-reason="not_installed"' in unpin.text
    assert await world.outbox() == []

    # Anna's own installation is untouched: her panel reads and sends as before.
    anna = await world.client.get("/panel", params=page_params(world, world.anna))
    assert anna.status_code == 200 and "Maria Kunde" in anna.text
    own = await world.client.post(
        "/panel/send", data=send_form(world, "ref-anna-still-here"), headers=world.headers()
    )
    assert own.status_code == 200, own.text


async def test_reinstalling_opens_the_panel_again(world: PanelWorld) -> None:
    nick = await member(world)
    assert (await world.client.get("/panel", params=page_params(world, nick))).status_code == 200
    await world.uninstall_in_pipedrive(nick)
    assert (await world.client.get("/panel", params=page_params(world, nick))).status_code == 403
    await world.install(nick)
    again = await world.client.get("/panel", params=page_params(world, nick))
    assert again.status_code == 200 and "Maria Kunde" in again.text


class Later:
    """The job queue with every job held back a minute, as a worker's backlog would hold it."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue

    async def enqueue(self, function: str, *args: Any, job_id: str | None = None, **_: Any) -> bool:
        result: bool = await self.queue.enqueue(function, *args, job_id=job_id, defer_by=timedelta(minutes=1))
        return result


async def test_a_send_queued_before_the_uninstall_is_kept_and_not_sent(world: PanelWorld) -> None:
    nick = await member(world)
    engine = world.resources.engine
    company = await SqlCompanyStore(engine).get(world.anna.company_id)
    assert company is not None
    service = SendService(SqlAccountStore(engine), SqlOutboxStore(engine), Later(world.resources.queue))
    for user, ref, text in (
        (nick, "ref-queued-by-nick", "Von Nick"),
        (world.anna, "ref-queued-anna", "Von Anna"),
    ):
        await service.request(
            company.id,
            user.id,
            SendRequest(
                client_ref=ref, account_id=1, to=MARIA_PHONE, text=text, person_id=world.persons["maria"]
            ),
        )
    assert [row["status"] for row in await world.outbox()] == ["queued", "queued"]

    await world.uninstall_in_pipedrive(nick)
    await world.settle()  # the minute passes on the world's clock; both jobs run

    by_text = {row["text"]: row for row in await world.outbox()}
    nicks = by_text["Von Nick"]
    assert (nicks["status"], nicks["error_reason"]) == ("failed", "sender_uninstalled")
    assert "uninstalled" in nicks["error_message"] and nicks["attempts"] == 0
    assert by_text["Von Anna"]["status"] == "sent"  # the control: a send of an installed user goes out
    assert [m["text"] for m in world.waha.outbox("wp-acme-anna")] == ["Von Anna"]


async def test_media_links_stop_opening_once_nobody_in_the_company_has_wapipe(world: PanelWorld) -> None:
    """A link the panel handed out lasts up to two hours; once the company's last installation is gone
    it opens nothing, while the signature and expiry are still good."""
    before = await stored_media_ids(world)
    world.waha.receive("wp-acme-anna", "4917655501234", "", kind="image", data=PNG, mimetype="image/png")
    await world.settle()
    [message_id] = await stored_media_ids(world) - before
    company = await SqlCompanyStore(world.resources.engine).get(world.anna.company_id)
    assert company is not None
    link = signed_media_path(world, company.id, message_id, int(time.time()) + 600)
    opened = await world.client.get(link)
    assert (opened.status_code, opened.content) == (200, PNG)

    assert (await world.uninstall_in_pipedrive(world.anna))["status_code"] == 200
    gone = await world.client.get(link)
    assert gone.status_code == 403 and PNG not in gone.content
    assert gone.text == "WaPipe is no longer installed in this company"
