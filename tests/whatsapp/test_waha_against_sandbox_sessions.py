"""The WAHA adapter against the WAHA sandbox: session lifecycle, pairing, and session faults."""

from __future__ import annotations

import pytest

from sandbox.waha import sessions as sandbox_sessions
from server.domain.errors import Permanent, SessionDisconnected
from server.domain.whatsapp import SessionStatus
from tests.whatsapp.waha_sandbox_world import ACCOUNT, HMAC_KEY, HOOK_URL, OWNER, World, sessions


async def test_connect_creates_the_signed_session_once(world: World) -> None:
    assert await world.waha.status(ACCOUNT) is SessionStatus.STOPPED  # no such session yet
    assert await world.waha.connect(ACCOUNT) is SessionStatus.STARTING
    assert await world.waha.connect(ACCOUNT) is SessionStatus.NEEDS_PAIRING  # idempotent
    session = world.sim.session(ACCOUNT)
    [hook] = session.webhooks
    assert (hook.url, hook.hmac_key, hook.events) == (HOOK_URL, HMAC_KEY, list(world.waha.webhook_events))
    assert (hook.retries.policy, hook.retries.attempts) == ("exponential", world.waha.webhook_attempts)
    assert session.config["metadata"] == {"wapipe.account": ACCOUNT}
    changes = sessions(await world.events())
    assert [c.status for c in changes] == [SessionStatus.STARTING, SessionStatus.NEEDS_PAIRING]
    assert changes[-1].detail == "SCAN_QR_CODE" and changes[-1].me is None


async def test_status_follows_the_state_machine_to_working(world: World) -> None:
    await world.waha.connect(ACCOUNT)
    assert await world.waha.status(ACCOUNT) is SessionStatus.NEEDS_PAIRING
    qr = await world.waha.pairing_qr(ACCOUNT)
    assert qr is not None and qr == world.sim.session(ACCOUNT).qr_value and qr.startswith("2@")
    await world.events()

    world.sim.scan(ACCOUNT, OWNER, "Mia", qr=qr)
    [working] = sessions(await world.events())
    assert working.status is SessionStatus.CONNECTED and working.detail == "WORKING"
    assert working.me is not None and working.me.chat_key == f"{OWNER}@s.whatsapp.net"
    assert working.at == world.now()
    assert await world.waha.status(ACCOUNT) is SessionStatus.CONNECTED
    assert await world.waha.connect(ACCOUNT) is SessionStatus.CONNECTED  # a working session is left alone


async def test_the_qr_rotates_and_each_rotation_is_announced(world: World) -> None:
    await world.waha.connect(ACCOUNT)
    first = await world.waha.pairing_qr(ACCOUNT)
    await world.events()
    await world.sim.elapse(world.sim.qr_rotation_seconds)
    second = await world.waha.pairing_qr(ACCOUNT)
    assert second is not None and second != first
    assert [c.status for c in sessions(await world.events())] == [SessionStatus.NEEDS_PAIRING]


async def test_pairing_code_links_the_number(world: World) -> None:
    await world.waha.connect(ACCOUNT)
    await world.sim.settle()
    code = await world.waha.pairing_code(ACCOUNT, f"+{OWNER}")
    assert code is not None and len(code.replace("-", "")) == 8
    assert world.sim.session(ACCOUNT).pairing == (OWNER, code)
    await world.events()
    sandbox_sessions.enter_code(world.sim, world.sim.session(ACCOUNT), code, "Mia")  # typed on the phone
    assert [c.status for c in sessions(await world.events())] == [SessionStatus.CONNECTED]


async def test_pairing_is_refused_once_linked(linked: World) -> None:
    with pytest.raises((SessionDisconnected, Permanent)):
        await linked.waha.pairing_qr(ACCOUNT)
    with pytest.raises(Permanent):
        await linked.waha.pairing_code(ACCOUNT, f"+{OWNER}")


