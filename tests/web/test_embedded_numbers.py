"""Linking and running a number on the embedded transport (``WAPIPE_WHATSAPP=embedded``), in WaPipe's own
process without Redis: the numbers page, the session host, the session and the inbound jobs are WaPipe's;
WhatsApp Web is the stand-in client (``tests/whatsapp/whatsapp_web_standin.py``), fed neonize's real
event types. The session host is stepped by the test (its own look is set ten minutes apart)."""

from __future__ import annotations

import asyncio
import base64
import re
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from server.domain.errors import GatewayUnavailable
from server.domain.whatsapp import OutboundMessage
from server.jobs.embedded_sessions import RunningHost
from server.settings import Settings
from server.storage.tables import EmbeddedSession, WhatsAppAccount, table_of
from server.whatsapp.embedded import EmbeddedTransport, LiveSessions
from tests.qr_reader import qr_text
from tests.web.inbound_world import InboundWorld, inbound_world
from tests.web.test_numbers import USER, token
from tests.whatsapp.neonize_events import CUSTOMER, OWN, E, jid, message_event, source
from tests.whatsapp.whatsapp_web_standin import IDENTITY_KEY, StandInClient, StandInWhatsApp

# What whatsmeow's QR event carries: ref, noise key, identity key, adv secret (the phone's camera reads it)
PAYLOAD = "2@Xk0bV2Wc5ZpS1TgQ/9Ye+Lw==,lQe6tN7sO0m3nY5r2x8A1bC4dE6fG8hJ0kL2mN4pQ6s=,Zm9vYmFyYmF6cXV4,cXV1eA=="
UNREACHABLE = 'failed to dial whatsapp web websocket: Get "https://web.whatsapp.com/ws/chat": no such host'
# the test settings' encryption key (server/settings.py's stand-in for test mode), written out
TEST_KEY = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


@pytest.fixture
async def world(
    make_settings: Callable[..., Settings],
) -> AsyncIterator[tuple[InboundWorld, StandInWhatsApp]]:
    settings = make_settings(
        public_url="http://wapipe.test",
        whatsapp="embedded",
        session_lease_poll=600,
        session_lease_renew=300,
        session_lease_ttl=600,
    )
    whatsapp = StandInWhatsApp()
    async with inbound_world(settings, whatsapp_web=whatsapp) as w:
        await w.install_users(USER, admin=USER)
        yield w, whatsapp


def sessions(w: InboundWorld) -> RunningHost:
    assert w.resources.sessions is not None, "without Redis, WaPipe runs the embedded sessions itself"
    return w.resources.sessions


def transport(w: InboundWorld) -> EmbeddedTransport:
    found = w.resources.transports["embedded"]
    assert isinstance(found, EmbeddedTransport)
    return found


async def link(w: InboundWorld, whatsapp: StandInWhatsApp) -> tuple[int, str, StandInClient]:
    """Link a number on the page, then the session host's look starts its session here."""
    started = await w.client.post("/numbers", headers=headers(w))
    assert started.status_code == 200, started.text
    account_id = int(re.search(r'data-account-id="(\d+)"', started.text).group(1))  # type: ignore[union-attr]
    session = (await row(w, WhatsAppAccount, account_id))["session_name"]
    await sessions(w).host.look_now()
    client = whatsapp.client(session)
    await asyncio.wait_for(client.running.wait(), timeout=10)
    return account_id, session, client


def headers(w: InboundWorld) -> dict[str, str]:
    return {"X-Pipedrive-Token": token(w.settings)}


async def row(w: InboundWorld, table: Any, key: int | str) -> dict[str, Any]:
    columns = table_of(table)
    where = columns.c.id == key if "id" in columns.c else columns.c.session_name == key
    async with w.resources.engine.connect() as connection:
        found = (await connection.execute(select(columns).where(where))).one()
    return dict(found._mapping)


