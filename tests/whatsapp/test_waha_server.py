"""Which WAHA servers WaPipe links numbers through: version, engine and tier, read from the server and
refused by name with what to change; and the sandbox reproducing what differs between them."""

from __future__ import annotations

import logging

import httpx
import pytest

from server.domain.errors import ConfigurationError, Permanent
from server.whatsapp.gateway_check import check_gateways
from server.whatsapp.waha import WahaTransport
from server.whatsapp.waha_server import WahaServer, server_problem
from tests.whatsapp.waha_sandbox_world import ACCOUNT, World


@pytest.mark.parametrize(
    ("version", "engine", "tier", "reason"),
    [
        ("2026.7.1", "GOWS", "CORE", None),
        ("2026.6.1", "NOWEB", "CORE", None),
        ("2026.12.3", "gows", "PLUS", None),
        ("2025.11.1", "GOWS", "PLUS", None),  # Plus ran several sessions and signed before Core did
        ("v2026.7.1", "GOWS", "CORE", None),
        ("2026.7.1-beta", "GOWS", "CORE", None),
        ("2026.5.9", "GOWS", "CORE", "waha_too_old"),  # Core ran only 'default' before 2026.6.1
        ("2024.10.8", "WEBJS", "CORE", "waha_too_old"),
        ("2025.10.4", "GOWS", "PLUS", "waha_too_old"),  # no group participants v2
        ("2026.7.1", "WEBJS", "CORE", "waha_engine_unsupported"),  # WAHA's own default engine
        ("2026.7.1", "WPP", "PLUS", "waha_engine_unsupported"),
        ("2026.7.1", "", "CORE", "waha_engine_unsupported"),
        ("latest", "GOWS", "CORE", "waha_version_unreadable"),
        ("", "GOWS", "CORE", "waha_version_unreadable"),
    ],
)
def test_servers_are_accepted_or_refused_by_name(
    version: str, engine: str, tier: str, reason: str | None
) -> None:
    problem = server_problem(WahaServer(version, engine.upper(), tier))
    assert (problem.reason if problem else None) == reason


def test_each_refusal_says_what_to_change() -> None:
    engine = server_problem(WahaServer("2026.7.1", "WEBJS", "CORE"))
    assert engine is not None and "WHATSAPP_DEFAULT_ENGINE=GOWS" in engine.message
    old = server_problem(WahaServer("2026.5.9", "GOWS", "CORE"))
    assert old is not None and "2026.6.1" in old.message and "'default'" in old.message


async def test_the_server_is_read_from_waha(world: World) -> None:
    server = await world.waha.check_server()
    assert server == WahaServer("2026.7.1", "GOWS", "CORE")
    assert any(r.path == "/api/server/version" for r in world.received)


async def test_a_webjs_waha_is_refused_before_any_session_is_created(world: World) -> None:
    world.sim.server.switch({"engine": "WEBJS"})
    with pytest.raises(ConfigurationError) as refused:
        await world.waha.connect(ACCOUNT)
    assert refused.value.reason == "waha_engine_unsupported"
    assert world.sim.sessions == {}
    with pytest.raises(ConfigurationError):
        await world.waha.check_ready()


async def test_an_old_core_waha_is_refused_before_any_session_is_created(world: World) -> None:
    world.sim.server.switch({"version": "2026.5.2", "tier": "CORE"})
    with pytest.raises(ConfigurationError) as refused:
        await world.waha.connect(ACCOUNT)
    assert refused.value.reason == "waha_too_old"
    assert world.sim.sessions == {}


async def test_an_old_core_wahas_refusal_of_the_name_is_reported_not_read_as_a_race(world: World) -> None:
    """Should a session create be refused (here: the check skipped), the refusal is what the caller sees,
    not a NotFound from looking the session up again."""
    world.sim.server.switch({"version": "2026.5.2", "tier": "CORE"})

    async def no_check() -> WahaServer:
        return WahaServer("2026.5.2", "GOWS", "CORE")

    world.waha.check_server = no_check  # type: ignore[method-assign]
    with pytest.raises(Permanent) as refused:
        await world.waha.connect(ACCOUNT)
    assert refused.value.reason == "gateway_rejected"
    assert "only 'default' session" in refused.value.message