async def test_me(world: World) -> None:
    await world.waha.connect(ACCOUNT)
    assert await world.waha.me(ACCOUNT) is None  # not linked yet
    world.sim.scan(ACCOUNT, OWNER, "Mia")
    me = await world.waha.me(ACCOUNT)
    assert me is not None
    assert (me.chat_key, me.e164, me.display_name) == (f"{OWNER}@s.whatsapp.net", f"+{OWNER}", "Mia")
    assert me.lid == f"{world.sim.session(ACCOUNT).own_lid}@lid"  # GOWS reports its own LID too


async def test_disconnect_stops_and_connect_restarts(linked: World) -> None:
    await linked.waha.disconnect(ACCOUNT)
    assert [c.status for c in sessions(await linked.events())] == [SessionStatus.STOPPED]
    assert await linked.waha.status(ACCOUNT) is SessionStatus.STOPPED
    assert await linked.waha.connect(ACCOUNT) is SessionStatus.STARTING
    assert [c.status for c in sessions(await linked.events())] == [
        SessionStatus.STARTING,
        SessionStatus.CONNECTED,  # still linked: no new QR needed
    ]


async def test_logout_unlinks_and_asks_for_a_new_scan(linked: World) -> None:
    await linked.waha.disconnect(ACCOUNT, logout=True)
    assert [c.status for c in sessions(await linked.events())] == [
        SessionStatus.STOPPED,
        SessionStatus.STARTING,
        SessionStatus.NEEDS_PAIRING,
    ]
    assert await linked.waha.me(ACCOUNT) is None
    assert await linked.waha.pairing_qr(ACCOUNT) is not None


async def test_device_removed_on_the_phone_fails_the_session(linked: World) -> None:
    linked.sim.phone_logout(ACCOUNT)
    [failed] = sessions(await linked.events())
    assert (failed.status, failed.detail, failed.me) == (SessionStatus.FAILED, "FAILED", None)
    assert await linked.waha.status(ACCOUNT) is SessionStatus.FAILED
    with pytest.raises(SessionDisconnected):
        await linked.waha.list_chats(ACCOUNT)
    # connect() restarts a FAILED session, which then waits for a new scan
    assert await linked.waha.connect(ACCOUNT) is SessionStatus.STARTING
    assert [c.status for c in sessions(await linked.events())][-1] is SessionStatus.NEEDS_PAIRING


async def test_connection_failure(linked: World) -> None:
    linked.sim.fail(ACCOUNT, "stream error")
    [failed] = sessions(await linked.events())
    assert failed.status is SessionStatus.FAILED
    assert await linked.waha.connect(ACCOUNT) is SessionStatus.STARTING
    assert [c.status for c in sessions(await linked.events())] == [
        SessionStatus.STARTING,
        SessionStatus.CONNECTED,  # the device is still linked
    ]


async def test_update_config_rewrites_the_webhook_and_restarts(linked: World) -> None:
    linked.waha.webhook_events = ("message.any", "session.status")
    await linked.waha.update_config(ACCOUNT)
    [hook] = linked.sim.session(ACCOUNT).webhooks
    assert hook.events == ["message.any", "session.status"]
    assert [c.status for c in sessions(await linked.events())] == [
        SessionStatus.STOPPED,
        SessionStatus.STARTING,
        SessionStatus.CONNECTED,
    ]


async def test_silent_but_working(linked: World) -> None:
    linked.sim.faults(ACCOUNT).silent = True
    gap_started = linked.now()
    linked.sim.receive(ACCOUNT, "4917612345678", "anyone there?")
    await linked.sim.elapse(10)
    assert await linked.events() == []  # no webhook at all
    assert await linked.waha.status(ACCOUNT) is SessionStatus.CONNECTED  # yet WAHA says WORKING
    batch = await linked.waha.history(ACCOUNT, None, since=gap_started)
    assert [m.text for m in batch.messages] == ["anyone there?"]  # the watchdog's catch-up finds it