async def test_a_number_is_linked_by_the_qr_whatsmeow_reports_and_its_keys_are_kept_encrypted(
    world: tuple[InboundWorld, StandInWhatsApp],
) -> None:
    w, whatsapp = world
    account_id, session, client = await link(w, whatsapp)
    waiting = await w.client.get(f"/numbers/{account_id}/pairing", headers=headers(w))
    assert "data:image/png;base64," not in waiting.text  # nothing to scan before whatsmeow gives a code

    await client.show_qr(PAYLOAD)
    shown = await w.client.get(f"/numbers/{account_id}/pairing", headers=headers(w))
    drawn = re.search(r'src="data:image/png;base64,([^"]+)"', shown.text)
    assert drawn is not None, shown.text
    assert qr_text(base64.b64decode(drawn.group(1))) == PAYLOAD
    stored = await row(w, EmbeddedSession, session)
    assert PAYLOAD not in stored["qr_encrypted"]
    assert Fernet(TEST_KEY).decrypt(stored["qr_encrypted"].encode()).decode() == PAYLOAD

    await client.pair(OWN)
    await w.settle(until=w.clock.now())  # the inbound jobs (this world has no Pipedrive to sync to)
    done = await w.client.get(f"/numbers/{account_id}/pairing", headers=headers(w))
    assert f"Linked +{OWN}" in done.text
    stored = await row(w, EmbeddedSession, session)
    assert stored["qr_encrypted"] == ""  # spent once the phone paired: nothing left to scan
    sealed = bytes(stored["device_encrypted"])
    assert b"SQLite format 3" not in sealed and IDENTITY_KEY not in sealed
    opened = Fernet(TEST_KEY).decrypt(sealed)
    assert opened.startswith(b"SQLite format 3\x00") and IDENTITY_KEY in opened


async def test_the_device_store_survives_a_worker_restart_and_leaves_no_file_behind(
    world: tuple[InboundWorld, StandInWhatsApp], tmp_path: Path
) -> None:
    w, whatsapp = world
    _, session, client = await link(w, whatsapp)
    await client.pair(OWN)
    first_file = client.store_path
    assert first_file.exists()

    await sessions(w).host.stop()  # the worker stops: the session's store is saved, its file removed
    assert not first_file.exists()
    assert client.stopped.is_set()
    await sessions(w).host.look_now()  # a worker (here the same process, a new connection) takes it again
    resumed = whatsapp.client(session)
    await asyncio.wait_for(resumed.running.wait(), timeout=10)
    assert resumed is not client
    assert resumed.paired_as == OWN  # it resumed from the keys restored into its new file
    with sqlite3.connect(resumed.store_path) as store:
        assert store.execute("SELECT identity_key FROM whatsmeow_device").fetchone() == (IDENTITY_KEY,)
    store.close()
    assert resumed.store_path.stat().st_mode & 0o077 == 0  # readable by WaPipe's user only


async def test_whatsapp_out_of_reach_is_a_named_state_on_the_numbers_page(
    world: tuple[InboundWorld, StandInWhatsApp],
) -> None:
    w, whatsapp = world
    whatsapp.unreachable = UNREACHABLE
    started = await w.client.post("/numbers", headers=headers(w))
    assert started.status_code == 200
    await sessions(w).host.look_now()
    await asyncio.sleep(0)  # the session's first try runs
    for _ in range(50):
        listing = await w.client.get("/numbers/list", headers=headers(w))
        if "Cannot reach WhatsApp" in listing.text:
            break
        await asyncio.sleep(0.01)
    assert "Cannot reach WhatsApp" in listing.text
    assert "cannot reach WhatsApp: failed to dial whatsapp web websocket" in listing.text