async def test_on_noweb_the_session_keeps_its_store_so_catch_up_reads_every_chat(world: World) -> None:
    world.sim.server.switch({"engine": "NOWEB"})
    await world.link()
    assert world.sim.session(ACCOUNT).config["noweb"]["store"]["enabled"] is True
    world.sim.receive(ACCOUNT, "4915112345678", "Hallo")
    batch = await world.waha.history(ACCOUNT, None, since=None)
    assert "Hallo" in [m.text for m in batch.messages]  # with the phone's earlier history
    assert await world.waha.list_chats(ACCOUNT)


async def test_the_sandbox_refuses_what_each_engine_refuses(world: World) -> None:
    """What WaPipe avoids, reproduced over HTTP: NOWEB without its store, `chatId=all` on WEBJS, and the
    one session name of an old Core."""
    http = world.waha.http
    (await http.post("/_sim/server", json={"engine": "NOWEB"})).raise_for_status()
    created = await http.post("/api/sessions", json={"name": "plain", "config": {}})
    assert created.status_code == 201
    await world.sim.settle()
    world.sim.scan("plain", "491701112223", "Ole")
    for path in ("/api/plain/chats", "/api/plain/chats/all/messages"):
        answer = await http.get(path)
        assert answer.status_code == 400
        assert "config.noweb.store.enabled=True" in answer.json()["message"]

    (await http.post("/_sim/server", json={"engine": "WEBJS"})).raise_for_status()
    every_chat = await http.get("/api/plain/chats/all/messages")
    assert every_chat.status_code == 400
    assert (await http.get("/api/plain/chats/4915112345678%40c.us/messages")).status_code == 200

    (await http.post("/_sim/server", json={"engine": "GOWS", "version": "2026.5.2"})).raise_for_status()
    assert (await http.get("/api/server/version")).json()["version"] == "2026.5.2"
    another = await http.post("/api/sessions", json={"name": "another"})
    assert another.status_code == 422
    assert another.json()["message"] == "WAHA Core support only 'default' session"
    assert (await http.post("/api/sessions", json={"name": "default"})).status_code == 201


async def test_the_server_switch_refuses_what_no_waha_reports(world: World) -> None:
    http = world.waha.http
    for body in ({"engine": "CHROME"}, {"version": "latest"}, {"tier": "GOLD"}):
        assert (await http.post("/_sim/server", json=body)).status_code == 400


async def test_at_start_a_refused_gateway_is_logged_by_name_and_an_unreachable_one_is_a_warning(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.sim.server.switch({"engine": "WEBJS"})
    with caplog.at_level(logging.WARNING, logger="server.whatsapp.gateway_check"):
        [refusal] = await check_gateways({"waha": world.waha})
    assert refusal.reason == "waha_engine_unsupported"
    [record] = caplog.records
    assert record.levelno == logging.ERROR and record.__dict__["reason"] == "waha_engine_unsupported"
    assert "WHATSAPP_DEFAULT_ENGINE=GOWS" in record.getMessage()

    caplog.clear()
    gone = httpx.AsyncClient(base_url="http://127.0.0.1:9", headers={"X-Api-Key": "k"})
    unreachable = WahaTransport(gone, webhook_url="https://wapipe.test/webhooks/waha", hmac_key="k" * 32)
    with caplog.at_level(logging.WARNING, logger="server.whatsapp.gateway_check"):
        assert await check_gateways({"waha": unreachable}) == []
    await gone.aclose()
    assert [r.levelno for r in caplog.records] == [logging.WARNING]

    world.sim.server.switch({"engine": "GOWS"})
    assert await check_gateways({"waha": world.waha}) == []