async def test_messages_whatsmeow_reports_land_once_and_replies_go_out_through_the_session(
    world: tuple[InboundWorld, StandInWhatsApp],
) -> None:
    w, whatsapp = world
    _, session, client = await link(w, whatsapp)
    await client.pair(OWN)
    hello = message_event(
        E.Message(conversation="Guten Tag, ist das Angebot noch gültig?"),
        src=source(jid(CUSTOMER), jid(CUSTOMER)),
    )
    await client.emit(hello)
    await client.emit(hello)  # whatsmeow hands a message over again after a reconnect
    await w.settle(until=w.clock.now())  # the inbound jobs (this world has no Pipedrive to sync to)
    texts = [m["text"] for m in await w.messages()]
    assert texts == ["Guten Tag, ist das Angebot noch gültig?"]
    [chat] = await w.chats()
    assert chat["chat_key"].startswith(CUSTOMER)

    sent = await transport(w).send(
        session, OutboundMessage(client_ref="1", to=f"+{CUSTOMER}", text="Ja, bis Freitag.")
    )
    assert client.sent[-1][0] == f"{CUSTOMER}@s.whatsapp.net"
    assert sent.wa_message_id == "3EB0STANDIN0001"

    elsewhere = EmbeddedTransport(transport(w)._rows, LiveSessions(), w.clock)  # another process
    with pytest.raises(GatewayUnavailable) as refused:
        await elsewhere.send(session, OutboundMessage(client_ref="2", to=f"+{CUSTOMER}", text="Noch etwas?"))
    assert refused.value.reason == "session_elsewhere"


async def test_a_pairing_code_asked_in_one_process_is_got_by_the_session_s_worker(
    world: tuple[InboundWorld, StandInWhatsApp],
) -> None:
    w, whatsapp = world
    _, session, _client = await link(w, whatsapp)
    assert await transport(w).pairing_code(session, f"+{OWN}") is None  # asked; the session's look gets it
    running = transport(w).live.get(session)
    assert running is not None
    await running.look()
    assert await transport(w).pairing_code(session, f"+{OWN}") == f"WAPI-{OWN[-4:]}1"
    stored = await row(w, EmbeddedSession, session)
    assert "WAPI" not in stored["pairing_code_encrypted"]


async def test_the_numbers_page_shows_the_code_the_session_s_worker_got_and_a_stale_one_is_asked_again(
    world: tuple[InboundWorld, StandInWhatsApp],
) -> None:
    w, whatsapp = world
    account_id, session, client = await link(w, whatsapp)
    form = {"phone": f"+{OWN}"}
    path = f"/numbers/{account_id}/pairing-code"
    waiting = await w.client.post(path, data=form, headers=headers(w))
    assert waiting.status_code == 200, waiting.text
    assert 'id="pairing-code-wait"' in waiting.text and 'hx-trigger="every 2s"' in waiting.text
    assert f'name="phone" value="+{OWN}"' in waiting.text  # the page asks again for the same number
    assert 'id="pairing-code"' not in waiting.text
    assert (await w.client.post(path, data=form, headers=headers(w))).status_code == 200
    running = transport(w).live.get(session)
    assert running is not None
    await running.look()
    await running.look()
    assert client.codes_asked == [OWN]  # asked of WhatsApp once, though the page asked twice

    shown = await w.client.post(path, data=form, headers=headers(w))
    assert f'id="pairing-code" class="pairing-code">WAPI-{OWN[-4:]}1<' in shown.text
    w.clock.advance(10)
    again = await w.client.post(path, data=form, headers=headers(w))  # sent twice: the same code
    assert f">WAPI-{OWN[-4:]}1<" in again.text

    w.clock.advance(60)  # an older code may have expired: "Ask for a new code" gets a new one
    renewed = await w.client.post(path, data=form, headers=headers(w))
    assert 'id="pairing-code-wait"' in renewed.text
    await running.look()
    assert client.codes_asked == [OWN, OWN]
    shown = await w.client.post(path, data=form, headers=headers(w))
    assert f">WAPI-{OWN[-4:]}2<" in shown.text

    await client.pair(OWN)
    await w.settle(until=w.clock.now())
    status = await w.client.get(
        f"/numbers/{account_id}/pairing", params={"part": "status"}, headers=headers(w)
    )
    assert status.headers["hx-retarget"] == "#pairing"
    assert f"Linked +{OWN}" in status.text
